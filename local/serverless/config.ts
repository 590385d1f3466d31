import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, type Tags } from 'yaml';
import * as z from 'zod';

export const SERVERLESS_YML = fileURLToPath(new URL('../../serverless.yml', import.meta.url));

/** CloudFormation short-form tags become their long form, as CloudFormation reads them. */
const CFN_FUNCTIONS = [
  'Ref',
  'Condition',
  'GetAtt',
  'Sub',
  'Join',
  'Select',
  'Split',
  'If',
  'Equals',
  'Not',
  'And',
  'Or',
  'FindInMap',
  'ImportValue',
  'Base64',
  'Cidr',
  'GetAZs',
] as const;

const longForm = (name: string, value: unknown): Record<string, unknown> => {
  if (name === 'Ref' || name === 'Condition') return { [name]: value };
  if (name === 'GetAtt' && typeof value === 'string') return { 'Fn::GetAtt': value.split('.') };
  return { [`Fn::${name}`]: value };
};

const cloudFormationTags: Tags = CFN_FUNCTIONS.flatMap((name) =>
  (['scalar', 'seq', 'map'] as const).map((collection) => ({
    tag: `!${name}`,
    ...(collection === 'scalar' ? {} : { collection }),
    resolve: (value: unknown) => {
      const plain =
        value !== null && typeof value === 'object' && 'toJSON' in value && typeof value.toJSON === 'function'
          ? value.toJSON()
          : value;
      return longForm(name, plain);
    },
  })),
) as Tags;

export interface ResolveOptions {
  stage?: string;
  region?: string;
  env?: NodeJS.ProcessEnv;
  /** Folder `file(...)` paths are relative to: serverless.yml's own. */
  baseDir?: string;
}

const VARIABLE = /\$\{([^{}]+)\}/;

/**
 * Resolves the subset of Serverless variables this project uses (`self:`, `sls:stage`, `opt:`, `env:`,
 * `aws:region`, with `, 'fallback'`). Anything else is left for the framework and reported, so a new
 * kind of variable cannot silently resolve to the wrong value locally.
 */
export const resolveVariables = (
  document: Record<string, unknown>,
  options: ResolveOptions = {},
): unknown => {
  const env = options.env ?? process.env;
  const stage = options.stage ?? 'dev';
  const lookupSelf = (path: string): unknown =>
    path
      .split('.')
      .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], document);

  const resolveOne = (expression: string, depth: number): unknown => {
    const [source = '', ...fallbackParts] = expression.split(',');
    const fallbackText = fallbackParts.join(',').trim();
    const fallback = fallbackText === '' ? undefined : fallbackText.replace(/^['"]|['"]$/g, '');
    const fileMatch = source.trim().match(/^file\((.+)\)$/);
    if (fileMatch?.[1] !== undefined) {
      const path = resolvePath(options.baseDir ?? dirname(SERVERLESS_YML), fileMatch[1].trim());
      const text = readFileSync(path, 'utf8');
      return resolve(
        path.endsWith('.json') ? JSON.parse(text) : parse(text, { customTags: cloudFormationTags }),
        depth + 1,
      );
    }
    const [kind, ...rest] = source.trim().split(':');
    const key = rest.join(':');
    let value: unknown;
    if (kind === 'self') value = resolve(lookupSelf(key), depth + 1);
    else if (kind === 'sls' && key === 'stage') value = stage;
    else if (kind === 'opt' && key === 'stage') value = options.stage;
    else if (kind === 'opt' && key === 'region') value = options.region;
    else if (kind === 'aws' && key === 'region') value = options.region ?? 'eu-central-1';
    else if (kind === 'env') value = env[key];
    else throw new Error(`serverless.yml: unsupported variable \${${expression}}`);
    return value ?? fallback;
  };

  const resolve = (node: unknown, depth = 0): unknown => {
    if (depth > 20) throw new Error('serverless.yml: variables nest too deeply');
    if (typeof node === 'string') {
      const whole = node.match(/^\$\{([^{}]+)\}$/);
      if (whole?.[1] !== undefined) return resolveOne(whole[1], depth);
      let text = node;
      for (let match = text.match(VARIABLE); match?.[1] !== undefined; match = text.match(VARIABLE)) {
        text = text.replace(match[0], String(resolveOne(match[1], depth) ?? ''));
      }
      return text;
    }
    if (Array.isArray(node)) return node.map((item) => resolve(item, depth));
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, resolve(value, depth)]));
    }
    return node;
  };
  return resolve(document);
};

