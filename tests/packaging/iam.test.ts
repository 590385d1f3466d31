import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../shared/adapters/dynamodb/client';
import { ManualClock } from '../../shared/domain';
import { type StopOutcome, StopOutcomeSchema } from '../../shared/domain/agent-report';
import { historyEntryOf } from '../../shared/domain/heartbeat';
import { heartbeatOf, newSessionInput } from '../shared/session-store.contract';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startTestDynamo, type TestDynamo } from '../support/dynamo';
import { largestValueOf } from '../support/largest-value';
import {
  PACKAGE_STAGE,
  packagedTemplate,
  packagedTemplateFile,
  type Template,
} from './support/packaged-template.js';
import { type Deployment, resolveIntrinsics } from './support/resolve-intrinsics.js';

const ACCOUNT = '123456789012';
const REGION = 'eu-central-1';
const STAGE = PACKAGE_STAGE;
const MLFLOW_TOKEN_SECRET = `arn:aws:secretsmanager:eu-central-1:123456789012:secret:tradai/${PACKAGE_STAGE}/mlflow-token-AbCdEf`;
const deployment: Deployment = {
  accountId: ACCOUNT,
  region: REGION,
  parameters: {
    VpcId: 'vpc-0123456789abcdef0',
    PrivateSubnetIds: 'subnet-0a,subnet-0b',
    LoadBalancerSecurityGroupId: 'sg-0123456789abcdef0',
    MlflowTrackingUri: 'https://mlflow.internal',
    MlflowTokenSecretArn: MLFLOW_TOKEN_SECRET,
    ConfigBucketName: 'tradai-config',
    MlflowArtifactBucketName: 'tradai-mlflow-artifacts',
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
const ALERTS = table(`tradai-alerts-${STAGE}`);
const BUDGETS = table(`tradai-account-budgets-${STAGE}`);
const secret = (name: string) => `arn:aws:secretsmanager:${at}:secret:${name}-AbCdEf`;
const RUN = 'run-2026-12-01-a1b2c3';
/** The sweep's pass chain (SweepPassQueue). */
const SWEEP_PASSES = `arn:aws:sqs:${at}:tradai-${STAGE}-sweep-passes`;
const LEASE = `lease#${'a'.repeat(32)}#BTC/USDT`;

/** The attribute sets of the agent's own writes (shared/adapters/dynamodb/session-store.ts). */
const SESSION_CONDITION = ['run_id', 'item_type', 'version', 'status', 'agent_id'];
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
  'backtest_summary',
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
    action: 's3:GetObject',
    resource: 'arn:aws:s3:::tradai-config/strategies/demo.json',
    what: 'strategy config',
    expected: 'allowed',
  },
  {
    role: 'StrategyTaskRole',
    action: 's3:PutObject',
    resource: 'arn:aws:s3:::tradai-config/strategies/demo.json',
    what: 'rewrite a strategy config',
    expected: 'denied',
  },
  {
    role: 'StrategyTaskRole',
    action: 's3:GetObject',
    resource: 'arn:aws:s3:::tradai-mlflow-artifacts/models/PascalFreqAI/2/pair_dictionary.json',
    what: 'FreqAI model artifact',
    expected: 'allowed',
  },
  {
    role: 'StrategyTaskRole',
    action: 's3:PutObject',
    resource: 'arn:aws:s3:::tradai-mlflow-artifacts/models/PascalFreqAI/2/pair_dictionary.json',
    what: 'overwrite a registered model',
    expected: 'denied',
  },
  {
    role: 'StrategyTaskRole',
    action: 's3:PutObject',
    resource: 'arn:aws:s3:::tradai-results/results/run.zip',
    what: 'one-shot result',
    expected: 'allowed',
  },
  {
    role: 'StrategyTaskRole',
    action: 's3:GetObject',
    resource: 'arn:aws:s3:::tradai-results/results/run.zip',
    what: 'read results',
    expected: 'denied',
  },
  {
    role: 'StrategyTaskRole',
    action: 's3:DeleteObject',
    resource: 'arn:aws:s3:::tradai-arcticdb/prices/x',
    what: 'delete market data',
    expected: 'denied',
  },
  {
    role: 'StrategyTaskRole',
    action: 'elasticfilesystem:ClientWrite',
    resource: `arn:aws:elasticfilesystem:${REGION}:${ACCOUNT}:file-system/fs-0123456789abcdef0`,
    what: 'trade store via its access point',
    context: {
      'elasticfilesystem:AccessPointArn': `arn:aws:elasticfilesystem:${REGION}:${ACCOUNT}:access-point/fsap-0123456789abcdef0`,
    },
    expected: 'allowed',
  },
  {
    role: 'StrategyTaskRole',
    action: 'elasticfilesystem:ClientWrite',
    resource: `arn:aws:elasticfilesystem:${REGION}:${ACCOUNT}:file-system/fs-0123456789abcdef0`,
    what: 'trade store without the access point',
    expected: 'denied',
  },
  {
    role: 'StrategyTaskRole',
    action: 'elasticfilesystem:ClientRootAccess',
    resource: `arn:aws:elasticfilesystem:${REGION}:${ACCOUNT}:file-system/fs-0123456789abcdef0`,
    what: 'root on the trade store',
    context: {
      'elasticfilesystem:AccessPointArn': `arn:aws:elasticfilesystem:${REGION}:${ACCOUNT}:access-point/fsap-0123456789abcdef0`,
    },
    expected: 'denied',
  },
  {
    role: 'StrategyTaskRole',
    action: 'ecs:RunTask',
    resource: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/tradai-strategy-${STAGE}:1`,
    what: 'launch a container',
    expected: 'denied',
  },
  {
    role: 'StrategyTaskRole',
    action: 'sns:Publish',
    resource: `arn:aws:sns:${REGION}:${ACCOUNT}:tradai-alerts-${STAGE}`,
    what: 'page',
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
    resource: `${SESSIONS}/index/status-created_at-lean-index`,
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
    action: 'dynamodb:Query',
    resource: AUDIT,
    what: "a strategy's audit trail",
    expected: 'allowed',
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
  // Promote API: reads the lock, session and backtest records, writes only the audit log; MLflow is reached over HTTP.
  {
    role: 'PromoteStrategyRole',
    action: 'dynamodb:Query',
    resource: `${SESSIONS}/index/status-created_at-lean-index`,
    what: 'read backtest records',
    expected: 'allowed',
  },
  {
    role: 'PromoteStrategyRole',
    action: 'dynamodb:BatchGetItem',
    resource: SESSIONS,
    what: 'read the listed backtest records by key',
    expected: 'allowed',
  },
  {
    role: 'PromoteStrategyRole',
    action: 'dynamodb:PutItem',
    resource: AUDIT,
    what: 'audit a promotion',
    expected: 'allowed',
  },
  {
    role: 'PromoteStrategyRole',
    action: 'dynamodb:UpdateItem',
    resource: SESSIONS,
    what: 'change a session',
    expected: 'denied',
  },
  {
    role: 'PromoteStrategyRole',
    action: 'secretsmanager:GetSecretValue',
    resource: secret(`tradai/${STAGE}/exchange/default`),
    what: 'exchange secret',
    expected: 'denied',
  },
  {
    role: 'PromoteStrategyRole',
    action: 'secretsmanager:GetSecretValue',
    resource: MLFLOW_TOKEN_SECRET,
    what: "MLflow's bearer token",
    expected: 'allowed',
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
    action: 'dynamodb:Query',
    resource: `${SESSIONS}/index/status-created_at-lean-index`,
    what: "a budget breach's fan-out lists the account's sessions (AccessDenied: the pause waited for the sweep)",
    expected: 'allowed',
  },
  {
    role: 'SessionEventsRole',
    action: 'dynamodb:BatchGetItem',
    resource: SESSIONS,
    what: 'and reads them by key',
    expected: 'allowed',
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
    resource: `${SESSIONS}/index/status-created_at-lean-index`,
    what: 'sessions by status',
    expected: 'allowed',
  },
  {
    role: 'SweepRole',
    action: 'dynamodb:BatchGetItem',
    resource: SESSIONS,
    what: 'read the listed sessions by key',
    expected: 'allowed',
  },
  {
    role: 'SweepRole',
    action: 'dynamodb:DeleteItem',
    resource: SESSIONS,
    what: "forget a finished session's beat",
    context: { 'dynamodb:LeadingKeys': ['live-x-000001.beat'] },
    expected: 'allowed',
  },
  {
    role: 'SweepRole',
    action: 'dynamodb:DeleteItem',
    resource: SESSIONS,
    what: 'delete a session, a lock or a lease',
    context: { 'dynamodb:LeadingKeys': ['live-x-000001'] },
    expected: 'denied',
  },
  {
    role: 'SweepRole',
    action: 'dynamodb:DeleteItem',
    resource: SESSIONS,
    what: 'delete a strategy lock',
    context: { 'dynamodb:LeadingKeys': ['strategy#x'] },
    expected: 'denied',
  },
  {
    role: 'SweepRole',
    action: 'sqs:SendMessage',
    resource: SWEEP_PASSES,
    what: 'send the next link of the pass chain',
    expected: 'allowed',
  },
  {
    role: 'SweepRole',
    action: 'sqs:ReceiveMessage',
    resource: SWEEP_PASSES,
    what: 'receive the pass chain (its event source mapping)',
    expected: 'allowed',
  },
  {
    role: 'SweepRole',
    action: 'sqs:SendMessage',
    resource: `arn:aws:sqs:${at}:tradai-${STAGE}-other-queue`,
    what: 'send to a queue not its own',
    expected: 'denied',
  },
  {
    role: 'SweepRole',
    action: 'dynamodb:Scan',
    resource: SESSIONS,
    what: 'scan sessions',
    expected: 'denied',
  },
  {
    role: 'ReadStrategiesRole',
    action: 'dynamodb:Query',
    resource: ALERTS,
    what: 'alerts of a strategy',
    expected: 'allowed',
  },
  {
    role: 'ReadStrategiesRole',
    action: 'dynamodb:Query',
    resource: `${ALERTS}/index/feed-at_key-index`,
    what: 'alerts of the fleet by time',
    expected: 'allowed',
  },
  {
    role: 'ReadStrategiesRole',
    action: 'dynamodb:PutItem',
    resource: ALERTS,
    what: 'write an alert',
    expected: 'denied',
  },
  {
    role: 'ReadStrategiesRole',
    action: 'dynamodb:Scan',
    resource: ALERTS,
    what: 'scan alerts',
    expected: 'denied',
  },
  {
    role: 'SessionEventsRole',
    action: 'dynamodb:PutItem',
    resource: ALERTS,
    what: 'record an alert',
    expected: 'allowed',
  },
  {
    role: 'SessionEventsRole',
    action: 'dynamodb:Query',
    resource: ALERTS,
    what: 'read alerts',
    expected: 'denied',
  },
  {
    role: 'SweepRole',
    action: 'dynamodb:PutItem',
    resource: ALERTS,
    what: 'record an alert',
    expected: 'allowed',
  },
  {
    role: 'SweepRole',
    action: 'dynamodb:Query',
    resource: ALERTS,
    what: 'read alerts',
    expected: 'denied',
  },
  {
    role: 'EcsEventsRole',
    action: 'dynamodb:PutItem',
    resource: ALERTS,
    what: 'record an alert',
    expected: 'allowed',
  },
  {
    role: 'EcsEventsRole',
    action: 'dynamodb:Query',
    resource: ALERTS,
    what: 'read alerts',
    expected: 'denied',
  },
  {
    role: 'SweepRole',
    action: 'dynamodb:DeleteItem',
    resource: ALERTS,
    what: 'delete an alert',
    expected: 'denied',
  },
  // Each recorder keeps the strategy's last alert on its lock item (GET /fleet reads it with the lock); an
  // agent may not, or it could hide its own strategy's alert from the fleet view.
  ...['SessionEventsRole', 'SweepRole', 'EcsEventsRole', 'TradingScopesRole', 'StrategyTaskRole'].map(
    (role): Case => ({
      role,
      action: 'dynamodb:UpdateItem',
      resource: SESSIONS,
      what: "set the lock item's last alert",
      context: item(['strategy#alpha'], ['run_id', 'last_alert'], 'NONE'),
      expected: role === 'StrategyTaskRole' ? 'denied' : 'allowed',
    }),
  ),
  {
    role: 'StartStrategyRole',
    action: 'dynamodb:PutItem',
    resource: ALERTS,
    what: 'record an alert',
    expected: 'denied',
  },
  {
    role: 'ControlStrategyRole',
    action: 'dynamodb:Query',
    resource: ALERTS,
    what: 'read alerts',
    expected: 'denied',
  },
  {
    role: 'EcsEventsRole',
    action: 'ecs:StopTask',
    resource: `arn:aws:ecs:${at}:task/tradai-${STAGE}/abc`,
    what: 'stop a task',
    expected: 'denied',
  }, // Account budgets: the stream processor keeps the aggregate, the scope API sets the budget; an agent
  // (whose session's figures are counted) may neither forge its contribution nor lift its account's budget.
  {
    role: 'SessionEventsRole',
    action: 'dynamodb:UpdateItem',
    resource: BUDGETS,
    what: "move an account's aggregate",
    expected: 'allowed',
  },
  {
    role: 'SessionEventsRole',
    action: 'dynamodb:DeleteItem',
    resource: BUDGETS,
    what: 'delete a contribution',
    expected: 'denied',
  },
  {
    role: 'TradingScopesRole',
    action: 'dynamodb:UpdateItem',
    resource: BUDGETS,
    what: "set an account's budget",
    expected: 'allowed',
  },
  {
    role: 'TradingScopesRole',
    action: 'dynamodb:Query',
    resource: `${SESSIONS}/index/status-created_at-lean-index`,
    what: 'sessions in a scope by status',
    expected: 'allowed',
  },
  {
    role: 'TradingScopesRole',
    action: 'dynamodb:BatchGetItem',
    resource: SESSIONS,
    what: 'read the listed sessions by key',
    expected: 'allowed',
  },
  {
    role: 'TradingScopesRole',
    action: 'dynamodb:PutItem',
    resource: BUDGETS,
    what: 'write a contribution',
    expected: 'denied',
  },
  {
    role: 'StrategyTaskRole',
    action: 'dynamodb:PutItem',
    resource: BUDGETS,
    what: 'forge its own contribution',
    expected: 'denied',
  },
  {
    role: 'StrategyTaskRole',
    action: 'dynamodb:UpdateItem',
    resource: BUDGETS,
    what: "lift its account's budget",
    expected: 'denied',
  },
];

/** Words of DynamoDB's expression grammar: everything else in an expression is an attribute name. */
const EXPRESSION_WORDS = new Set([
  'SET',
  'REMOVE',
  'ADD',
  'DELETE',
  'AND',
  'OR',
  'NOT',
  'IN',
  'BETWEEN',
  'attribute_exists',
  'attribute_not_exists',
  'attribute_type',
  'begins_with',
  'contains',
  'size',
  'if_not_exists',
  'list_append',
]);

/** The top-level attribute names a request touches: its key, item, aliased names and bare names in expressions. */
function attributesOf(input: Record<string, unknown>): string[] {
  const names = new Set<string>(Object.keys((input.Key ?? input.Item ?? {}) as object));
  for (const name of Object.keys((input.Item ?? {}) as object)) names.add(name);
  const aliases = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
  for (const field of [
    'UpdateExpression',
    'ConditionExpression',
    'ProjectionExpression',
    'KeyConditionExpression',
  ]) {
    const expression = input[field];
    if (typeof expression !== 'string') continue;
    // Only the first segment of a path is an item attribute (a.b.c, a[0]).
    for (const [, path] of expression.matchAll(/(?<![.:#\w])([#A-Za-z_][\w#]*)/g)) {
      const name = path?.startsWith('#') ? aliases[path] : path;
      if (name !== undefined && !EXPRESSION_WORDS.has(name)) names.add(name);
    }
  }
  return [...names].sort();
}

interface RecordedCall {
  command: string;
  input: Record<string, unknown>;
}

/** Each recorded SDK call as the IAM requests it makes (a transaction authorizes item by item). */
function requestsOf(
  call: RecordedCall,
  tableArn: (name: string) => string,
): Omit<Case, 'role' | 'expected'>[] {
  const { command, input } = call;
  const keyOf = (entry: Record<string, unknown>) =>
    String(((entry.Key ?? entry.Item ?? {}) as { run_id?: unknown }).run_id);
  const itemRequest = (action: string, entry: Record<string, unknown>) => ({
    action: `dynamodb:${action}`,
    resource: tableArn(String(entry.TableName)),
    what: `agent ${action} ${keyOf(entry).replace(/#.*/, '#...')}`,
    context: {
      'dynamodb:LeadingKeys': [keyOf(entry)],
      'dynamodb:Attributes': attributesOf(entry),
      ...(typeof entry.ReturnValues === 'string' ? { 'dynamodb:ReturnValues': entry.ReturnValues } : {}),
    },
  });
  switch (command) {
    case 'GetCommand':
      return [{ ...itemRequest('GetItem', input), context: { 'dynamodb:LeadingKeys': [keyOf(input)] } }];
    case 'UpdateCommand':
      return [itemRequest('UpdateItem', input)];
    case 'PutCommand':
      return [itemRequest('PutItem', input)];
    case 'TransactWriteCommand':
      return (input.TransactItems as Record<string, Record<string, unknown>>[]).flatMap((entry) =>
        Object.entries(entry).map(([kind, request]) =>
          itemRequest(kind === 'Put' ? 'PutItem' : kind === 'Update' ? 'UpdateItem' : `${kind}Item`, request),
        ),
      );
    case 'BatchWriteCommand':
      return Object.keys(input.RequestItems as object).map((name) => ({
        action: 'dynamodb:BatchWriteItem',
        resource: tableArn(name),
        what: 'agent history batch',
      }));
    default:
      return [
        {
          action: `dynamodb:${command.replace(/Command$/, '')}`,
          resource: tableArn(String(input.TableName)),
          what: `agent ${command}`,
        },
      ];
  }
}

const execFileAsync = promisify(execFile);

/** IAM actions an SDK command of a package needs (a transaction authorizes its items one by one). */
const DOCUMENT_COMMANDS: Record<string, string[]> = {
  GetCommand: ['dynamodb:GetItem'],
  PutCommand: ['dynamodb:PutItem'],
  UpdateCommand: ['dynamodb:UpdateItem'],
  DeleteCommand: ['dynamodb:DeleteItem'],
  QueryCommand: ['dynamodb:Query'],
  ScanCommand: ['dynamodb:Scan'],
  BatchGetCommand: ['dynamodb:BatchGetItem'],
  BatchWriteCommand: ['dynamodb:BatchWriteItem'],
  TransactGetCommand: ['dynamodb:GetItem'],
  TransactWriteCommand: [
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'dynamodb:ConditionCheckItem',
  ],
};
const SERVICE_PREFIXES: Record<string, string> = {
  'client-dynamodb': 'dynamodb',
  'client-ecs': 'ecs',
  'client-sfn': 'states',
  'client-sns': 'sns',
  'client-sqs': 'sqs',
  'client-s3': 's3',
  'client-secrets-manager': 'secretsmanager',
  'client-cloudwatch': 'cloudwatch',
};
const actionsOfCommand = (pkg: string, command: string): string[] => {
  if (pkg === 'lib-dynamodb') return DOCUMENT_COMMANDS[command] ?? [];
  const prefix = SERVICE_PREFIXES[pkg];
  if (prefix === undefined || !command.endsWith('Command')) return [];
  const name = command.slice(0, -'Command'.length);
  if (name === 'TransactWriteItems') return DOCUMENT_COMMANDS.TransactWriteCommand ?? [];
  return [`${prefix}:${name === 'ListObjectsV2' ? 'ListBucket' : name}`];
};

/** Grants no SDK call of the function's code makes: the Lambda service or ECS act with the role. */
const PLATFORM_GRANTS: Record<string, string> = {
  'logs:CreateLogStream': 'Lambda runtime writes the function log',
  'logs:PutLogEvents': 'Lambda runtime writes the function log',
  'ec2:CreateNetworkInterface': "Lambda attaches a VPC function's network interfaces",
  'ec2:DescribeNetworkInterfaces': "Lambda attaches a VPC function's network interfaces",
  'ec2:DeleteNetworkInterface': "Lambda attaches a VPC function's network interfaces",
  'ec2:AssignPrivateIpAddresses': "Lambda attaches a VPC function's network interfaces",
  'ec2:UnassignPrivateIpAddresses': "Lambda attaches a VPC function's network interfaces",
  'sqs:SendMessage': 'Lambda sends failed events to the DLQ / on-failure destination',
  'sqs:ReceiveMessage': 'SQS event source mapping polls with the function role',
  'sqs:DeleteMessage': 'SQS event source mapping polls with the function role',
  'sqs:GetQueueAttributes': 'SQS event source mapping polls with the function role',
  'dynamodb:DescribeStream': 'stream event source mapping polls with the function role',
  'dynamodb:GetRecords': 'stream event source mapping polls with the function role',
  'dynamodb:GetShardIterator': 'stream event source mapping polls with the function role',
  'dynamodb:ListStreams': 'stream event source mapping polls with the function role',
  'iam:PassRole': 'ECS RegisterTaskDefinition passes the task and execution roles',
  'ecs:TagResource': 'ECS CreateService/RunTask with tags',
  'lambda:InvokeFunction': 'Step Functions invokes the launch step',
};

/** The SDK commands a packaged function imports: the SDK is left out of the bundle, so its imports name them. */
async function importedActions(zip: string): Promise<Map<string, string>> {
  const { stdout } = await execFileAsync('unzip', ['-p', zip], { maxBuffer: 64 * 1024 * 1024 });
  const actions = new Map<string, string>();
  for (const [, names, pkg] of stdout.matchAll(/import\{([^}]*)\}from"@aws-sdk\/([a-z0-9-]+)"/g)) {
    for (const specifier of (names ?? '').split(',')) {
      const command = specifier.trim().split(/\s+as\s+/)[0] ?? '';
      // A plain command names its action better than a transaction that may contain it.
      for (const action of actionsOfCommand(pkg ?? '', command))
        if (!actions.has(action) || actions.get(action)?.includes('Transact'))
          actions.set(action, `${pkg}/${command}`);
    }
  }
  return actions;
}

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

