import './polyfills';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeEvent } from 'aws-lambda';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { DynamoAccountBudgetStore } from '../../shared/adapters/dynamodb/account-budget-store';
import { DynamoAlertHistory } from '../../shared/adapters/dynamodb/alert-history';
import { DynamoAuditLog } from '../../shared/adapters/dynamodb/audit-log';
import { DynamoBacktestEvidence } from '../../shared/adapters/dynamodb/backtest-evidence';
import { createDocumentClient } from '../../shared/adapters/dynamodb/client';
import { DynamoFleetReader } from '../../shared/adapters/dynamodb/fleet-read';
import { DynamoSessionStore } from '../../shared/adapters/dynamodb/session-store';
import { DynamoChainLease } from '../../shared/adapters/dynamodb/sweep-chain-lease';
import { MlflowPromotionRegistry } from '../../shared/adapters/mlflow/promotion-registry';
import { RecordingAlertPublisher } from '../../shared/domain/alert-history';
import { systemClock } from '../../shared/domain/clock';
import type { Session } from '../../shared/domain/session';
import { createDynamoIdempotency } from '../../shared/runtime/api-command-deps';
import { PromotionFloorsEnvSchema } from '../../shared/runtime/api-promote-deps';
import { DynamoDedupLedger } from '../../shared/runtime/events-dedup';
import { timingsFromEnv } from '../../shared/runtime/workflow-deps';
import { type LocalDynamo, startLocalDynamo } from '../dynamodb';
import { FilePromotionRegistry, seedFileRegistry } from '../mlflow/file-promotion-registry';
import {
  loadServerlessConfig,
  type ServerlessConfig,
  tablesOf,
  taskContainersOf,
} from '../serverless/config';
import { type FunctionDefinition, functionsOf } from '../serverless/functions';
import { createTableFromResource } from '../serverless/tables';
import { LocalAlertPublisher } from './alerts';
import { localConsoleSite } from './console-site';
import { matchesPattern } from './event-pattern';
import { type HttpRoute, startHttpApi } from './http-api';
import { type LocalIssuer, loadLocalIssuer } from './jwt-issuer';
import { invokeLocal, type LocalFunction } from './lambda-runtime';
import { LocalPassQueue, type LocalPassQueueOptions } from './pass-queue';
import { type EcsTaskStateChange, ProcessPlatform } from './process-platform';
import { LocalLaunchWorkflow } from './step-functions';
import { StreamEventSourceMapping } from './stream-mapping';
import { type LocalAdapters, localHandlerOf } from './wiring';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SIMULATOR_CMD = join(REPO_ROOT, 'local/freqtrade-sim/bin/freqtrade');
export const DEMO_DIR = join(REPO_ROOT, 'local/demo');
const ACCOUNT = '000000000000';
/** Cognito names custom scopes `<resource server>/<scope>`; API Gateway's authorizer compares them so. */
const SCOPE_PREFIX = 'tradai/';

export interface LocalCloudOptions {
  /** Where DynamoDB, keys, alerts, logs and services persist; undefined runs in memory (`--memory`). */
  dataDir?: string;
  /** HTTP API port on 127.0.0.1 (0: any free port). */
  port?: number;
  stage?: string;
  region?: string;
  /** FREQTRADE_CMD for containers; the simulator unless a real Freqtrade is named. */
  freqtradeCmd?: string;
  /** Extra environment for every container (faster intervals in tests, scenarios). */
  containerEnvironment?: Record<string, string>;
  /** Extra environment for every function (STALE_AFTER_S, LAUNCH_TIMEOUT_S, STOP_GRACE_S...). */
  functionEnvironment?: Record<string, string>;
  /** Runs schedules this often instead of their rate (tests scale a 1-minute sweep down). */
  scheduleEveryMs?: number;
  /** The sweep's pass queue: tests make it duplicate or drop links, or scale its delays down. */
  passQueue?: Pick<LocalPassQueueOptions, 'duplicate' | 'drop' | 'msPerSecond'>;
  /** How long ECS waits between a task's exit and its replacement. */
  restartDelayMs?: (failures: number) => number;
  /** How long a stopped task gets between SIGTERM and SIGKILL; the task definition's StopTimeout by default. */
  stopTimeoutMs?: number;
  webhookUrl?: string;
  print?: (line: string) => void;
  colour?: boolean;
  /** Function logs (Powertools) at this level; WARN keeps the console readable. */
  logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
}

