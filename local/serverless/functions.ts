import { resolve as resolvePath } from 'node:path';
import * as z from 'zod';
import type { EventPattern } from '../cloud/event-pattern';
import { SERVERLESS_YML, type ServerlessConfig, tablesOf } from './config';

const PatternSchema = z.record(z.string(), z.unknown()).transform((value) => value as EventPattern);

const HttpApiEventSchema = z.object({
  httpApi: z.union([
    z.string().transform((route) => {
      const [method = 'ANY', path = '/'] = route.split(' ');
      return { method, path };
    }),
    z
      .object({
        method: z.string(),
        path: z.string(),
        authorizer: z.object({ name: z.string(), scopes: z.array(z.string()).optional() }).optional(),
      })
      .loose(),
  ]),
});

const ScheduleEventSchema = z.object({
  schedule: z.union([
    z.string().transform((rate) => ({ rate, enabled: true })),
    z
      .object({ rate: z.union([z.string(), z.array(z.string())]), enabled: z.boolean().default(true) })
      .loose(),
  ]),
});

const StreamEventSchema = z.object({
  stream: z
    .object({
      type: z.literal('dynamodb'),
      arn: z.unknown(),
      batchSize: z.number().int().min(1).max(10_000).default(100),
      maximumBatchingWindow: z.number().min(0).max(300).default(0),
      startingPosition: z.enum(['LATEST', 'TRIM_HORIZON']).default('TRIM_HORIZON'),
      filterPatterns: z.array(PatternSchema).default([]),
      functionResponseType: z.literal('ReportBatchItemFailures').optional(),
      bisectBatchOnFunctionError: z.boolean().default(false),
      maximumRetryAttempts: z.number().int().min(-1).max(10_000).default(-1),
      destinations: z.object({ onFailure: z.unknown() }).loose().optional(),
      enabled: z.boolean().default(true),
    })
    .loose(),
});

/** An SQS event source: the queue by `!GetAtt <Queue>.Arn`, as the local cloud maps it to its own queue. */
const SqsEventSchema = z.object({
  sqs: z
    .object({
      arn: z.object({ 'Fn::GetAtt': z.tuple([z.string(), z.literal('Arn')]) }),
      batchSize: z.number().int().min(1).max(10_000).default(10),
      maximumConcurrency: z.number().int().min(2).max(1000).optional(),
      enabled: z.boolean().default(true),
    })
    .loose(),
});

const EventBridgeEventSchema = z.object({
  eventBridge: z.object({ pattern: PatternSchema, enabled: z.boolean().default(true) }).loose(),
});

const FunctionSchema = z
  .object({
    handler: z.string().regex(/^[\w./-]+\.\w+$/, 'must be path/to/module.exportName'),
    timeout: z.number().int().min(1).max(900).optional(),
    memorySize: z.number().int().min(128).optional(),
    environment: z.record(z.string(), z.unknown()).default({}),
    events: z.array(z.record(z.string(), z.unknown())).default([]),
  })
  .loose();

export type FunctionEvent =
  | { kind: 'httpApi'; method: string; path: string; scopes: string[]; authorized: boolean }
  | { kind: 'schedule'; everyMs: number; expression: string }
  | {
      kind: 'stream';
      table: string;
      batchSize: number;
      batchWindowMs: number;
      startingPosition: 'LATEST' | 'TRIM_HORIZON';
      filterPatterns: EventPattern[];
      reportBatchItemFailures: boolean;
      bisectOnError: boolean;
      maximumRetryAttempts: number;
    }
  | { kind: 'sqs'; queue: string; batchSize: number; maximumConcurrency: number | undefined }
  | { kind: 'eventBridge'; pattern: EventPattern };

export interface FunctionDefinition {
  name: string;
  /** Absolute path of the handler's TypeScript module. */
  module: string;
  exportName: string;
  timeoutS: number;
  memoryMb: number;
  environment: Record<string, unknown>;
  events: FunctionEvent[];
}

const RATE_UNITS: Record<string, number> = {
  minute: 60_000,
  minutes: 60_000,
  hour: 3_600_000,
  hours: 3_600_000,
  day: 86_400_000,
  days: 86_400_000,
};