const TableResourceSchema = z.object({
  Type: z.literal('AWS::DynamoDB::Table'),
  Properties: z
    .object({
      TableName: z.string().min(3),
      AttributeDefinitions: z.array(
        z.object({ AttributeName: z.string(), AttributeType: z.enum(['S', 'N', 'B']) }),
      ),
      KeySchema: z.array(z.object({ AttributeName: z.string(), KeyType: z.enum(['HASH', 'RANGE']) })),
      BillingMode: z.enum(['PAY_PER_REQUEST', 'PROVISIONED']).optional(),
      GlobalSecondaryIndexes: z
        .array(
          z.object({
            IndexName: z.string(),
            KeySchema: z.array(z.object({ AttributeName: z.string(), KeyType: z.enum(['HASH', 'RANGE']) })),
            Projection: z.object({
              ProjectionType: z.enum(['ALL', 'KEYS_ONLY', 'INCLUDE']),
              NonKeyAttributes: z.array(z.string()).optional(),
            }),
          }),
        )
        .optional(),
      StreamSpecification: z
        .object({ StreamViewType: z.enum(['KEYS_ONLY', 'NEW_IMAGE', 'OLD_IMAGE', 'NEW_AND_OLD_IMAGES']) })
        .optional(),
      TimeToLiveSpecification: z.object({ AttributeName: z.string(), Enabled: z.boolean() }).optional(),
    })
    .loose(),
});
export type TableResource = z.infer<typeof TableResourceSchema>;

export const ServerlessConfigSchema = z
  .object({
    service: z.string(),
    provider: z
      .object({
        name: z.literal('aws'),
        runtime: z.string(),
        environment: z.record(z.string(), z.unknown()).optional(),
      })
      .loose(),
    custom: z.record(z.string(), z.unknown()).optional(),
    functions: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
    stepFunctions: z.record(z.string(), z.unknown()).optional(),
    resources: z.object({ Resources: z.record(z.string(), z.object({ Type: z.string() }).loose()) }).loose(),
  })
  .loose();
export type ServerlessConfig = z.infer<typeof ServerlessConfigSchema>;

export const loadServerlessConfig = async (
  options: ResolveOptions & { path?: string } = {},
): Promise<ServerlessConfig> => {
  const path = options.path ?? SERVERLESS_YML;
  const text = await readFile(path, 'utf8');
  const document = parse(text, { customTags: cloudFormationTags }) as Record<string, unknown>;
  return ServerlessConfigSchema.parse(resolveVariables(document, { baseDir: dirname(path), ...options }));
};

/** Every DynamoDB table the stack defines, keyed by logical id. */
export const tablesOf = (config: ServerlessConfig): Map<string, TableResource['Properties']> => {
  const tables = new Map<string, TableResource['Properties']>();
  for (const [logicalId, resource] of Object.entries(config.resources.Resources)) {
    if (resource.Type !== 'AWS::DynamoDB::Table') continue;
    tables.set(logicalId, TableResourceSchema.parse(resource).Properties);
  }
  return tables;
};

const TaskDefinitionResourceSchema = z.object({
  Properties: z
    .object({
      ContainerDefinitions: z.array(
        z
          .object({
            StopTimeout: z.number().optional(),
            Environment: z.array(z.object({ Name: z.string(), Value: z.unknown() })).optional(),
          })
          .loose(),
      ),
    })
    .loose(),
});
export type TaskContainer = z.infer<
  typeof TaskDefinitionResourceSchema
>['Properties']['ContainerDefinitions'][number];

/** Every container of every ECS task definition the stack defines. */
export const taskContainersOf = (resources: ServerlessConfig['resources']['Resources']): TaskContainer[] =>
  Object.values(resources)
    .filter((resource) => resource.Type === 'AWS::ECS::TaskDefinition')
    .flatMap((resource) => TaskDefinitionResourceSchema.parse(resource).Properties.ContainerDefinitions);
