import { runSimulation } from '@cloud-copilot/iam-simulate';
import { beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_STAGE, packagedTemplate, type Template } from './support/packaged-template.js';
import { type Deployment, resolveIntrinsics } from './support/resolve-intrinsics.js';

const ACCOUNT = '123456789012';
const REGION = 'eu-central-1';
const STAGE = PACKAGE_STAGE;
const deployment: Deployment = {
  accountId: ACCOUNT,
  region: REGION,
  parameters: {
    VpcId: 'vpc-0123456789abcdef0',
    PrivateSubnetIds: 'subnet-0a,subnet-0b',
    LoadBalancerSecurityGroupId: 'sg-0123456789abcdef0',
    MlflowTrackingUri: 'https://mlflow.internal',
    ConfigBucketName: 'tradai-config',
    ArcticDbBucketName: 'tradai-arcticdb',
    ResultsBucketName: 'tradai-results',
    StrategyImage: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/tradai-strategy:1`,
  },
};

const at = `${REGION}:${ACCOUNT}`;
const table = (name: string) => `arn:aws:dynamodb:${at}:table/${name}`;
const SESSIONS = table(`tradai-workflow-state-${STAGE}`);
const METRICS = table(`tradai-session-metrics-${STAGE}`);
const AUDIT = table(`tradai-audit-${STAGE}`);
const secret = (name: string) => `arn:aws:secretsmanager:${at}:secret:${name}-AbCdEf`;
const RUN = 'run-2026-12-01-a1b2c3';
const LEASE = `lease#${'a'.repeat(32)}#BTC/USDT`;

/** The attribute sets of the agent's own writes (shared/adapters/dynamodb/session-store.ts). */
const SESSION_CONDITION = ['run_id', 'item_type', 'status', 'agent_id'];
const HEARTBEAT = [
  ...SESSION_CONDITION,
  'last_heartbeat',
  'heartbeat_seq',
  'metrics',
  'health',
  'risk',
  'open_trades',
  'updated_at',
];
const CLAIM = [...SESSION_CONDITION, 'strategy_version', 'exchange', 'pairs', 'account_id', 'updated_at'];
const FINAL = [
  ...SESSION_CONDITION,
  'previous_status',
  'status_changed_at',
  'updated_at',
  'stop_outcome',
  'status_reason',
  'completed_at',
  'result_s3_path',
];
const LEASE_RELEASE = ['run_id', 'item_type', 'holder_run_id', 'holder_strategy_id', 'released_at'];

type Decision = 'allowed' | 'denied';
interface Case {
  role: string;
  action: string;
  resource: string;
  /** What the request is, in words, for the table. */
  what: string;
  context?: Record<string, string | string[]>;
  expected: Decision;
}

const item = (keys: string[], attributes: string[], returnValues = 'ALL_NEW') => ({
  'dynamodb:LeadingKeys': keys,
  'dynamodb:Attributes': attributes,
  'dynamodb:ReturnValues': returnValues,
});

const CASES: Case[] = [
  // The strategy container: its stage's exchange keys, its session's agent attributes, its leases.
  {
    role: 'StrategyTaskRole',
    action: 'secretsmanager:GetSecretValue',
    resource: secret(`tradai/${STAGE}/exchange/default`),
    what: "own stage's exchange secret",
    expected: 'allowed',
  },
  {
    role: 'StrategyTaskRole',
    action: 'secretsmanager:GetSecretValue',
    resource: secret('tradai/prod/exchange/default'),
    what: "another stage's exchange secret",
    expected: 'denied',
  },
  {
    role: 'StrategyTaskRole',
    action: 'secretsmanager:GetSecretValue',
    resource: secret('tradai/exchange/prod'),
    what: 'a secret outside the stage folder',
    expected: 'denied',
  },
  {
    role: 'StrategyTaskRole',
    action: 'dynamodb:GetItem',
    resource: SESSIONS,
    what: 'read a session',
    context: item([RUN], ['run_id']),
    expected: 'allowed',
  },
  {
    role: 'StrategyTaskRole',
    action: 'dynamodb:UpdateItem',
    resource: SESSIONS,
    what: 'heartbeat',
    context: item([RUN], HEARTBEAT),
    expected: 'allowed',
  },
  {
    role: 'StrategyTaskRole',
    action: 'dynamodb:UpdateItem',
    resource: SESSIONS,
    what: 'claim',
    context: item([RUN], CLAIM),
    expected: 'allowed',
  },
  {
    role: 'StrategyTaskRole',
    action: 'dynamodb:UpdateItem',
    resource: SESSIONS,
    what: 'final status',
    context: item([RUN], FINAL),
    expected: 'allowed',
  },
  {
    role: 'StrategyTaskRole',
    action: 'dynamodb:UpdateItem',
    resource: SESSIONS,
    what: 'session desired_state',
    context: item([RUN], ['run_id', 'desired_state']),
    expected: 'denied',
  },
  {
    role: 'StrategyTaskRole',
    action: 'dynamodb:UpdateItem',
    resource: SESSIONS,
    what: 'session risk_limits',
    context: item([RUN], ['run_id', 'risk_limits']),
    expected: 'denied',
  },
  {
    role: 'StrategyTaskRole',
    action: 'dynamodb:UpdateItem',
    resource: SESSIONS,
    what: 'session trading_mode',
    context: item([RUN], ['run_id', 'trading_mode']),
    expected: 'denied',
  },
  {
    role: 'StrategyTaskRole',
    action: 'dynamodb:UpdateItem',
    resource: SESSIONS,
    what: 'lock item (active_run_id)',
    context: item(['strategy#demo'], ['run_id', 'active_run_id', 'released_at']),
    expected: 'denied',
  },
  {
    role: 'StrategyTaskRole',
    action: 'dynamodb:UpdateItem',
    resource: SESSIONS,
    what: 'lock item with heartbeat attributes',
    context: item(['strategy#demo'], HEARTBEAT),
    expected: 'denied',
  },
  {
    role: 'StrategyTaskRole',
    action: 'dynamodb:UpdateItem',
    resource: SESSIONS,
    what: 'dedup marker',
    context: item(['dedup#k'], ['run_id', 'ttl']),
    expected: 'denied',
  },
  {
    role: 'StrategyTaskRole',
    action: 'dynamodb:UpdateItem',
    resource: SESSIONS,
    what: 'release own lease',
    context: item([LEASE], LEASE_RELEASE, 'NONE'),
    expected: 'allowed',
  },
  {
    role: 'StrategyTaskRole',
    action: 'dynamodb:UpdateItem',
    resource: SESSIONS,
    what: 'lease with other attributes',
    context: item([LEASE], ['run_id', 'account_id'], 'NONE'),
    expected: 'denied',
  },
  {
    role: 'StrategyTaskRole',
    action: 'dynamodb:PutItem',
    resource: SESSIONS,
    what: 'take a lease',
    context: item([LEASE], []),
    expected: 'allowed',
  },
  {
    role: 'StrategyTaskRole',
    action: 'dynamodb:PutItem',
    resource: SESSIONS,
    what: 'put a session',
    context: item([RUN], []),
    expected: 'denied',
  },
  {
    role: 'StrategyTaskRole',
    action: 'dynamodb:PutItem',
    resource: SESSIONS,
    what: 'put a lock',
    context: item(['strategy#demo'], []),
    expected: 'denied',
  },
  {
    role: 'StrategyTaskRole',
    action: 'dynamodb:PutItem',
    resource: SESSIONS,
    what: 'put a dedup marker',
    context: item(['dedup#k'], []),
    expected: 'denied',
  },
  {
    role: 'StrategyTaskRole',
    action: 'dynamodb:DeleteItem',
    resource: SESSIONS,
    what: 'delete a lease',
    context: item([LEASE], []),
    expected: 'denied',
  },
  {
    role: 'StrategyTaskRole',
    action: 'dynamodb:Scan',
    resource: SESSIONS,
    what: 'scan sessions',
    expected: 'denied',
  },
  {
    role: 'StrategyTaskRole',
    action: 'dynamodb:BatchWriteItem',
    resource: METRICS,
    what: 'history',
    expected: 'allowed',
  },
  {
    role: 'StrategyTaskRole',
    action: 'dynamodb:PutItem',
    resource: AUDIT,
    what: 'audit record',
    expected: 'denied',
  },
  {
    role: 'StrategyTaskRole',
    action: 'dynamodb:UpdateItem',
    resource: table('tradai-workflow-state-prod'),
    what: "another stage's table",
    context: item([RUN], HEARTBEAT),
    expected: 'denied',
  },
  {
    role: 'StrategyTaskRole',
    action: 'dynamodb:PutItem',
    resource: table('tradai-idempotency-ci'),
    what: 'another table',
    context: item(['x'], []),
    expected: 'denied',
  },
  // The read API: reads, never a write.
  {
    role: 'ReadStrategiesRole',
    action: 'dynamodb:GetItem',
    resource: SESSIONS,
    what: 'read a session',
    expected: 'allowed',
  },
  {
    role: 'ReadStrategiesRole',
    action: 'dynamodb:Query',
    resource: `${SESSIONS}/index/status-created_at-index`,
    what: 'sessions by status',
    expected: 'allowed',
  },
  {
    role: 'ReadStrategiesRole',
    action: 'dynamodb:Query',
    resource: METRICS,
    what: 'history',
    expected: 'allowed',
  },
  {
    role: 'ReadStrategiesRole',
    action: 'dynamodb:PutItem',
    resource: SESSIONS,
    what: 'any write',
    expected: 'denied',
  },
  {
    role: 'ReadStrategiesRole',
    action: 'dynamodb:UpdateItem',
    resource: SESSIONS,
    what: 'any write',
    expected: 'denied',
  },
  {
    role: 'ReadStrategiesRole',
    action: 'dynamodb:DeleteItem',
    resource: SESSIONS,
    what: 'any write',
    expected: 'denied',
  },
  {
    role: 'ReadStrategiesRole',
    action: 'dynamodb:BatchWriteItem',
    resource: METRICS,
    what: 'any write',
    expected: 'denied',
  },
  {
    role: 'ReadStrategiesRole',
    action: 'dynamodb:PutItem',
    resource: AUDIT,
    what: 'any write',
    expected: 'denied',
  },
  {
    role: 'ReadStrategiesRole',
    action: 'dynamodb:Scan',
    resource: SESSIONS,
    what: 'scan',
    expected: 'denied',
  },
  // The start API: a session, its lock and audit record, one execution; never a container itself.
  {
    role: 'StartStrategyRole',
    action: 'states:StartExecution',
    resource: `arn:aws:states:${at}:stateMachine:tradai-launch-session-${STAGE}`,
    what: 'start the launch',
    expected: 'allowed',
  },
  {
    role: 'StartStrategyRole',
    action: 'dynamodb:PutItem',
    resource: AUDIT,
    what: 'audit record',
    expected: 'allowed',
  },
  {
    role: 'StartStrategyRole',
    action: 'ecs:RunTask',
    resource: `arn:aws:ecs:${at}:task-definition/tradai-strategy-${STAGE}:1`,
    what: 'run a container',
    expected: 'denied',
  },
  {
    role: 'StartStrategyRole',
    action: 'ecs:CreateService',
    resource: `arn:aws:ecs:${at}:service/tradai-${STAGE}/tradai-x`,
    what: 'create a service',
    expected: 'denied',
  },
  {
    role: 'StartStrategyRole',
    action: 'secretsmanager:GetSecretValue',
    resource: secret(`tradai/${STAGE}/exchange/default`),
    what: 'exchange secret',
    expected: 'denied',
  },
  // Control API: changes intent, creates nothing, starts nothing.
  {
    role: 'ControlStrategyRole',
    action: 'dynamodb:UpdateItem',
    resource: SESSIONS,
    what: 'change intent',
    expected: 'allowed',
  },
  {
    role: 'ControlStrategyRole',
    action: 'dynamodb:PutItem',
    resource: SESSIONS,
    what: 'create an item',
    expected: 'denied',
  },
  {
    role: 'ControlStrategyRole',
    action: 'states:StartExecution',
    resource: `arn:aws:states:${at}:stateMachine:tradai-launch-session-${STAGE}`,
    what: 'start a launch',
    expected: 'denied',
  },
  // Workflow functions.
  {
    role: 'LaunchStepRole',
    action: 'ecs:RunTask',
    resource: `arn:aws:ecs:${at}:task-definition/tradai-strategy-${STAGE}:7`,
    what: 'run a one-shot',
    context: { 'ecs:cluster': `arn:aws:ecs:${at}:cluster/tradai-${STAGE}` },
    expected: 'allowed',
  },
  {
    role: 'LaunchStepRole',
    action: 'ecs:RunTask',
    resource: `arn:aws:ecs:${at}:task-definition/tradai-strategy-prod:7`,
    what: "another stage's task definition",
    context: { 'ecs:cluster': `arn:aws:ecs:${at}:cluster/tradai-${STAGE}` },
    expected: 'denied',
  },
  {
    role: 'LaunchStepRole',
    action: 'secretsmanager:GetSecretValue',
    resource: secret(`tradai/${STAGE}/exchange/default`),
    what: 'exchange secret',
    expected: 'denied',
  },
  {
    role: 'LaunchStepRole',
    action: 'sns:Publish',
    resource: `arn:aws:sns:${at}:tradai-alerts-${STAGE}`,
    what: 'page',
    expected: 'denied',
  },
  {
    role: 'SessionEventsRole',
    action: 'sns:Publish',
    resource: `arn:aws:sns:${at}:tradai-alerts-${STAGE}`,
    what: 'page',
    expected: 'allowed',
  },
  {
    role: 'SessionEventsRole',
    action: 'ecs:RunTask',
    resource: `arn:aws:ecs:${at}:task-definition/tradai-strategy-${STAGE}:7`,
    what: 'run a container',
    expected: 'denied',
  },
  {
    role: 'SessionEventsRole',
    action: 'dynamodb:DeleteItem',
    resource: SESSIONS,
    what: 'delete an item',
    expected: 'denied',
  },
  {
    role: 'SweepRole',
    action: 'dynamodb:Query',
    resource: `${SESSIONS}/index/status-created_at-index`,
    what: 'sessions by status',
    expected: 'allowed',
  },
  {
    role: 'SweepRole',
    action: 'dynamodb:Scan',
    resource: SESSIONS,
    what: 'scan sessions',
    expected: 'denied',
  },
  {
    role: 'EcsEventsRole',
    action: 'ecs:StopTask',
    resource: `arn:aws:ecs:${at}:task/tradai-${STAGE}/abc`,
    what: 'stop a task',
    expected: 'denied',
  },
];

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}
interface RolePolicy {
  PolicyName: string;
  PolicyDocument: { Version: string; Statement: Statement[] };
}

async function decide(template: Template, testCase: Case): Promise<Decision | string> {
  const role = template.Resources[testCase.role];
  if (role?.Type !== 'AWS::IAM::Role') return `no role ${testCase.role}`;
  const policies = resolveIntrinsics(
    (role.Properties.Policies as RolePolicy[] | undefined) ?? [],
    template,
    deployment,
  );
  const result = await runSimulation(
    {
      identityPolicies: policies.map((policy) => ({
        name: policy.PolicyName,
        policy: policy.PolicyDocument,
      })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      request: {
        principal: `arn:aws:iam::${ACCOUNT}:role/${testCase.role}`,
        action: testCase.action,
        resource: { resource: testCase.resource, accountId: ACCOUNT },
        contextVariables: testCase.context ?? {},
      },
    },
    {},
  );
  if (result.resultType === 'error') return `simulation error: ${JSON.stringify(result.errors)}`;
  return result.overallResult === 'Allowed' ? 'allowed' : 'denied';
}

describe('Packaging: IAM policies, evaluated by a policy simulator', () => {
  let template: Template;

  beforeAll(async () => {
    template = await packagedTemplate();
  }, 180_000);

  it("grants each role what its code does and denies the rest (a strategy task read every stage's exchange keys and could write locks, dedup markers and any session attribute)", async () => {
    // act
    const rows = [];
    for (const testCase of CASES) {
      const decision = await decide(template, testCase);
      rows.push({
        role: testCase.role,
        action: testCase.action,
        resource: testCase.resource.replace(`arn:aws:`, '').replace(`${at}:`, ''),
        request: testCase.what,
        expected: testCase.expected,
        simulated: decision,
        ok: decision === testCase.expected ? 'yes' : 'NO',
      });
    }
    console.table(rows);

    // assess
    expect(rows.filter((row) => row.ok !== 'yes')).toEqual([]);
  });
});