/** EventBridge `rate(N unit)`; cron expressions are not needed by this stack and are refused loudly. */
export const rateToMs = (expression: string): number => {
  const match = expression.match(/^rate\((\d+) (minutes?|hours?|days?)\)$/);
  if (match?.[1] === undefined || match[2] === undefined) {
    throw new Error(`serverless.yml: unsupported schedule ${expression} (only rate(N unit) runs locally)`);
  }
  return Number(match[1]) * (RATE_UNITS[match[2]] as number);
};

const tableOfStreamArn = (arn: unknown, tableNames: Map<string, string>): string => {
  const getAtt = z.object({ 'Fn::GetAtt': z.tuple([z.string(), z.literal('StreamArn')]) }).safeParse(arn);
  const table = getAtt.success ? tableNames.get(getAtt.data['Fn::GetAtt'][0]) : undefined;
  if (table === undefined)
    throw new Error('serverless.yml: a stream event must use !GetAtt <Table>.StreamArn');
  return table;
};

/** Every function serverless.yml declares, with the events the local cloud wires for it. */
export const functionsOf = (config: ServerlessConfig): FunctionDefinition[] => {
  const root = resolvePath(SERVERLESS_YML, '..');
  const tableNames = new Map([...tablesOf(config)].map(([logicalId, table]) => [logicalId, table.TableName]));
  const providerTimeout = z.number().optional().parse(config.provider.timeout) ?? 6;
  const providerMemory = z.number().optional().parse(config.provider.memorySize) ?? 1024;
  return Object.entries(config.functions ?? {}).map(([name, raw]) => {
    const definition = FunctionSchema.parse(raw);
    const dot = definition.handler.lastIndexOf('.');
    const events: FunctionEvent[] = definition.events.flatMap((event): FunctionEvent[] => {
      if ('httpApi' in event) {
        const { httpApi } = HttpApiEventSchema.parse(event);
        const authorizer = 'authorizer' in httpApi ? httpApi.authorizer : undefined;
        return [
          {
            kind: 'httpApi',
            method: httpApi.method.toUpperCase(),
            path: httpApi.path,
            scopes: authorizer?.scopes ?? [],
            authorized: authorizer !== undefined,
          },
        ];
      }
      if ('schedule' in event) {
        const { schedule } = ScheduleEventSchema.parse(event);
        const rates = Array.isArray(schedule.rate) ? schedule.rate : [schedule.rate];
        return schedule.enabled
          ? rates.map((rate) => ({ kind: 'schedule', everyMs: rateToMs(rate), expression: rate }))
          : [];
      }
      if ('stream' in event) {
        const { stream } = StreamEventSchema.parse(event);
        if (!stream.enabled) return [];
        return [
          {
            kind: 'stream',
            table: tableOfStreamArn(stream.arn, tableNames),
            batchSize: stream.batchSize,
            batchWindowMs: stream.maximumBatchingWindow * 1000,
            startingPosition: stream.startingPosition,
            filterPatterns: stream.filterPatterns,
            reportBatchItemFailures: stream.functionResponseType === 'ReportBatchItemFailures',
            bisectOnError: stream.bisectBatchOnFunctionError,
            maximumRetryAttempts: stream.maximumRetryAttempts,
          },
        ];
      }
      if ('sqs' in event) {
        const { sqs } = SqsEventSchema.parse(event);
        if (!sqs.enabled) return [];
        return [
          {
            kind: 'sqs',
            queue: sqs.arn['Fn::GetAtt'][0],
            batchSize: sqs.batchSize,
            maximumConcurrency: sqs.maximumConcurrency,
          },
        ];
      }
      if ('eventBridge' in event) {
        const { eventBridge } = EventBridgeEventSchema.parse(event);
        return eventBridge.enabled ? [{ kind: 'eventBridge', pattern: eventBridge.pattern }] : [];
      }
      throw new Error(
        `serverless.yml: function ${name} has an event the local cloud cannot run: ${Object.keys(event).join(', ')}`,
      );
    });
    return {
      name,
      module: resolvePath(root, `${definition.handler.slice(0, dot)}.ts`),
      exportName: definition.handler.slice(dot + 1),
      timeoutS: definition.timeout ?? providerTimeout,
      memoryMb: definition.memorySize ?? providerMemory,
      environment: definition.environment,
      events,
    };
  });
};