export interface LocalCloud {
  url: string;
  dynamoEndpoint: string;
  dynamo: LocalDynamo;
  tables: { sessions: string; metrics: string };
  store: DynamoSessionStore;
  platform: ProcessPlatform;
  alerts: LocalAlertPublisher;
  workflow: LocalLaunchWorkflow;
  /** The sweep's pass chain queue (SweepPassQueue in AWS). */
  passQueue: LocalPassQueue;
  issuer: LocalIssuer;
  /** A token as the Cognito authorizer expects it; bare scopes get the resource-server prefix. */
  token(scopes: readonly string[], subject?: string): Promise<string>;
  invoke(functionName: string, event: unknown): Promise<unknown>;
  /** Runs every schedule now (what EventBridge would do at the next tick). */
  runSchedules(): Promise<void>;
  /** Resolves when every stream mapping has handled all records committed so far. */
  streamsDrained(): Promise<void>;
  close(): Promise<void>;
}

/** CloudFormation references in function environments, as the local cloud resolves them. */
const localValueOf = (
  name: string,
  stage: string,
  region: string,
  local: Record<string, string> = {},
): string | undefined => {
  const known: Record<string, string> = {
    ...local,
    LAUNCH_STATE_MACHINE_ARN: `arn:aws:states:${region}:${ACCOUNT}:stateMachine:tradai-launch-session-${stage}`,
    ALERTS_TOPIC_ARN: `arn:aws:sns:${region}:${ACCOUNT}:tradai-alerts-${stage}`,
    ECS_CLUSTER: `tradai-${stage}`,
    ECS_TASK_DEFINITION: `tradai-strategy-${stage}`,
    ECS_SUBNETS: 'subnet-local',
    ECS_SECURITY_GROUPS: 'sg-local',
    // The sweep sends its links to the local queue (LocalAdapters.passQueue); the URL only names it.
    SWEEP_PASS_QUEUE_URL: `http://127.0.0.1/${ACCOUNT}/tradai-${stage}-sweep-passes`,
  };
  return known[name];
};

const environmentOf = (
  values: Record<string, unknown>,
  stage: string,
  region: string,
  log: (line: string) => void,
  local: Record<string, string> = {},
): Record<string, string> => {
  const environment: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      environment[name] = String(value);
      continue;
    }
    const resolved = localValueOf(name, stage, region, local);
    if (resolved !== undefined) environment[name] = resolved;
    else log(`local cloud: ${name} is a CloudFormation reference with no local value; left unset`);
  }
  return environment;
};

