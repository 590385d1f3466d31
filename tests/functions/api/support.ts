import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type {
  APIGatewayProxyEventV2WithJWTAuthorizer,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoAlertHistory } from '../../../shared/adapters/dynamodb/alert-history';
import { DynamoAuditLog } from '../../../shared/adapters/dynamodb/audit-log';
import { DynamoFleetReader } from '../../../shared/adapters/dynamodb/fleet-read';
import { StepFunctionsLaunchWorkflow } from '../../../shared/adapters/sfn/launch-workflow';
import { ManualClock } from '../../../shared/domain/clock';
import type { RiskLimits } from '../../../shared/domain/risk';
import { DEFAULT_STALE_AFTER_S } from '../../../shared/domain/staleness';
import { createDynamoIdempotency } from '../../../shared/runtime/api-command-deps';
import type { ReadStrategiesDeps } from '../../../shared/runtime/api-deps';
import type { StartDeps } from '../../../shared/runtime/api-start-deps';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startTestDynamo, type TestDynamo } from '../../support/dynamo';

// EMF output would flood the test log; the chain still calls Metrics exactly as in Lambda.
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

export const STATE_MACHINE_ARN =
  'arn:aws:states:us-east-1:123456789012:stateMachine:tradai-launch-session-test';

export const ALL_SCOPES = ['tradai/strategies:read', 'tradai/strategies:write', 'tradai/strategies:live'];
export const WRITE_SCOPES = ['tradai/strategies:read', 'tradai/strategies:write'];
export const READ_SCOPES = ['tradai/strategies:read'];
/** The Cognito group whose members may trade live (serverless.yml TradaiLiveGroup). */
export const LIVE_GROUPS = ['tradai-live'];

export const LIVE_LIMITS: RiskLimits = {
  max_drawdown_pct: 10,
  max_daily_loss: 500,
  max_open_trades: 3,
  max_leverage: 2,
  max_monitor_failures: 3,
  breach_ladder: ['pause', 'flatten'],
  escalation_grace_s: 120,
};

const mockSfn = (client: SFNClient) => mockClient(client);
type SfnMock = ReturnType<typeof mockSfn>;

export interface TableSnapshot {
  sessions: unknown[];
  metrics: unknown[];
  audit: unknown[];
  idempotency: unknown[];
}

export interface ApiTestEnv {
  dynamo: TestDynamo;
  deps: StartDeps & ReadStrategiesDeps;
  clock: ManualClock;
  sfn: SfnMock;
  /** Forgets recorded calls and one-off behaviours; StartExecution succeeds again. */
  resetSfn(): void;
  tables: { sessions: string; metrics: string; audit: string; idempotency: string; alerts: string };
  /** Every item of every table this API touches, in a stable order. */
  snapshot(): Promise<TableSnapshot>;
  close(): Promise<void>;
}

/**
 * The real adapters on the embedded DynamoDB (tables from serverless.yml), the real Step Functions adapter
 * on an SFNClient mocked at the SDK boundary, a manual clock, and silent Powertools.
 */
