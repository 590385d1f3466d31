import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PublishCommand } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import type * as z from 'zod';
import {
  MlflowModelVersionSchema,
  MlflowRestRegistry,
  parseModelUri,
} from '../../container/agent/config/mlflow';
import {
  FreqtradeConfigSchema,
  StrategyTagsSchema,
} from '../../container/agent/config/strategy-config-loader';
import { parseAgentEnv } from '../../container/agent/env';
import { FreqtradeClient } from '../../container/agent/freqtrade/client';
import * as freqtrade from '../../container/agent/freqtrade/schemas';
import { createHandler as createControlHandler } from '../../functions/api/control-strategy/handler';
import { createHandler as createPromoteHandler } from '../../functions/api/promote-strategy/handler';
import { createHandler as createReadHandler } from '../../functions/api/read-strategies/handler';
import { createHandler as createStartHandler } from '../../functions/api/start-strategy/handler';
import { handleTaskStateChange } from '../../functions/ecs-events/handler';
import { createHandler as createLaunchStepHandler } from '../../functions/launch/step/handler';
import { imagesOf } from '../../functions/stream/session-events/handler';
import { FilePromotionRegistry } from '../../local/mlflow/file-promotion-registry';
import { DEMO_REGISTRY_FILE } from '../../local/mlflow/index';
import { DynamoBacktestEvidence } from '../../shared/adapters/dynamodb/backtest-evidence';
import { MlflowPromotionRegistry } from '../../shared/adapters/mlflow/promotion-registry';
import { ManualClock, TradaiError } from '../../shared/domain';
import type { AuditLog } from '../../shared/domain/audit';
import { PromotionFloorsSchema, PromotionTargetSchema } from '../../shared/domain/model-promotion';
import { parseEnv, TablesEnvSchema } from '../../shared/runtime/env';
import { InMemoryDedupLedger } from '../../shared/runtime/events-dedup';
import { awsAdapters, silentLogger } from '../adapters/support/workflow-fixtures';
import {
  ALL_SCOPES,
  type ApiTestEnv,
  type Invoke,
  invoker,
  LIVE_GROUPS,
  lambdaContext,
  READ_SCOPES,
  runningSession,
  startApiTest,
  WRITE_SCOPES,
} from '../functions/api/support';
import {
  deployBody,
  ecsEvent,
  envVars,
  historyQuery,
  jsonReply,
  launchStepInput,
  nastyString,
  pauseResumeBody,
  requestHeaders,
  restartBody,
  runIdParam,
  startBody,
  stopBody,
  strategyIdParam,
  streamRecord,
  validStrategyId,
} from './arbitraries';

/**
 * Fuzz targets: every HTTP route (body, path parameter, headers, token kind) on the real handlers over the
 * embedded DynamoDB, and every parser of external input. Shared by tests/functions/fuzz-at-scale.test.ts
 * (100 seeded cases per target) and bench/fuzz.ts (10,000).
 *
 * Per case: `accepted`, `refused` (a 4xx, or a typed TradaiError / a failed safeParse), or `fault` (a 5xx,
 * a stack trace in a reply, or any other exception). A refused case must change nothing: for the HTTP and
 * event targets, any record on the sessions table's stream (sessions, locks, leases), any audit record other
 * than a `refused` one, or any container-platform call during the case counts as a state change.
 */

export type Outcome = 'accepted' | 'refused' | 'fault';
interface CaseResult {
  outcome: Outcome;
  detail?: string;
  /** The case changed state (measured targets only): expected of some accepted cases. */
  changed?: boolean;
}

export interface FuzzTarget {
  name: string;
  arbitrary: fc.Arbitrary<unknown>;
  run(input: unknown): Promise<CaseResult> | CaseResult;
}

export interface FuzzReport {
  cases: number;
  accepted: number;
  refused: number;
  faults: number;
  /** HTTP targets: responses with a 5xx status. */
  status_5xx: number;
  state_changes_on_refused: number;
  /** Accepted cases that changed state: shows the change meter sees changes at all. */
  state_changes_on_accepted: number;
  cases_per_s: number;
  first_fault?: string;
  first_state_change?: string;
}

