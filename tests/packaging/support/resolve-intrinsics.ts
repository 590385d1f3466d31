import type { Template, TemplateResource } from './packaged-template.js';

/** Where the template is imagined deployed: intrinsics resolve to this account's concrete ARNs. */
export interface Deployment {
  accountId: string;
  region: string;
  /** Values of the template's Parameters (a parameter left out takes its Default). */
  parameters: Record<string, string>;
}

type Arns = { ref: string; arn?: string };

const nameOf = (id: string, resource: TemplateResource, property: string): string => {
  const value = resource.Properties[property];
  if (typeof value !== 'string') throw new Error(`${id}: no literal ${property} to build its ARN from`);
  return value;
};

/** What `Ref` and `Fn::GetAtt X.Arn` give for each resource type the policies point at. */
function arnsOf(id: string, resource: TemplateResource, { accountId, region }: Deployment): Arns {
  const at = `${region}:${accountId}`;
  switch (resource.Type) {
    case 'AWS::DynamoDB::Table': {
      const name = nameOf(id, resource, 'TableName');
      return { ref: name, arn: `arn:aws:dynamodb:${at}:table/${name}` };
    }
    case 'AWS::Lambda::Function': {
      const name = nameOf(id, resource, 'FunctionName');
      return { ref: name, arn: `arn:aws:lambda:${at}:function:${name}` };
    }
    case 'AWS::SQS::Queue': {
      const name = nameOf(id, resource, 'QueueName');
      return {
        ref: `https://sqs.${region}.amazonaws.com/${accountId}/${name}`,
        arn: `arn:aws:sqs:${at}:${name}`,
      };
    }
    case 'AWS::SNS::Topic': {
      const name = nameOf(id, resource, 'TopicName');
      return { ref: `arn:aws:sns:${at}:${name}`, arn: `arn:aws:sns:${at}:${name}` };
    }
    case 'AWS::Logs::LogGroup': {
      const name = nameOf(id, resource, 'LogGroupName');
      return { ref: name, arn: `arn:aws:logs:${at}:log-group:${name}:*` };
    }
    case 'AWS::IAM::Role':
      return { ref: id, arn: `arn:aws:iam::${accountId}:role/${id}` };
    case 'AWS::ECS::Cluster': {
      const name = nameOf(id, resource, 'ClusterName');
      return { ref: name, arn: `arn:aws:ecs:${at}:cluster/${name}` };
    }
    case 'AWS::StepFunctions::StateMachine': {
      const name = nameOf(id, resource, 'StateMachineName');
      return {
        ref: `arn:aws:states:${at}:stateMachine:${name}`,
        arn: `arn:aws:states:${at}:stateMachine:${name}`,
      };
    }
    case 'AWS::EFS::FileSystem':
      return {
        ref: 'fs-0123456789abcdef0',
        arn: `arn:aws:elasticfilesystem:${at}:file-system/fs-0123456789abcdef0`,
      };
    case 'AWS::EFS::AccessPoint':
      return {
        ref: 'fsap-0123456789abcdef0',
        arn: `arn:aws:elasticfilesystem:${at}:access-point/fsap-0123456789abcdef0`,
      };
    default:
      return { ref: id };
  }
}

/**
 * Resolves Ref, Fn::GetAtt (Arn), Fn::Join and Fn::Sub in a template fragment to concrete strings for one
 * deployment, as CloudFormation would. An intrinsic it cannot resolve throws: a policy is never simulated
 * with a placeholder standing in for a resource.
 */
export function resolveIntrinsics<T>(value: T, template: Template, deployment: Deployment): T {
  const pseudo: Record<string, string> = {
    'AWS::Region': deployment.region,
    'AWS::AccountId': deployment.accountId,
    'AWS::Partition': 'aws',
    'AWS::URLSuffix': 'amazonaws.com',
  };
  const ref = (name: string): string => {
    const fixed = pseudo[name] ?? deployment.parameters[name];
    if (fixed !== undefined) return fixed;
    const parameter = template.Parameters?.[name];
    if (parameter !== undefined) {
      if (typeof parameter.Default !== 'string') throw new Error(`parameter ${name} has no value`);
      return parameter.Default;
    }
    const resource = template.Resources[name];
    if (resource === undefined) throw new Error(`Ref to unknown ${name}`);
    return arnsOf(name, resource, deployment).ref;
  };
  const getAtt = (id: string, attribute: string): string => {
    const resource = template.Resources[id];
    if (resource === undefined) throw new Error(`Fn::GetAtt of unknown ${id}`);
    const arn = attribute === 'Arn' ? arnsOf(id, resource, deployment).arn : undefined;
    if (arn === undefined)
      throw new Error(`Fn::GetAtt ${id}.${attribute} (${resource.Type}) is not resolved`);
    return arn;
  };
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (node === null || typeof node !== 'object') return node;
    const entries = Object.entries(node);
    const [first] = entries;
    if (entries.length === 1 && first !== undefined) {
      const [key, argument] = first;
      if (key === 'Ref') return ref(argument as string);
      if (key === 'Fn::GetAtt') {
        const [id, attribute] = Array.isArray(argument) ? argument : String(argument).split('.');
        return getAtt(id as string, attribute as string);
      }
      if (key === 'Fn::Join') {
        const [separator, parts] = argument as [string, unknown[]];
        return (walk(parts) as unknown[]).map(String).join(separator);
      }
      if (key === 'Fn::Sub') {
        const [text, variables] = Array.isArray(argument)
          ? (argument as [string, Record<string, unknown>])
          : [argument as string, {}];
        const local = walk(variables) as Record<string, string>;
        return text.replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
          if (local[name] !== undefined) return local[name];
          const [id, attribute] = name.split('.');
          return attribute === undefined ? ref(name) : getAtt(id as string, attribute);
        });
      }
      if (key.startsWith('Fn::')) throw new Error(`intrinsic ${key} is not resolved`);
    }
    return Object.fromEntries(entries.map(([key, child]) => [key, walk(child)]));
  };
  return walk(value) as T;
}