export const startLocalCloud = async (options: LocalCloudOptions = {}): Promise<LocalCloud> => {
  const stage = options.stage ?? 'local';
  const region = options.region ?? 'us-east-1';
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const dataDir = options.dataDir === undefined ? undefined : resolvePath(options.dataDir);
  if (dataDir !== undefined) await mkdir(dataDir, { recursive: true });

  // Where containers run (their Freqtrade user_data) and what stands in for S3 buckets they write.
  const scratch = dataDir ?? (await mkdtemp(join(tmpdir(), 'tradai-local-')));
  const localS3Root = join(scratch, 's3');
  const arcticdbDir = join(scratch, 'arcticdb');
  await mkdir(arcticdbDir, { recursive: true });
  // The registry agents read and POST /promote writes: a real MLflow when one is given (npm start --
  // --mlflow real), else a copy of the demo registry (kept in the data folder, so promotions persist).
  const registryUri =
    options.containerEnvironment?.MLFLOW_TRACKING_URI ?? `file://${join(scratch, 'registry.json')}`;
  if (registryUri === `file://${join(scratch, 'registry.json')}`) {
    await seedFileRegistry(join(scratch, 'registry.json'), join(DEMO_DIR, 'registry.json'));
  }

  const dynamo = await startLocalDynamo({
    ...(dataDir === undefined ? {} : { dataDir: join(dataDir, 'dynamodb') }),
    region,
    accountId: ACCOUNT,
  });
  // Every SDK client in this process (and each container) reaches the local DynamoDB the standard way.
  const awsEnvironment: Record<string, string> = {
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    // This machine runs Node 20; Lambda runs the nodejs22.x runtime, where the SDK's notice does not apply.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  Object.assign(process.env, awsEnvironment);

  const config = await loadServerlessConfig({ stage, region });
  // As ECS: a stopped task drains for its task definition's StopTimeout before the kill (a bot still trading).
  const stopTimeoutMs = options.stopTimeoutMs ?? taskStopTimeoutMsOf(config.resources.Resources);
  const admin = new DynamoDBClient({});
  for (const table of tablesOf(config).values()) await createTableFromResource(admin, table);

  const functions = functionsOf(config);
  const providerEnvironment = (config.provider.environment ?? {}) as Record<string, unknown>;
  const functionEnvironment: Record<string, string> = {
    POWERTOOLS_LOG_LEVEL: options.logLevel ?? 'WARN',
    POWERTOOLS_METRICS_DISABLED: 'true',
    ...environmentOf(providerEnvironment, stage, region, print),
  };
  for (const fn of functions)
    Object.assign(
      functionEnvironment,
      environmentOf(fn.environment, stage, region, print, { MLFLOW_TRACKING_URI: registryUri }),
    );
  // The launch step waits for the platform's own kill of a container that ignores its stop: the same figure.
  functionEnvironment.TASK_STOP_TIMEOUT_S = String(Math.ceil(stopTimeoutMs / 1000));
  Object.assign(functionEnvironment, options.functionEnvironment ?? {});
  Object.assign(process.env, functionEnvironment);

  const tables = {
    sessions: functionEnvironment.SESSIONS_TABLE ?? `tradai-workflow-state-${stage}`,
    metrics: functionEnvironment.METRICS_TABLE ?? `tradai-session-metrics-${stage}`,
  };
  const doc = createDocumentClient({});
  const clock = systemClock;
  const store = new DynamoSessionStore(doc, {
    sessionsTable: tables.sessions,
    metricsTable: tables.metrics,
    clock,
  });
  const alerts = new LocalAlertPublisher({
    ...(dataDir === undefined ? {} : { file: join(dataDir, 'alerts.jsonl') }),
    ...(options.webhookUrl === undefined ? {} : { webhookUrl: options.webhookUrl }),
    print,
    colour: options.colour ?? false,
  });

  // As in AWS (shared/runtime/workflow-alerts.ts): every alert the producers publish is also recorded.
  const alertHistory = new DynamoAlertHistory(doc, {
    alertsTable: functionEnvironment.ALERTS_TABLE ?? `tradai-alerts-${stage}`,
    sessionsTable: tables.sessions,
  });
  const recordedAlerts = new RecordingAlertPublisher({
    inner: alerts,
    history: alertHistory,
    clock,
    onRecordFailed: (alert, error) => print(`alerts: ${alert.kind} paged but not recorded: ${String(error)}`),
  });

  const localFunctions = new Map<string, LocalFunction>();
  const invoke = (name: string, event: unknown) => {
    const fn = localFunctions.get(name);
    if (fn === undefined) throw new Error(`no local function ${name}`);
    return invokeLocal(fn, event, region);
  };
  const eventBridgeTargets: { fn: FunctionDefinition; pattern: Record<string, unknown> }[] = [];
  let closing = false;
  const dispatchEvent = (event: EventBridgeEvent<string, unknown>) => {
    // Containers stopped by our own shutdown are not incidents: in AWS they would still be running.
    if (closing) return;
    for (const target of eventBridgeTargets) {
      if (!matchesPattern(target.pattern as never, event)) continue;
      invoke(target.fn.name, event).catch((error: unknown) =>
        print(`eventbridge: ${target.fn.name} failed on ${event['detail-type']}: ${String(error)}`),
      );
    }
  };

  const platform = new ProcessPlatform({
    cluster: `tradai-${stage}`,
    region,
    // tsx by its resolved URL: containers run in a folder of their own, outside the repository.
    command: [
      process.execPath,
      '--import',
      import.meta.resolve('tsx'),
      join(REPO_ROOT, 'container/agent/main.ts'),
    ],
    // A fresh folder per task (Fargate's ephemeral disk); the trade store outlives tasks (EFS in AWS).
    tasksDir: join(scratch, 'tasks'),
    tradeStoreDir: join(scratch, 'trade-store'),
    baseEnvironment: {
      ...awsEnvironment,
      DYNAMODB_TABLE: tables.sessions,
      METRICS_TABLE: tables.metrics,
      MLFLOW_TRACKING_URI: registryUri,
      S3_CONFIG_BUCKET: `file://${join(DEMO_DIR, 'configs')}`,
      // ArcticDB on LMDB locally (python/tradai/warmup.py), an S3 bucket in AWS.
      ARCTICDB_S3_URI: `lmdb://${arcticdbDir}`,
      EXCHANGE_SECRET_NAME: 'tradai/exchange/binance',
      SECRETS_FILE: join(DEMO_DIR, 'secrets.json'),
      RESULTS_S3_URI: `file://${join(localS3Root, 'tradai-results')}`,
      FREQTRADE_CMD: options.freqtradeCmd ?? process.env.FREQTRADE_CMD ?? SIMULATOR_CMD,
      HEALTH_PORT: '0',
      HEALTH_HOST: '127.0.0.1',
      ...(options.containerEnvironment ?? {}),
    },
    ...(dataDir === undefined
      ? {}
      : { registryFile: join(dataDir, 'ecs-services.json'), logDir: join(dataDir, 'logs') }),
    ...(options.restartDelayMs === undefined ? {} : { restartDelayMs: options.restartDelayMs }),
    stopTimeoutMs,
    // As ECS: a stop is asked for and returns; the task drains up to its StopTimeout, then its STOPPED event.
    awaitStop: false,
    onTaskStopped: (event: EcsTaskStateChange) => dispatchEvent(event as EventBridgeEvent<string, unknown>),
    log: print,
  });

  const stateMachineArn = localValueOf('LAUNCH_STATE_MACHINE_ARN', stage, region) as string;
  const machines = Object.values(
    (config.stepFunctions?.stateMachines ?? {}) as Record<string, { definition?: unknown }>,
  );
  const launchDefinition = machines[0]?.definition;
  if (launchDefinition === undefined) throw new Error('serverless.yml defines no state machine');
  // The ASL names functions by `#{<LogicalId>.Arn}`; serverless names `launchStep` `LaunchStepLambdaFunction`.
  const logicalIdOf = (name: string) => `${name.charAt(0).toUpperCase()}${name.slice(1)}LambdaFunction`;
  const workflow = new LocalLaunchWorkflow({
    definition: launchDefinition as StateMachineDefinition,
    stateMachineArn,
    functions: Object.fromEntries(
      functions.map((fn) => [
        logicalIdOf(fn.name),
        (payload: unknown) => invoke(fn.name, payload).then((r) => r ?? null),
      ]),
    ),
    log: print,
  });

  const issuer = await loadLocalIssuer(dataDir);
  const ledger = new DynamoDedupLedger(doc, { table: tables.sessions, clock });
  const idempotency = createDynamoIdempotency(
    new DynamoDBClient({}),
    functionEnvironment.IDEMPOTENCY_TABLE ?? `tradai-idempotency-${stage}`,
  );
  const audit = new DynamoAuditLog(doc, {
    auditTable: functionEnvironment.AUDIT_TABLE ?? `tradai-audit-${stage}`,
  });
  const timings = timingsFromEnv(process.env);

  const passQueue = new LocalPassQueue({
    ...(options.passQueue ?? {}),
    arn: `arn:aws:sqs:${region}:${ACCOUNT}:tradai-${stage}-sweep-passes`,
    region,
  });
  const adapters: LocalAdapters = {
    store,
    passQueue,
    chainLease: new DynamoChainLease(doc, { sessionsTable: tables.sessions }),
    audit,
    idempotency,
    ledger,
    alerts: recordedAlerts,
    alertHistory,
    budgets: new DynamoAccountBudgetStore(doc, {
      budgetsTable: functionEnvironment.ACCOUNT_BUDGETS_TABLE ?? `tradai-account-budgets-${stage}`,
      clock,
    }),
    fleet: new DynamoFleetReader(doc, { sessionsTable: tables.sessions }),
    platform,
    workflow,
    clock,
    timings,
    registry: /^https?:/.test(registryUri)
      ? new MlflowPromotionRegistry({ trackingUri: registryUri })
      : new FilePromotionRegistry(join(scratch, 'registry.json')),
    backtests: new DynamoBacktestEvidence(doc, { sessionsTable: tables.sessions }),
    promotionFloors: PromotionFloorsEnvSchema.parse(functionEnvironment.PROMOTION_FLOORS),
  };
  // Each function gets exactly its typed deps (local/cloud/wiring.ts); one serverless.yml adds is refused.
  for (const fn of functions) {
    const handler = localHandlerOf(fn.name, adapters);
    localFunctions.set(fn.name, { name: fn.name, timeoutS: fn.timeoutS, memoryMb: fn.memoryMb, handler });
  }

  // What `!GetAtt X.Arn` / `!Ref X` in event patterns mean here, by the resource's type.
  const resourceArns = new Map<string, string>();
  for (const [logicalId, resource] of Object.entries(config.resources.Resources)) {
    if (resource.Type === 'AWS::ECS::Cluster') resourceArns.set(logicalId, platform.clusterArn);
  }
  const routes: HttpRoute[] = [];
  const mappings: StreamEventSourceMapping[] = [];
  const schedules: { fn: FunctionDefinition; everyMs: number; expression: string }[] = [];
  for (const fn of functions) {
    for (const event of fn.events) {
      if (event.kind === 'httpApi') {
        routes.push({
          method: event.method,
          path: event.path,
          scopes: event.scopes,
          authorized: event.authorized,
          invoke: (apiEvent) => invoke(fn.name, apiEvent),
        });
      } else if (event.kind === 'stream') {
        const mapping = new StreamEventSourceMapping(
          dynamo.streams,
          {
            table: event.table,
            functionName: fn.name,
            batchSize: event.batchSize,
            batchWindowMs: event.batchWindowMs,
            filterPatterns: event.filterPatterns,
            reportBatchItemFailures: event.reportBatchItemFailures,
            bisectOnError: event.bisectOnError,
            maximumRetryAttempts: event.maximumRetryAttempts,
            ...(dataDir === undefined
              ? {}
              : {
                  checkpointFile: join(dataDir, 'streams', `${fn.name}.checkpoint`),
                  onFailureFile: join(dataDir, 'streams', `${fn.name}.failures.jsonl`),
                }),
          },
          (streamEvent) => invoke(fn.name, streamEvent),
          print,
        );
        mappings.push(mapping);
      } else if (event.kind === 'schedule') {
        // At its rate, as EventBridge: the sweep's sub-minute passes come from its queue (the sqs event).
        schedules.push({
          fn,
          everyMs: options.scheduleEveryMs ?? event.everyMs,
          expression: event.expression,
        });
      } else if (event.kind === 'sqs') {
        if (event.queue !== 'SweepPassQueue') throw new Error(`no local queue for ${event.queue}`);
        // The event source mapping: one message per event (batch size 1 in serverless.yml). A failed link
        // comes back after the visibility timeout, as in AWS; the console says it failed.
        passQueue.consume((sqsEvent) =>
          invoke(fn.name, sqsEvent).catch((error: unknown) => {
            if (!closing) print(`sqs: ${fn.name} failed on a pass link: ${String(error)}`);
            throw error;
          }),
        );
      } else {
        eventBridgeTargets.push({
          fn,
          pattern: localIntrinsics(event.pattern, resourceArns) as Record<string, unknown>,
        });
      }
    }
  }

  const scheduledEvent = (): EventBridgeEvent<'Scheduled Event', Record<string, never>> => ({
    version: '0',
    id: crypto.randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: ACCOUNT,
    time: new Date().toISOString(),
    region,
    resources: [`arn:aws:events:${region}:${ACCOUNT}:rule/tradai-${stage}-schedule`],
    detail: {},
  });
  const runSchedule = async (fn: FunctionDefinition) => {
    try {
      await invoke(fn.name, scheduledEvent());
    } catch (error) {
      print(`schedule: ${fn.name} failed: ${String(error)}`);
    }
  };
  const inFlight = new Set<string>();
  const tick = (schedule: (typeof schedules)[number]) => {
    // EventBridge does not wait for the previous run; locally one at a time keeps the console honest.
    if (inFlight.has(schedule.fn.name)) return;
    inFlight.add(schedule.fn.name);
    void runSchedule(schedule.fn).finally(() => inFlight.delete(schedule.fn.name));
  };
  const timers = schedules.map((schedule) => setInterval(() => tick(schedule), schedule.everyMs));

  for (const mapping of mappings) await mapping.start('TRIM_HORIZON');
  // Launches cut short by the last shutdown are failed, and their services get no task: read them first.
  const interrupted = await interruptedLaunches(store);
  const restored = await platform.restore(
    (runId) => !interrupted.some((session) => session.run_id === runId),
  );
  if (restored.length > 0) print(`ecs: restored ${restored.length} service(s): ${restored.join(', ')}`);
  await failInterruptedLaunches(store, interrupted, print);

  // The first tick at start, not a minute later: it seeds the sweep's pass chain (or finds it alive).
  for (const schedule of schedules) tick(schedule);

  const api = await startHttpApi({
    routes,
    issuer,
    port: options.port ?? 4000,
    log: print,
    site: await localConsoleSite(issuer),
  });

  return {
    url: api.url,
    dynamoEndpoint: dynamo.endpoint,
    dynamo,
    tables,
    store,
    platform,
    alerts,
    workflow,
    passQueue,
    issuer,
    token: (scopes, subject = 'local-operator') =>
      issuer.issue({
        subject,
        scopes: scopes.map((scope) => (scope.includes('/') ? scope : `${SCOPE_PREFIX}${scope}`)),
      }),
    invoke,
    runSchedules: async () => {
      for (const schedule of schedules) await runSchedule(schedule.fn);
    },
    streamsDrained: async () => {
      await Promise.all(mappings.map((mapping) => mapping.drained()));
    },
    close: async () => {
      closing = true;
      for (const timer of timers) clearInterval(timer);
      passQueue.close();
      await api.close();
      // Containers first: their last heartbeats and exits still flow through the streams and handlers.
      await platform.close();
      workflow.close();
      for (const mapping of mappings) await mapping.stop();
      admin.destroy();
      doc.destroy();
      await dynamo.close();
      if (dataDir === undefined) await rm(scratch, { recursive: true, force: true });
    },
  };
};

/** Replaces CloudFormation references the local cloud can answer; others are left as they are. */
const localIntrinsics = (value: unknown, arns: ReadonlyMap<string, string>): unknown => {
  if (Array.isArray(value)) return value.map((item) => localIntrinsics(item, arns));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  const [only] = entries;
  if (entries.length === 1 && only !== undefined) {
    const [key, argument] = only;
    const logicalId =
      key === 'Ref' && typeof argument === 'string'
        ? argument
        : key === 'Fn::GetAtt' && Array.isArray(argument) && argument[1] === 'Arn'
          ? String(argument[0])
          : undefined;
    const arn = logicalId === undefined ? undefined : arns.get(logicalId);
    if (arn !== undefined) return arn;
  }
  return Object.fromEntries(entries.map(([key, item]) => [key, localIntrinsics(item, arns)]));
};

/** Sessions whose launch workflow lived in the stopped process: pending or launching at start-up. */
const interruptedLaunches = async (store: DynamoSessionStore): Promise<Session[]> => {
  const found: Session[] = [];
  for (const status of ['pending', 'launching'] as const) {
    let cursor: string | undefined;
    do {
      const page = await store.listByStatus(status, cursor === undefined ? {} : { cursor });
      found.push(...page.items);
      cursor = page.cursor;
    } while (cursor !== undefined);
  }
  return found;
};

/**
 * Launch executions live in this process only: a launch cut short by a restart cannot resume, so its
 * session is failed with the reason (the stream processor then tears down and frees the lock) rather than
 * left launching, and its service was not restored. Running sessions are not touched: their services come
 * back and their agents re-claim.
 */
const failInterruptedLaunches = async (
  store: DynamoSessionStore,
  sessions: readonly Session[],
  print: (line: string) => void,
) => {
  for (const session of sessions) {
    const status = session.status;
    const result = await store.transition(session.run_id, 'failed', {
      from: [status],
      patch: {
        status_reason: 'the local cloud restarted while this session was launching; start it again',
        launch_token: null,
      },
    });
    if (result.ok)
      print(`local cloud: ${session.run_id} was ${status} when the cloud stopped: marked failed`);
  }
};

/** ECS's default when a container sets none. */
const ECS_DEFAULT_STOP_TIMEOUT_S = 30;

/** The longest StopTimeout of the stack's task definitions' containers, in milliseconds. */
export const taskStopTimeoutMsOf = (resources: ServerlessConfig['resources']['Resources']): number => {
  const timeouts = taskContainersOf(resources).map(
    (container) => container.StopTimeout ?? ECS_DEFAULT_STOP_TIMEOUT_S,
  );
  return Math.max(ECS_DEFAULT_STOP_TIMEOUT_S, ...timeouts) * 1000;
};