/** Counts what a case changed: session-table stream records, non-refusal audit records, platform calls. */
class ChangeMeter {
  private lastSequence: string | undefined;
  changes = 0;
  constructor(private readonly read?: (after?: string) => { dynamodb?: { SequenceNumber?: string } }[]) {
    this.mark();
  }
  mark() {
    this.changes = 0;
    const records = this.read?.(this.lastSequence) ?? [];
    const last = records.at(-1)?.dynamodb?.SequenceNumber;
    if (last !== undefined) this.lastSequence = last;
  }
  /** Changes since the last mark. */
  measure(): number {
    const records = this.read?.(this.lastSequence) ?? [];
    const last = records.at(-1)?.dynamodb?.SequenceNumber;
    if (last !== undefined) this.lastSequence = last;
    return this.changes + records.length;
  }
}

const typedRefusal = (error: unknown): CaseResult =>
  error instanceof TradaiError
    ? { outcome: 'refused' }
    : { outcome: 'fault', detail: error instanceof Error ? (error.stack ?? error.message) : String(error) };

const safeParseTarget = (name: string, schema: z.ZodType, arbitrary: fc.Arbitrary<unknown>): FuzzTarget => ({
  name,
  arbitrary,
  run: (input) => {
    try {
      return { outcome: schema.safeParse(input).success ? 'accepted' : 'refused' };
    } catch (error) {
      return typedRefusal(error);
    }
  },
});

// -- HTTP ------------------------------------------------------------------------------------------------

const TOKENS = {
  live: { scopes: ALL_SCOPES, groups: LIVE_GROUPS },
  write: { scopes: WRITE_SCOPES },
  read: { scopes: READ_SCOPES },
  none: { scopes: null },
} as const;
const tokenKind = fc.constantFrom<keyof typeof TOKENS>('live', 'live', 'live', 'write', 'read', 'none');

/** Ids with a running session, so commands reach real transitions. */
const RUNNING = ['fz-running-a', 'fz-running-b', 'fz-running-c'];
const strategyId = fc.oneof(fc.constantFrom(...RUNNING), validStrategyId, strategyIdParam);
/** A body as JSON text, or as raw text that is not the JSON of any object. */
const asText = (body: fc.Arbitrary<unknown>) =>
  fc.oneof(
    { weight: 9, arbitrary: body.map((value) => JSON.stringify(value) ?? 'null') },
    { weight: 1, arbitrary: nastyString },
  );

interface HttpCase {
  method: 'GET' | 'POST';
  route: string;
  params: Record<string, string>;
  query?: Record<string, string>;
  body?: string;
  headers: Record<string, string>;
  token: keyof typeof TOKENS;
}

export interface HttpFuzzEnv {
  env: ApiTestEnv;
  targets: FuzzTarget[];
  close(): Promise<void>;
}