export const startApiTest = async (): Promise<ApiTestEnv> => {
  const dynamo = await startTestDynamo();
  const stage = dynamo.tables.sessions.replace('tradai-workflow-state-', '');
  const tables = {
    ...dynamo.tables,
    audit: `tradai-audit-${stage}`,
    idempotency: `tradai-idempotency-${stage}`,
    alerts: `tradai-alerts-${stage}`,
  };
  const clock = new ManualClock('2026-03-02T09:30:00.000Z');
  const sfnClient = new SFNClient({ region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const sfn = mockSfn(sfnClient);
  const resetSfn = () => {
    sfn.reset();
    sfn.on(StartExecutionCommand).callsFake((input: { name?: string }) => ({
      executionArn: `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${input.name}`,
      startDate: new Date(),
    }));
  };
  resetSfn();
  const alertHistory = new DynamoAlertHistory(dynamo.doc, {
    alertsTable: tables.alerts,
    sessionsTable: tables.sessions,
  });
  const deps: StartDeps & ReadStrategiesDeps = {
    store: dynamo.newStore(clock),
    audit: new DynamoAuditLog(dynamo.doc, { auditTable: tables.audit }),
    clock,
    logger: new Logger({ logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: 'TradAITest' }),
    idempotency: createDynamoIdempotency(dynamo.newClient(), tables.idempotency),
    launchWorkflow: new StepFunctionsLaunchWorkflow(sfnClient, STATE_MACHINE_ARN),
    alertHistory,
    fleet: new DynamoFleetReader(dynamo.doc, { sessionsTable: tables.sessions }),
    staleAfterS: DEFAULT_STALE_AFTER_S,
  };
  const scanAll = async (table: string) => {
    const items: unknown[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await dynamo.doc.send(
        new ScanCommand({ TableName: table, ExclusiveStartKey: start, ConsistentRead: true }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return items.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  };
  return {
    dynamo,
    deps,
    clock,
    sfn,
    resetSfn,
    tables,
    snapshot: async () => ({
      sessions: await scanAll(tables.sessions),
      metrics: await scanAll(tables.metrics),
      audit: await scanAll(tables.audit),
      idempotency: await scanAll(tables.idempotency),
    }),
    close: async () => {
      sfn.restore();
      sfnClient.destroy();
      await dynamo.close();
    },
  };
};

export interface EventOptions {
  method: 'GET' | 'POST' | 'PUT';
  /** The route template as in serverless.yml, e.g. `/strategies/{strategyId}/start`. */
  route: string;
  params?: Record<string, string>;
  query?: Record<string, string>;
  /** An object is sent as JSON; a string is sent as is. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Scopes as API Gateway hands them over (`jwt.scopes`); `null` sends a request without any token. */
  scopes?: string[] | null;
  /** Extra or replacement claims; `scope` here tests the space-separated claim form. */
  claims?: Record<string, string>;
  subject?: string;
  /** `cognito:groups`, delivered as API Gateway's JWT authorizer flattens an array claim: `[a b]`. */
  groups?: string[];
  isBase64Encoded?: boolean;
  /** What API Gateway puts in routeKey; a `$default` route sends that instead of the template. */
  routeKey?: string;
}

/** A payload 2.0 event as API Gateway's HTTP API with a JWT authorizer delivers it. */
export const apiEvent = (options: EventOptions): APIGatewayProxyEventV2WithJWTAuthorizer => {
  const params = options.params ?? {};
  const rawPath = options.route.replace(/\{(\w+)\}/g, (_match, name: string) =>
    encodeURIComponent(params[name] ?? ''),
  );
  const body =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string'
        ? options.body
        : JSON.stringify(options.body);
  const headers: Record<string, string> = {
    host: 'api.example.com',
    'user-agent': 'vitest',
    ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    ...options.headers,
  };
  const requestId = randomUUID();
  const event = {
    version: '2.0',
    routeKey: options.routeKey ?? `${options.method} ${options.route}`,
    rawPath,
    rawQueryString: new URLSearchParams(options.query ?? {}).toString(),
    headers,
    ...(options.query === undefined ? {} : { queryStringParameters: options.query }),
    // A `$default` route has no templated parameters: the path is all the function gets.
    ...(Object.keys(params).length === 0 || options.routeKey === '$default'
      ? {}
      : { pathParameters: params }),
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: {
        method: options.method,
        path: rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.7',
        userAgent: 'vitest',
      },
      requestId,
      routeKey: options.routeKey ?? `${options.method} ${options.route}`,
      stage: '$default',
      time: '02/Mar/2026:09:30:00 +0000',
      timeEpoch: 1_772_443_800_000,
      authorizer: {
        principalId: '',
        integrationLatency: 0,
        jwt: {
          claims:
            options.scopes === null
              ? {}
              : {
                  sub: options.subject ?? 'operator-1',
                  client_id: 'client',
                  token_use: 'access',
                  ...(options.groups === undefined
                    ? {}
                    : { 'cognito:groups': `[${options.groups.join(' ')}]` }),
                  ...options.claims,
                },
          scopes: options.scopes === null ? null : (options.scopes ?? ALL_SCOPES),
        },
      },
    },
    isBase64Encoded: options.isBase64Encoded ?? false,
    ...(body === undefined ? {} : { body }),
  } satisfies APIGatewayProxyEventV2WithJWTAuthorizer;
  if (options.scopes === null) {
    // No authorizer ran at all (a request that bypassed the gateway).
    const { authorizer: _none, ...requestContext } = event.requestContext;
    return { ...event, requestContext } as unknown as APIGatewayProxyEventV2WithJWTAuthorizer;
  }
  return event;
};

export const lambdaContext = (): Context => ({
  callbackWaitsForEmptyEventLoop: true,
  functionName: 'tradai-control-plane-test-api',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:tradai-control-plane-test-api',
  memoryLimitInMB: '256',
  awsRequestId: randomUUID(),
  logGroupName: '/aws/lambda/tradai-control-plane-test-api',
  logStreamName: 'test',
  getRemainingTimeInMillis: () => 10_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
});

export interface JsonResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
  raw: string;
}

export const parseResponse = (result: APIGatewayProxyStructuredResultV2): JsonResponse => {
  const raw = typeof result.body === 'string' ? result.body : '';
  return {
    statusCode: result.statusCode ?? 0,
    headers: Object.fromEntries(
      Object.entries(result.headers ?? {}).map(([key, value]) => [key, String(value)]),
    ),
    body: raw === '' ? {} : (JSON.parse(raw) as Record<string, unknown>),
    raw,
  };
};

export type Invoke = (options: EventOptions) => Promise<JsonResponse>;

export const invoker =
  (
    handler: (
      event: APIGatewayProxyEventV2WithJWTAuthorizer,
      context: Context,
    ) => Promise<APIGatewayProxyStructuredResultV2>,
  ): Invoke =>
  async (options) =>
    parseResponse(await handler(apiEvent(options), lambdaContext()));

export const startBody = (overrides: Record<string, unknown> = {}) => ({
  strategy: 'PascalStrategy',
  mode: 'dry-run',
  alias: 'champion',
  reason: 'morning session',
  ...overrides,
});

export const errorOf = (response: JsonResponse) =>
  response.body.error as { code: string; message: string; details?: { field: string; message: string }[] };

let fixtureSeq = 0;

/** A session driven through the store as the launch workflow and the agent would: running, one heartbeat. */
export const runningSession = async (
  env: ApiTestEnv,
  strategyId: string,
  options: { mode?: 'dry-run' | 'live'; pnlToday?: number; pnlTotal?: number; currency?: string } = {},
) => {
  fixtureSeq += 1;
  const mode = options.mode ?? 'dry-run';
  const runId = `${mode}-${strategyId}-fixture-${String(fixtureSeq).padStart(4, '0')}`;
  const store = env.deps.store;
  const created = await store.createSession({
    run_id: runId,
    strategy_id: strategyId,
    strategy_name: 'PascalStrategy',
    trading_mode: mode,
    risk_limits: LIVE_LIMITS,
    requested_by: 'operator-1',
    trace_id: `trace-${fixtureSeq}`,
  });
  if (!created.ok) throw new Error(created.message);
  await store.transition(runId, 'launching', { patch: { launch_token: 'secret-task-token' } });
  await store.transition(runId, 'running', {
    patch: { started_at: new Date(env.clock.now()).toISOString() },
  });
  await store.claimSession({
    run_id: runId,
    agent_id: `agent-${fixtureSeq}`,
    strategy_version: '2.0.0',
    exchange: 'binance',
    pairs: ['BTC/USDT:USDT'],
  });
  const at = new Date(env.clock.now()).toISOString();
  const heartbeat = await store.recordHeartbeat({
    run_id: runId,
    agent_id: `agent-${fixtureSeq}`,
    seq: 1,
    at,
    metrics: {
      total_trades: 45,
      win_rate: 0.62,
      pnl_today: options.pnlToday ?? 125.5,
      pnl_total: options.pnlTotal ?? 1250,
      open_trade_count: 1,
      stake_currency: options.currency ?? 'USDT',
    },
    health: {
      cpu_percent: 35,
      memory_mb: 512,
      exchange_connected: true,
      last_trade_at: at,
      freqtrade_state: 'running',
    },
    risk: { state: 'ok', snapshot: null, breaches: [], response: null, breached_at: null },
    open_trades: [
      {
        trade_id: 1,
        pair: 'BTC/USDT:USDT',
        is_short: false,
        amount: 0.01,
        open_rate: 60_000,
        current_rate: 60_100,
        stake_amount: 600,
        leverage: 1,
        profit_abs: 1,
        profit_ratio: 0.0016,
        open_date: at,
      },
    ],
  });
  if (!heartbeat.ok) throw new Error(heartbeat.message);
  return heartbeat.session;
};