/**
 * The requests the container agent's store makes, recorded from the real DynamoSessionStore on the embedded
 * DynamoDB: a live claim that leases a pair and frees an orphaned lease, heartbeats, history, the stop's
 * final status, and a one-shot's completion and failure. The control plane's own steps (create, stopping,
 * running) go through another client and are not recorded.
 */
async function recordAgentCalls(test: TestDynamo): Promise<RecordedCall[]> {
  const clock = new ManualClock('2026-12-01T00:00:00.000Z');
  const controlPlane = test.newStore(clock);
  const agentDoc = createDocumentClient({
    endpoint: test.endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  const calls: RecordedCall[] = [];
  const send = agentDoc.send.bind(agentDoc);
  agentDoc.send = ((
    command: { constructor: { name: string }; input: Record<string, unknown> },
    ...rest: never[]
  ) => {
    calls.push({ command: command.constructor.name, input: structuredClone(command.input) });
    return (send as (...args: unknown[]) => unknown)(command, ...rest);
  }) as typeof agentDoc.send;
  const agent = test.newStore(clock, agentDoc);
  const outcome = StopOutcomeSchema.parse(largestValueOf(StopOutcomeSchema)) as StopOutcome;
  const account = 'ac0123456789abcd';

  // A lease left by a run that no longer exists: the claim finds it busy, frees it, and takes it.
  await test.doc.send(
    new PutCommand({
      TableName: test.tables.sessions,
      Item: {
        item_type: 'account_lease',
        run_id: `lease#${account}#ETH/USDT`,
        account_id: account,
        pair: 'ETH/USDT',
        holder_run_id: 'live-gone-000001',
        holder_strategy_id: 'gone',
        last_run_id: 'live-gone-000001',
        leased_at: '2026-11-30T00:00:00.000Z',
        released_at: null,
      },
    }),
  );
  const live = newSessionInput('iam-live', { trading_mode: 'live' });
  expect((await controlPlane.createSession(live)).ok).toBe(true);
  const claimed = await agent.claimSession({
    run_id: live.run_id,
    agent_id: 'agent-live',
    strategy_version: '1.0.0',
    exchange: 'binance',
    pairs: ['BTC/USDT', 'ETH/USDT'],
    account_id: account,
  });
  expect(claimed).toMatchObject({ ok: true });
  clock.advance(30_000);
  const heartbeat = heartbeatOf(live.run_id, 'agent-live', 1, new Date(clock.now()).toISOString());
  expect((await agent.recordHeartbeat(heartbeat)).ok).toBe(true);
  clock.advance(15_000);
  const beat = {
    run_id: live.run_id,
    agent_id: 'agent-live',
    seq: 2,
    at: new Date(clock.now()).toISOString(),
  };
  expect((await agent.recordBeat(beat)).ok).toBe(true);
  await agent.appendHistory([historyEntryOf('iam-live', heartbeat)]);
  await agent.get(live.run_id);
  // A deploy: the successor exists while the live run trades; the launch workflow passes the lock once the
  // live run is over, and the successor's agent takes the leases in its claim (ConditionChecks, no lock write).
  const successor = newSessionInput('iam-live', { trading_mode: 'live', run_id: 'live-iam-live-successor' });
  const created = await controlPlane.createSuccessor(successor, {
    lockHolder: live.run_id,
    superseded: [{ run_id: live.run_id, statuses: ['running', 'paused', 'pending'], supersededBy: null }],
    handoff: {
      kind: 'deploy',
      mode: 'carry_positions',
      wait_flat_s: 0,
      phase: 'requested',
      from_run_id: live.run_id,
      to_run_id: successor.run_id,
      rollback_of: null,
      requested_at: new Date(clock.now()).toISOString(),
      reason: null,
    },
  });
  expect(created.ok).toBe(true);
  expect((await controlPlane.setDesiredState(live.run_id, 'stopped', 'operator stop')).ok).toBe(true);
  const stopped = await agent.transition(live.run_id, 'stopped', {
    from: ['stopping'],
    heldBy: 'agent-live',
    patch: { stop_outcome: outcome, status_reason: 'stopped: flattened' },
  });
  expect(stopped.ok).toBe(true);
  await controlPlane.transition(successor.run_id, 'launching');
  expect(await controlPlane.passLock('iam-live', live.run_id, successor.run_id)).toEqual({ ok: true });
  const takenOver = await agent.claimSession({
    run_id: successor.run_id,
    agent_id: 'agent-successor',
    strategy_version: '1.1.0',
    exchange: 'binance',
    pairs: ['BTC/USDT'],
    account_id: account,
  });
  expect(takenOver).toMatchObject({ ok: true });

  const oneShot = newSessionInput('iam-one-shot', { trading_mode: 'backtest' });
  expect((await controlPlane.createSession(oneShot)).ok).toBe(true);
  await agent.claimSession({
    run_id: oneShot.run_id,
    agent_id: 'agent-one',
    strategy_version: null,
    exchange: null,
    pairs: [],
  });
  await controlPlane.transition(oneShot.run_id, 'launching');
  await controlPlane.transition(oneShot.run_id, 'running');
  const completed = await agent.transition(oneShot.run_id, 'completed', {
    from: ['running'],
    heldBy: 'agent-one',
    patch: {
      status_reason: 'done',
      completed_at: new Date(clock.now()).toISOString(),
      result_s3_path: 's3://tradai-results/results/x.zip',
      stop_outcome: outcome,
      backtest_summary: {
        total_trades: 12,
        profit_total_pct: 1.5,
        max_drawdown_pct: 3.2,
        win_rate: 0.58,
        sharpe: 0.9,
      },
    },
  });
  expect(completed.ok).toBe(true);
  const failing = newSessionInput('iam-failing', { trading_mode: 'dry-run' });
  expect((await controlPlane.createSession(failing)).ok).toBe(true);
  await controlPlane.transition(failing.run_id, 'launching');
  const failed = await agent.transition(failing.run_id, 'failed', {
    patch: { status_reason: 'start-up failed', stop_outcome: outcome },
  });
  expect(failed.ok).toBe(true);
  agentDoc.destroy();
  return calls;
}

describe('Packaging: IAM policies, evaluated by a policy simulator', () => {
  let template: Template;
  let test: TestDynamo;

  beforeAll(async () => {
    template = await packagedTemplate();
    test = await startTestDynamo();
  }, 180_000);

  afterAll(async () => {
    await test?.close();
  });

  it("allows every DynamoDB request the container agent's store makes (recorded from the real store: claim with leases, orphaned-lease release, heartbeat, beat, history, final statuses)", async () => {
    // prepare
    const calls = await recordAgentCalls(test);
    const tableArn = (name: string) =>
      name === test.tables.sessions ? SESSIONS : name === test.tables.metrics ? METRICS : table(name);

    // act
    const rows = [];
    for (const request of calls.flatMap((call) => requestsOf(call, tableArn))) {
      const decision = await decide(template, { ...request, role: 'StrategyTaskRole', expected: 'allowed' });
      rows.push({
        action: request.action,
        request: request.what,
        attributes: ((request.context?.['dynamodb:Attributes'] ?? []) as string[]).join(' '),
        simulated: decision,
      });
    }
    console.table(rows);

    // assess: every kind of call the agent makes was seen, and every one is allowed.
    expect(new Set(rows.map((row) => row.action))).toEqual(
      // ConditionCheckItem: a first live claim checks its account's trading state (scope#account#...).
      new Set([
        'dynamodb:GetItem',
        'dynamodb:UpdateItem',
        'dynamodb:PutItem',
        'dynamodb:BatchWriteItem',
        'dynamodb:ConditionCheckItem',
      ]),
    );
    expect(rows.some((row) => row.request.includes('UpdateItem lease#'))).toBe(true);
    expect(rows.some((row) => row.request.includes('.beat'))).toBe(true);
    expect(rows.filter((row) => row.simulated !== 'allowed')).toEqual([]);
  });

  it('grants each function role only the API calls its packaged code imports, or that the platform makes with the role', async () => {
    // prepare
    const dir = join(await packagedTemplateFile(), '..');
    const functions = Object.entries(template.Resources).filter(
      ([, resource]) => resource.Type === 'AWS::Lambda::Function',
    );

    // act
    const rows: { role: string; action: string; why: string }[] = [];
    for (const [id, fn] of functions) {
      const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      const key = String((fn.Properties.Code as { S3Key: unknown }).S3Key);
      const imported = await importedActions(join(dir, key.split('/').at(-1) ?? key));
      const policies = (template.Resources[roleId]?.Properties.Policies as RolePolicy[] | undefined) ?? [];
      const granted = new Set(
        policies
          .flatMap((policy) => policy.PolicyDocument.Statement)
          .flatMap((statement) => [statement.Action].flat()),
      );
      for (const action of [...granted].sort()) {
        const why =
          imported.get(action) ??
          (PLATFORM_GRANTS[action] ? `platform: ${PLATFORM_GRANTS[action]}` : 'UNUSED');
        rows.push({ role: `${roleId} (${id.replace(/LambdaFunction$/, '')})`, action, why });
      }
    }
    console.table(rows);

    // assess
    expect(functions.length).toBeGreaterThanOrEqual(7);
    expect(rows.filter((row) => row.why === 'UNUSED')).toEqual([]);
  });

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