export const startHttpFuzz = async (): Promise<HttpFuzzEnv> => {
  const env = await startApiTest();
  const meter = new ChangeMeter(
    (after) => env.dynamo.dynamo.streams.read(env.tables.sessions, after) as never,
  );
  const audit: AuditLog = env.deps.audit;
  env.deps.audit = {
    record: async (entry) => {
      // A refusal is recorded on purpose (who tried what); anything else on refused input is a change.
      if (entry.outcome !== 'refused') meter.changes += 1;
      return audit.record(entry);
    },
    listByStrategy: (id, page) => audit.listByStrategy(id, page),
  };
  for (const id of RUNNING) await runningSession(env, id);
  // Promotions write a copy of the demo registry; the gate is on (no backtests: Production is refused).
  const registryDir = await mkdtemp(join(tmpdir(), 'tradai-fuzz-registry-'));
  await copyFile(DEMO_REGISTRY_FILE, join(registryDir, 'registry.json'));
  const invokers: Record<'start' | 'control' | 'read' | 'promote', Invoke> = {
    start: invoker(createStartHandler(env.deps)),
    control: invoker(createControlHandler(env.deps)),
    read: invoker(createReadHandler(env.deps)),
    promote: invoker(
      createPromoteHandler({
        ...env.deps,
        registry: new FilePromotionRegistry(join(registryDir, 'registry.json')),
        backtests: new DynamoBacktestEvidence(env.dynamo.doc, { sessionsTable: env.tables.sessions }),
        promotionFloors: PromotionFloorsSchema.parse({ min_trades: 10 }),
      }),
    ),
  };

  const httpTarget = (
    name: string,
    handler: keyof typeof invokers,
    arbitrary: fc.Arbitrary<HttpCase>,
  ): FuzzTarget => ({
    name,
    arbitrary,
    run: async (input) => {
      const request = input as HttpCase;
      meter.mark();
      const response = await invokers[handler]({ ...request, ...TOKENS[request.token] });
      const changes = meter.measure();
      if (response.statusCode >= 500 || /\n\s+at /.test(response.raw)) {
        return {
          outcome: 'fault',
          detail: `${response.statusCode} ${response.raw.slice(0, 300)} for ${JSON.stringify(request).slice(0, 300)}`,
        };
      }
      if (response.statusCode >= 400) {
        return changes === 0
          ? { outcome: 'refused' }
          : {
              outcome: 'refused',
              detail: `state changed on ${response.statusCode} for ${JSON.stringify(request).slice(0, 300)}`,
            };
      }
      return { outcome: 'accepted', changed: changes > 0 };
    },
  });

  const post = (route: string, body: fc.Arbitrary<unknown>) =>
    fc.record({
      method: fc.constant('POST' as const),
      route: fc.constant(route),
      params: strategyId.map((id) => ({ strategyId: id })),
      body: asText(body),
      headers: requestHeaders,
      token: tokenKind,
    });
  // Reads first: accepted starts add sessions, and a listing over thousands of them measures the store.
  const targets = [
    httpTarget(
      'http GET (every read route)',
      'read',
      fc
        .record({
          method: fc.constant('GET' as const),
          route: fc.constantFrom(
            '/strategies',
            '/strategies/pnl',
            '/strategies/{strategyId}',
            '/strategies/{strategyId}/trades',
            '/strategies/{strategyId}/pnl/history',
            '/sessions/{runId}',
          ),
          params: fc.record({ strategyId, runId: runIdParam }),
          query: historyQuery,
          headers: requestHeaders,
          token: tokenKind,
        })
        .map((request) => ({
          ...request,
          // Only the templated parameters of the chosen route, as API Gateway sends them.
          params: Object.fromEntries(
            Object.entries(request.params).filter(([key]) => request.route.includes(`{${key}}`)),
          ),
        })),
    ),
    httpTarget(
      'http POST /strategies/{strategyId}/start',
      'start',
      post('/strategies/{strategyId}/start', startBody),
    ),
    // Deploy and restart roll whatever a start above left running (the start handler serves them).
    httpTarget(
      'http POST /strategies/{strategyId}/deploy|restart',
      'start',
      fc.oneof(
        post('/strategies/{strategyId}/deploy', deployBody),
        post('/strategies/{strategyId}/restart', restartBody),
      ),
    ),
    httpTarget(
      'http POST /strategies/{strategyId}/pause|resume',
      'control',
      fc.oneof(
        post('/strategies/{strategyId}/pause', pauseResumeBody),
        post('/strategies/{strategyId}/resume', pauseResumeBody),
      ),
    ),
    httpTarget(
      'http POST /strategies/{strategyId}/stop',
      'control',
      post('/strategies/{strategyId}/stop', stopBody),
    ),
    httpTarget(
      'http POST /strategies/{strategyId}/promote',
      'promote',
      post(
        '/strategies/{strategyId}/promote',
        fc.oneof(
          // Valid promotions of the demo strategy (accepted for Staging and an alias, gated for Production).
          {
            weight: 3,
            arbitrary: fc.record({
              version: fc.constantFrom('1', '2'),
              to: fc.constantFrom('Staging', 'champion', 'Production'),
              model: fc.constant('TradaiDemo'),
              reason: fc.constant('fuzz'),
            }),
          },
          fc.record(
            {
              version: fc.oneof(fc.constantFrom('1', '2', '9', '01', '', 2, -1, 1.5), nastyString),
              to: fc.oneof(
                fc.constantFrom('Production', 'staging', 'champion', 'latest', 'v2', ' '),
                nastyString,
              ),
              model: fc.constantFrom('TradaiDemo', 'MomentumStrategy', 'Nope', '../x'),
              reason: fc.oneof(fc.constant('fuzz'), nastyString),
            },
            { requiredKeys: ['version', 'to'] },
          ),
          jsonReply(['version', 'to', 'model', 'reason']),
        ),
      ),
    ),
  ];
  return {
    env,
    targets,
    close: async () => {
      await env.close();
      await rm(registryDir, { recursive: true, force: true });
    },
  };
};

// -- Events and parsers ----------------------------------------------------------------------------------

export interface EventFuzzEnv {
  targets: FuzzTarget[];
  close(): Promise<void>;
}

/** Stream records, ECS events and launch-step input on the embedded DynamoDB; env, config and replies. */
export const startEventFuzz = async (env: ApiTestEnv): Promise<EventFuzzEnv> => {
  const clock = new ManualClock('2026-03-02T10:05:00.000Z');
  const meter = new ChangeMeter(
    (after) => env.dynamo.dynamo.streams.read(env.tables.sessions, after) as never,
  );
  const adapters = awsAdapters();
  const sns = mockClient(adapters.sns);
  sns.on(PublishCommand).resolves({ MessageId: 'm' });
  const store = env.dynamo.newStore(clock);
  const ecsDeps = {
    store,
    alerts: adapters.alerts,
    ledger: new InMemoryDedupLedger(),
    clock,
    logger: silentLogger(),
    platform: { containerGone: async () => true },
  };
  const countingPlatform = {
    startSession: async () => {
      meter.changes += 1;
      throw new Error('fuzz: startSession called');
    },
    stopSession: async () => {
      meter.changes += 1;
    },
    containerGone: async () => true,
  };
  const launchStep = createLaunchStepHandler({
    store,
    platform: countingPlatform as never,
    workflow: { start: async () => ({ executionArn: 'arn:aws:states:::execution:fuzz' }) },
    clock,
    logger: silentLogger(),
    timings: { launchTimeoutS: 300, stopGraceS: 120, taskStopTimeoutS: 120 },
  });
  const withMeter =
    (run: (input: unknown) => Promise<'accepted' | 'refused'>) =>
    async (input: unknown): Promise<CaseResult> => {
      meter.mark();
      let result: CaseResult;
      try {
        result = { outcome: await run(input) };
      } catch (error) {
        result = typedRefusal(error);
      }
      const changes = meter.measure();
      if (result.outcome === 'refused' && changes > 0)
        return { outcome: 'refused', detail: `state changed for ${JSON.stringify(input)?.slice(0, 300)}` };
      return { ...result, changed: changes > 0 };
    };

  const agentEnvNames = [
    'RUN_ID',
    'STRATEGY_ID',
    'STRATEGY',
    'FREQTRADE_STRATEGY',
    'TRADING_MODE',
    'SESSIONS_TABLE',
    'CONFIG_BUCKET',
    'MLFLOW_TRACKING_URI',
    'EXCHANGE_SECRET_NAME',
    'HEARTBEAT_INTERVAL_S',
    'HEARTBEAT_FAIL_CLOSED_S',
    'FREQTRADE_API_URL',
    'FREQTRADE_USERNAME',
    'FREQTRADE_PASSWORD',
    'LAUNCH_TOKEN',
    'AWS_REGION',
  ];
  const targets: FuzzTarget[] = [
    {
      name: 'stream records (imagesOf)',
      arbitrary: streamRecord,
      run: (input) => {
        try {
          imagesOf(input as never);
          return { outcome: 'accepted' };
        } catch (error) {
          return typedRefusal(error);
        }
      },
    },
    {
      name: 'ECS task state change events',
      arbitrary: ecsEvent,
      // Fuzzed events name no session of ours: anything but `ignored` is a change on refused input.
      run: withMeter(async (input) => {
        const outcome = await handleTaskStateChange(ecsDeps, input);
        return outcome.outcome === 'ignored' ? 'refused' : 'accepted';
      }),
    },
    {
      name: 'launch-step input',
      arbitrary: launchStepInput,
      run: withMeter(async (input) => {
        await launchStep(input, lambdaContext());
        return 'accepted';
      }),
    },
    {
      name: 'agent env (container/agent/env.ts)',
      arbitrary: envVars(agentEnvNames),
      run: (input) => {
        try {
          return { outcome: parseAgentEnv(input as NodeJS.ProcessEnv).ok ? 'accepted' : 'refused' };
        } catch (error) {
          return { outcome: 'fault', detail: String(error) };
        }
      },
    },
    {
      name: 'function env (shared/runtime/env.ts)',
      arbitrary: envVars(['SESSIONS_TABLE', 'METRICS_TABLE']),
      run: (input) => {
        try {
          parseEnv(TablesEnvSchema, input as NodeJS.ProcessEnv);
          return { outcome: 'accepted' };
        } catch (error) {
          return typedRefusal(error);
        }
      },
    },
    safeParseTarget(
      'strategy config (FreqtradeConfigSchema)',
      FreqtradeConfigSchema,
      jsonReply([
        'strategy',
        'exchange',
        'stake_currency',
        'stake_amount',
        'max_open_trades',
        'dry_run',
        'timeframe',
      ]),
    ),
    safeParseTarget(
      'strategy tags (StrategyTagsSchema)',
      StrategyTagsSchema,
      jsonReply(['strategy', 'exchange', 'timeframe', 'config_file', 'freqai']),
    ),
    safeParseTarget(
      'MLflow model version reply',
      MlflowModelVersionSchema,
      jsonReply(['name', 'version', 'source', 'run_id', 'tags', 'aliases', 'current_stage']),
    ),
    {
      name: 'MLflow model URI (parseModelUri)',
      arbitrary: fc.oneof(
        nastyString,
        fc.constantFrom(
          'models:/Pascal/1',
          'models:/Pascal@champion',
          'models:/Pascal/Production',
          'models:/',
          'models://x',
        ),
      ),
      run: (input) => {
        try {
          return { outcome: parseModelUri(input as string) === undefined ? 'refused' : 'accepted' };
        } catch (error) {
          return typedRefusal(error);
        }
      },
    },
    ...Object.entries(freqtrade as Record<string, unknown>)
      .filter(
        (entry): entry is [string, z.ZodType] =>
          typeof (entry[1] as { safeParse?: unknown }).safeParse === 'function',
      )
      .map(([name, schema]) =>
        safeParseTarget(
          `Freqtrade reply ${name}`,
          schema,
          jsonReply([
            'status',
            'result',
            'access_token',
            'refresh_token',
            'trade_id',
            'pair',
            'amount',
            'open_rate',
            'profit_abs',
            'total',
            'currencies',
            'current',
            'max',
            'error',
            'state',
            'bot_start_ts',
          ]),
        ),
      ),
  ];
  // Freqtrade and MLflow replies over a real socket: the clients' own HTTP handling, not only the schemas.
  let reply = { status: 200, body: '' };
  const replyServer = createServer((_request, response) => {
    response.writeHead(reply.status, { 'content-type': 'application/json' });
    response.end(reply.body);
  });
  await new Promise<void>((listening) => replyServer.listen(0, '127.0.0.1', listening));
  const replyUrl = `http://127.0.0.1:${(replyServer.address() as AddressInfo).port}`;
  const replyCase = (fields: readonly string[]) =>
    fc.record({
      status: fc.constantFrom(200, 200, 200, 200, 400, 401, 404, 500, 502, 503),
      body: fc.oneof(
        { weight: 8, arbitrary: jsonReply(fields).map((value) => JSON.stringify(value) ?? '') },
        { weight: 2, arbitrary: nastyString },
      ),
    });
  const freqtradeClient = new FreqtradeClient(
    { url: replyUrl, username: 'fuzz', password: 'fuzz', auth: 'basic' },
    { timeoutMs: 2000, sleep: async () => undefined },
  );
  const FREQTRADE_CALLS = [
    'ping',
    'showConfig',
    'health',
    'profit',
    'status',
    'balance',
    'count',
    'daily',
  ] as const;
  const mlflow = new MlflowRestRegistry({ trackingUri: replyUrl, timeoutMs: 2000 });
  const promotion = new MlflowPromotionRegistry({ trackingUri: replyUrl, timeoutMs: 2000 });
  targets.push(
    {
      name: 'Freqtrade REST replies (FreqtradeClient over a socket)',
      arbitrary: fc.record({
        call: fc.constantFrom(...FREQTRADE_CALLS),
        reply: replyCase([
          'status',
          'trade_id',
          'pair',
          'amount',
          'open_rate',
          'profit_abs',
          'total',
          'currencies',
          'version',
          'state',
          'current',
          'max',
          'data',
          'error',
        ]),
      }),
      run: async (input) => {
        const { call, reply: next } = input as {
          call: (typeof FREQTRADE_CALLS)[number];
          reply: typeof reply;
        };
        reply = next;
        try {
          const result = await freqtradeClient[call]();
          return { outcome: result.ok ? 'accepted' : 'refused' };
        } catch (error) {
          return {
            outcome: 'fault',
            detail: error instanceof Error ? (error.stack ?? error.message) : String(error),
          };
        }
      },
    },
    {
      name: 'MLflow REST replies (MlflowRestRegistry over a socket)',
      arbitrary: fc.record({
        ref: fc.constantFrom(
          { name: 'Pascal', alias: 'champion' },
          { name: 'Pascal', version: '3' },
          { name: 'Pascal', stage: 'Production' },
          { name: 'Pascal', latest: true as const },
        ),
        reply: replyCase([
          'model_version',
          'model_versions',
          'registered_model',
          'error_code',
          'message',
        ]).chain((base) =>
          fc.oneof(
            fc.constant(base),
            // A right reply, and an almost-right one.
            fc
              .record(
                {
                  name: fc.constant('Pascal'),
                  version: fc.constantFrom('1', '3'),
                  source: fc.constantFrom('s3://bucket/model', 'file:///tmp/model', 'models:/x'),
                  run_id: fc.stringMatching(/^[0-9a-f]{32}$/),
                  tags: fc.constantFrom([], [{ key: 'strategy', value: 'PascalStrategy' }]),
                },
                { requiredKeys: ['name', 'version'] },
              )
              .map((version) => ({
                status: 200,
                body: JSON.stringify({ model_version: version, model_versions: [version] }),
              })),
            jsonReply(['name', 'version', 'source', 'run_id', 'tags', 'aliases', 'current_stage']).map(
              (version) => ({
                status: 200,
                body: JSON.stringify({ model_version: version, model_versions: [version] }) ?? '',
              }),
            ),
          ),
        ),
      }),
      run: async (input) => {
        const { ref, reply: next } = input as { ref: never; reply: typeof reply };
        reply = next;
        try {
          await mlflow.getModelVersion(ref);
          return { outcome: 'accepted' };
        } catch (error) {
          return typedRefusal(error);
        }
      },
    },
  );
  targets.push({
    name: 'MLflow REST replies to a promotion (MlflowPromotionRegistry over a socket)',
    arbitrary: fc.record({
      op: fc.constantFrom('get', 'Production', 'champion'),
      reply: replyCase([
        'model_version',
        'name',
        'version',
        'current_stage',
        'aliases',
        'tags',
        'error_code',
      ]),
    }),
    run: async (input) => {
      const { op, reply: next } = input as { op: string; reply: typeof reply };
      reply = next;
      try {
        if (op === 'get') await promotion.getVersion('Pascal', '3');
        else await promotion.promote('Pascal', '3', PromotionTargetSchema.parse(op));
        return { outcome: 'accepted' };
      } catch (error) {
        return typedRefusal(error);
      }
    },
  });
  return {
    targets,
    close: async () => {
      sns.restore();
      await new Promise<void>((closed) => replyServer.close(() => closed()));
    },
  };
};

/** Runs one target over `numRuns` seeded cases. */
export const runFuzzTarget = async (
  target: FuzzTarget,
  options: { numRuns: number; seed: number },
): Promise<FuzzReport> => {
  const inputs = fc.sample(target.arbitrary, { numRuns: options.numRuns, seed: options.seed });
  const report: FuzzReport = {
    cases: 0,
    accepted: 0,
    refused: 0,
    faults: 0,
    status_5xx: 0,
    state_changes_on_refused: 0,
    state_changes_on_accepted: 0,
    cases_per_s: 0,
  };
  const started = performance.now();
  for (const input of inputs) {
    const result = await target.run(input);
    report.cases += 1;
    report[result.outcome === 'fault' ? 'faults' : result.outcome] += 1;
    if (result.outcome === 'fault') {
      if (/^5\d\d /.test(result.detail ?? '')) report.status_5xx += 1;
      report.first_fault ??= result.detail;
    }
    if (result.outcome === 'accepted' && result.changed === true) report.state_changes_on_accepted += 1;
    if (result.outcome === 'refused' && result.detail !== undefined) {
      report.state_changes_on_refused += 1;
      report.first_state_change ??= result.detail;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  report.cases_per_s = Math.round(report.cases / Math.max(seconds, 1e-6));
  return report;
};
