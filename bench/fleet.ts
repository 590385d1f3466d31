/**
 * Fleet simulator (issue 14 item 3): N agents in this process make the SessionStore calls a real agent
 * makes (claim, a heartbeat every HEARTBEAT_INTERVAL_S with its history point, a control poll every
 * CONTROL_POLL_INTERVAL_S) against the embedded DynamoDB, with the real stream mapping, stream processor
 * and sweep on its schedule, over a simulated window on a manual clock. Every DynamoDB request is counted
 * by operation with the units DynamoDB would bill; functions by invocation and duration; pages by publish.
 * The counts are priced by bench/cost-model.ts with bench/prices.json and extrapolated to a month.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { historyEveryMsFor } from '../container/agent/heartbeat';
import { matchesAnyFilter } from '../local/cloud/event-pattern';
import { invokeLocal, type LambdaHandler, type LocalFunction } from '../local/cloud/lambda-runtime';
import { LocalPassQueue } from '../local/cloud/pass-queue';
import { StreamEventSourceMapping } from '../local/cloud/stream-mapping';
import { loadServerlessConfig, tablesOf } from '../local/serverless/config';
import { functionsOf } from '../local/serverless/functions';
import { DynamoChainLease } from '../shared/adapters/dynamodb/sweep-chain-lease';
import { ManualClock } from '../shared/domain/clock';
import {
  type Heartbeat,
  historyEntryOf,
  isSnapshotDue,
  type LastSnapshot,
  quietSnapshotEveryS,
  runIdOfBeatKey,
  snapshotEveryMsFor,
} from '../shared/domain/heartbeat';
import type { Alert, ContainerPlatform } from '../shared/domain/ports';
import type { RiskLimits } from '../shared/domain/risk';
import { HEARTBEAT_BUCKET_S } from '../shared/domain/sweep';
import { chainPolicyOf } from '../shared/domain/sweep-chain';
import { DynamoDedupLedger } from '../shared/runtime/events-dedup';
import { timingsFromEnv } from '../shared/runtime/workflow-deps';
import { startTestDynamo } from '../tests/support/dynamo';
import {
  type CurvePoint,
  chooseInterval,
  type FleetCost,
  type FleetUsage,
  type HeartbeatCostSplit,
  heartbeatCurve,
  type IndexShape,
  indexWriteUnits,
  monthlyCost,
  PricesSchema,
  SECONDS_PER_MONTH,
  type SqsRequests,
  sqsRequestsOf,
  storedSecretsOf,
} from './cost-model';
import pricesJson from './prices.json' with { type: 'json' };
import { percentile, round1 } from './stats';

const START = Date.parse('2026-03-02T00:00:00.000Z');
/** The intervals that decide detection and cost; `controlPollS: null` is the seed's agent (desired state read from heartbeat replies only). */
export interface DesignSettings {
  name: string;
  heartbeatS: number;
  controlPollS: number | null;
  staleAfterS: number;
  /** Undefined: the sweep's rate in serverless.yml. */
  sweepEveryS?: number;
  /** The suspects passes' chain (SWEEP_PASS_EVERY_S): a pass per SQS link; undefined: the full pass only. */
  sweepChain?: { passEveryS: number };
  /**
   * `cadence`: beats between snapshots, as the agent's reporter (isSnapshotDue); `every_heartbeat`: the
   * seed's agent, whose every heartbeat rewrites the session item.
   */
  snapshots: 'cadence' | 'every_heartbeat';
}
/** Ours at the defaults the agent (container/agent/env.ts) and the functions (serverless.yml) ship with. */
export const OUR_DESIGN: DesignSettings = {
  name: 'ours',
  heartbeatS: 15,
  controlPollS: 5,
  staleAfterS: 35,
  sweepChain: { passEveryS: 5 },
  snapshots: 'cadence',
};
/** The seed's: 30 s heartbeat, 180 s threshold, a 5-minute sweep, no control poll. */
export const SEED_DESIGN: DesignSettings = {
  name: 'seed',
  heartbeatS: 30,
  controlPollS: null,
  staleAfterS: 180,
  sweepEveryS: 300,
  snapshots: 'every_heartbeat',
};
/** The seed's per-strategy control-plane lines (§10): CloudWatch Logs, DynamoDB, Secrets, EventBridge, Lambda, SNS. */
export const SEED_COST_TABLE = [
  { line: 'CloudWatch Logs (~1 GB/month)', per_strategy_per_month: 0.5 },
  { line: 'DynamoDB (on-demand, ~1M reads)', per_strategy_per_month: 0.25 },
  { line: 'Secrets Manager (2 secrets)', per_strategy_per_month: 0.8 },
  { line: 'EventBridge (8,640 invocations)', per_strategy_per_month: 0.01 },
  { line: 'Lambda health (8,640 × 256 MB × 1 s)', per_strategy_per_month: 0.22 },
  { line: 'SNS (~100 alerts)', per_strategy_per_month: 0.01 },
];
export const SEED_TOTAL = 1.79;

const LIMITS: RiskLimits = {
  max_drawdown_pct: 10,
  max_daily_loss: 500,
  max_open_trades: 3,
  max_leverage: 2,
  max_monitor_failures: 3,
  breach_ladder: ['pause'],
  escalation_grace_s: 120,
};

type Incident = 'hang' | 'crash' | 'breach' | 'pause';

interface SimAgent {
  index: number;
  runId: string;
  strategyId: string;
  serviceArn: string;
  seq: number;
  nextHeartbeatAt: number;
  nextPollAt: number;
  silent: boolean;
  breached: boolean;
  pausedSeen: boolean;
  /** The agent has something to report now (a pause it confirmed, a stale session to recover). */
  snapshotNow: boolean;
  lastSnapshot?: LastSnapshot;
  lastHistoryAt?: number;
  incident?: { kind: Incident; at: number; detectedAt?: number };
}

interface OperationCount {
  requests: number;
  units: number;
  failed: number;
}

/**
 * Counts DynamoDB requests by operation with the units dynalite reports for the table
 * (ReturnConsumedCapacity TOTAL); a conditional write DynamoDB refuses is still billed, at least 1 WCU.
 */
const countRequests = (doc: { middlewareStack: { add: (...args: never[]) => void } }) => {
  const byOperation = new Map<string, OperationCount>();
  const middleware =
    (
      next: (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>,
      context: { commandName?: string },
    ) =>
    async (args: { input: Record<string, unknown> }) => {
      // Beats apart from the other UpdateItems: the cost curve scales them with the heartbeat interval.
      const key = (args.input.Key as { run_id?: unknown } | undefined)?.run_id;
      const isBeat = typeof key === 'string' && runIdOfBeatKey(key) !== undefined;
      const operation = `${(context.commandName ?? 'unknown').replace(/Command$/, '')}${isBeat ? ' (beat)' : ''}`;
      const entry = byOperation.get(operation) ?? { requests: 0, units: 0, failed: 0 };
      byOperation.set(operation, entry);
      entry.requests += 1;
      args.input.ReturnConsumedCapacity ??= 'TOTAL';
      try {
        const result = await next(args);
        const consumed = result.output.ConsumedCapacity as
          | { CapacityUnits?: number }
          | { CapacityUnits?: number }[]
          | undefined;
        const list = Array.isArray(consumed) ? consumed : consumed === undefined ? [] : [consumed];
        entry.units += list.reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
        return result;
      } catch (error) {
        entry.failed += 1;
        if (/Put|Update|Delete|Write/.test(operation)) entry.units += 1;
        throw error;
      }
    };
  (doc.middlewareStack.add as (m: unknown, o: unknown) => void)(middleware, {
    step: 'initialize',
    name: 'fleetRequestCounter',
  });
  return byOperation;
};

const isWrite = (operation: string) => /Put|Update|Delete|BatchWrite|TransactWrite/.test(operation);

export interface FleetRun {
  design: string;
  strategies: number;
  window_s: number;
  wall_s: number;
  settings: Record<string, number>;
  dynamodb: Record<string, OperationCount & { kind: 'read' | 'write' }>;
  index_write_units: Record<string, number>;
  /** The heartbeats' share of index_write_units (what the heartbeat interval multiplies), and their count. */
  index_write_units_of_heartbeats: Record<string, number>;
  heartbeat_writes: number;
  lambda: Record<string, { invocations: number; billed_ms: number; memory_mb: number; p99_ms: number }>;
  sns_publishes: number;
  /** The pass chain's queue: sends, and the event source mapping's receives (long polls) and deletes. */
  sqs: SqsRequests;
  /** Each custom metric series the window created (namespace/name/dimensions): billed all month. */
  metric_series: string[];
  alerts_by_kind: Record<string, number>;
  incidents: { kind: Incident; run_id: string; detected_after_s: number | null }[];
  /** lag_ms: wall time from a record's publication to the stream processor's invocation with it. */
  stream: { batches: number; records: number; lag_ms: { p50: number; p99: number; max: number } };
  agent_errors: number;
  usage: FleetUsage;
  cost: FleetCost;
}

const STEP_FUNCTIONS_TRANSITIONS_PER_LAUNCH = 8;

export const simulateFleet = async (options: {
  strategies: number;
  windowS: number;
  tickS: number;
  design?: DesignSettings;
}): Promise<FleetRun> => {
  const design = options.design ?? OUR_DESIGN;
  const HEARTBEAT_INTERVAL_S = design.heartbeatS;
  const historyEveryMs = historyEveryMsFor(HEARTBEAT_INTERVAL_S);
  const snapshotEveryMs = snapshotEveryMsFor(HEARTBEAT_INTERVAL_S);
  // Without a control poll the agent learns the desired state from heartbeat replies only.
  const CONTROL_POLL_INTERVAL_S = design.controlPollS ?? Number.POSITIVE_INFINITY;
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const wallStarted = performance.now();
  const prices = PricesSchema.parse(pricesJson);
  const dynamo = await startTestDynamo();
  const stage = dynamo.tables.sessions.replace('tradai-workflow-state-', '');
  const config = await loadServerlessConfig({ stage });
  const functions = functionsOf(config);
  const sessionsTable = tablesOf(config).get(dynamo.tables.sessions) ?? [...tablesOf(config).values()][0];
  const clock = new ManualClock(START);
  const counts = countRequests(dynamo.doc as never);
  const store = dynamo.newStore(clock);
  const ledger = new DynamoDedupLedger(dynamo.doc, { table: dynamo.tables.sessions, clock });
  const timings = { ...timingsFromEnv(process.env), staleAfterS: design.staleAfterS };

  // GSI write units from the stream's old and new images: dynalite bills the table only.
  const tableKeys = ['run_id'];
  const indexes: IndexShape[] = (
    ((sessionsTable as Record<string, unknown> | undefined)?.GlobalSecondaryIndexes ?? []) as {
      IndexName: string;
      KeySchema: { AttributeName: string }[];
      Projection: { ProjectionType: string; NonKeyAttributes?: string[] };
    }[]
  ).map((index) => ({
    name: index.IndexName,
    keys: index.KeySchema.map((key) => key.AttributeName),
    projection:
      index.Projection.ProjectionType === 'INCLUDE'
        ? (index.Projection.NonKeyAttributes ?? [])
        : (index.Projection.ProjectionType as 'ALL' | 'KEYS_ONLY'),
  }));
  const indexUnits: Record<string, number> = Object.fromEntries(indexes.map((index) => [index.name, 0]));
  // The same units for heartbeat writes only (the record's heartbeat_seq moved), so the heartbeat's own
  // index cost is told apart from the transitions' (an index that projects nothing a heartbeat writes: 0).
  const heartbeatIndexUnits: Record<string, number> = Object.fromEntries(
    indexes.map((index) => [index.name, 0]),
  );
  let heartbeatWrites = 0;
  const imageOf = (image: unknown) =>
    image === undefined ? undefined : unmarshall(image as Record<string, AttributeValue>);
  let indexCursor: string | undefined;
  const tallyIndexes = () => {
    const records = dynamo.dynamo.streams.read(dynamo.tables.sessions, indexCursor) as DynamoDBRecord[];
    for (const record of records) {
      indexCursor = record.dynamodb?.SequenceNumber ?? indexCursor;
      const previous = imageOf(record.dynamodb?.OldImage);
      const current = imageOf(record.dynamodb?.NewImage);
      const isHeartbeat =
        previous !== undefined &&
        current?.heartbeat_seq !== undefined &&
        current.heartbeat_seq !== previous.heartbeat_seq;
      if (isHeartbeat) heartbeatWrites += 1;
      for (const index of indexes) {
        const units = indexWriteUnits(previous, current, index, tableKeys);
        indexUnits[index.name] = (indexUnits[index.name] ?? 0) + units;
        if (isHeartbeat) heartbeatIndexUnits[index.name] = (heartbeatIndexUnits[index.name] ?? 0) + units;
      }
    }
  };

  const alerts: (Alert & { atMs: number })[] = [];
  const crashed = new Set<string>();
  const platform: ContainerPlatform = {
    startSession: async () => {
      throw new Error('the fleet simulator launches no containers');
    },
    stopSession: async () => undefined,
    containerGone: async (ref) => crashed.has(String((ref as { service_arn?: string }).service_arn)),
  };
  let emfBytes = 0;
  const metricSeries = new Set<string>();
  const metricsFor = (namespace: string, serviceName: string) => {
    const metrics = new Metrics({ namespace, serviceName });
    const publish = metrics.publishStoredMetrics.bind(metrics);
    metrics.publishStoredMetrics = () => {
      if (metrics.hasStoredMetrics()) {
        const emf = metrics.serializeMetrics() as unknown as Record<string, unknown> & {
          _aws: { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] };
        };
        emfBytes += Buffer.byteLength(JSON.stringify(emf));
        for (const directive of emf._aws.CloudWatchMetrics)
          for (const metric of directive.Metrics) {
            const dims = directive.Dimensions.flat().map((d) => `${d}=${String(emf[d])}`);
            metricSeries.add(`${namespace}/${metric.Name}/${dims.join(',')}`);
          }
      }
      return publish();
    };
    return metrics;
  };
  const deps = {
    store,
    ledger,
    platform,
    clock,
    timings,
    alerts: {
      publish: async (alert: Alert) => {
        alerts.push({ ...alert, atMs: clock.now() });
      },
    },
    workflow: { succeed: async () => undefined, fail: async () => undefined },
    launchWorkflow: { succeed: async () => undefined, fail: async () => undefined },
  };
  const lambdaStats = new Map<
    string,
    { invocations: number; billedMs: number; memoryMb: number; samples: number[] }
  >();
  const localFunctions = new Map<string, LocalFunction>();
  // The sweep's chain on the simulated clock: the lease on the counted client, the queue stepped each tick.
  const passQueue = new LocalPassQueue({ timers: false, clock });
  const chain =
    design.sweepChain === undefined
      ? undefined
      : {
          lease: new DynamoChainLease(dynamo.doc, { sessionsTable: dynamo.tables.sessions }),
          scheduler: passQueue,
          policy: chainPolicyOf(design.sweepChain.passEveryS),
        };
  const wanted = functions.filter((fn) =>
    fn.events.some((e) => e.kind === 'stream' || e.kind === 'schedule'),
  );
  for (const fn of wanted) {
    const module = (await import(fn.module)) as {
      createHandler: (d: Record<string, unknown>) => LambdaHandler;
    };
    const namespace = fn.name === 'sweep' ? 'TradAI/LiveTrading' : 'TradAI/ControlPlane';
    const handler = module.createHandler({
      ...deps,
      logger: new Logger({ serviceName: fn.name, logLevel: 'SILENT' }),
      metrics: metricsFor(namespace, fn.name),
      ...(fn.name === 'sweep' && chain !== undefined ? { chain } : {}),
    });
    localFunctions.set(fn.name, { name: fn.name, timeoutS: fn.timeoutS, memoryMb: fn.memoryMb, handler });
    lambdaStats.set(fn.name, { invocations: 0, billedMs: 0, memoryMb: fn.memoryMb, samples: [] });
  }
  let streamBatches = 0;
  let streamRecords = 0;
  // Wall time from a record's publication on the stream to the stream processor's invocation with it. Only
  // records some mapping's filter lets through are stamped: the others never reach a function to unstamp them.
  const publishedAt = new Map<string, number>();
  const streamLagsMs: number[] = [];
  const sessionStreamFilters = wanted.flatMap((fn) =>
    fn.events.flatMap((event) =>
      event.kind === 'stream' && event.table === dynamo.tables.sessions ? [event.filterPatterns] : [],
    ),
  );
  const unsubscribePublished = dynamo.dynamo.streams.subscribe(dynamo.tables.sessions, (record) => {
    const sequence = record.dynamodb?.SequenceNumber;
    if (sequence === undefined) return;
    if (sessionStreamFilters.some((patterns) => matchesAnyFilter(patterns, record)))
      publishedAt.set(sequence, performance.now());
  });
  const invoke = async (name: string, event: unknown) => {
    const fn = localFunctions.get(name);
    const stats = lambdaStats.get(name);
    if (fn === undefined || stats === undefined) throw new Error(`no function ${name}`);
    const began = performance.now();
    try {
      return await invokeLocal(fn, event);
    } finally {
      const ms = Math.ceil(performance.now() - began);
      stats.invocations += 1;
      stats.billedMs += ms;
      stats.samples.push(ms);
    }
  };

  const mappings: StreamEventSourceMapping[] = [];
  const schedules: { name: string; everyMs: number; nextAt: number }[] = [];
  for (const fn of wanted)
    for (const event of fn.events) {
      if (event.kind === 'stream') {
        mappings.push(
          new StreamEventSourceMapping(
            dynamo.dynamo.streams,
            {
              table: event.table,
              functionName: fn.name,
              batchSize: event.batchSize,
              // The window is wall time; the simulation drains every tick instead of waiting for it.
              batchWindowMs: 0,
              filterPatterns: event.filterPatterns,
              reportBatchItemFailures: event.reportBatchItemFailures,
              bisectOnError: event.bisectOnError,
              maximumRetryAttempts: 2,
            },
            (streamEvent: DynamoDBStreamEvent) => {
              streamBatches += 1;
              streamRecords += streamEvent.Records.length;
              const invokedAt = performance.now();
              for (const record of streamEvent.Records) {
                const sequence = record.dynamodb?.SequenceNumber ?? '';
                const at = publishedAt.get(sequence);
                if (at === undefined) continue;
                streamLagsMs.push(invokedAt - at);
                publishedAt.delete(sequence);
              }
              return invoke(fn.name, streamEvent);
            },
            () => undefined,
          ),
        );
      } else if (event.kind === 'schedule') {
        const everyMs = design.sweepEveryS === undefined ? event.everyMs : design.sweepEveryS * 1000;
        // The first tick seeds the chain, as the first minute after a deploy does.
        schedules.push({ name: fn.name, everyMs, nextAt: START + everyMs });
      } else if (event.kind === 'sqs' && chain !== undefined) {
        passQueue.consume((sqsEvent) => invoke(fn.name, sqsEvent));
      }
    }
  for (const mapping of mappings) await mapping.start('TRIM_HORIZON');

  const limited = async <T>(items: T[], run: (item: T) => Promise<void>, concurrency = 24) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(concurrency, items.length) }, async () => {
        while (next < items.length) await run(items[next++] as T);
      }),
    );
  };

  const heartbeatOf = (agent: SimAgent, pausedState: boolean): Heartbeat => {
    const at = new Date(clock.now()).toISOString();
    const snapshot = {
      equity: agent.breached ? 8_500 : 10_050,
      peak_equity: 10_100,
      drawdown_pct: agent.breached ? 15.8 : 0.5,
      daily_pnl: agent.breached ? -1_500 : 50,
      open_trades: 1,
      max_leverage: 1,
      exposure: 1_000,
      monitor_failures: 0,
    };
    return {
      run_id: agent.runId,
      agent_id: `agent-${agent.index}`,
      seq: agent.seq,
      at,
      metrics: {
        total_trades: 4,
        win_rate: 0.5,
        pnl_today: snapshot.daily_pnl,
        pnl_total: 120,
        open_trade_count: 1,
        stake_currency: 'USDT',
      },
      health: {
        cpu_percent: 10,
        memory_mb: 300,
        exchange_connected: true,
        last_trade_at: null,
        freqtrade_state: pausedState || agent.breached ? 'paused' : 'running',
      },
      risk: agent.breached
        ? {
            state: 'breached',
            snapshot,
            breaches: [{ rule: 'drawdown', limit: 10, observed: 15.8, message: 'drawdown 15.8% over 10%' }],
            response: { step: 'pause', at, exposure_at_step: 1_000 },
            breached_at: at,
          }
        : { state: 'ok', snapshot, breaches: [], response: null, breached_at: null },
      open_trades: [
        {
          trade_id: 1,
          pair: 'BTC/USDT',
          is_short: false,
          amount: 0.01,
          open_rate: 60_000,
          current_rate: 60_100,
          stake_amount: 100,
          leverage: 1,
          profit_abs: 1,
          profit_ratio: 0.0016,
          open_date: at,
        },
      ],
    } as Heartbeat;
  };

  // Launch: the workflow's writes, the agent's claim and first heartbeat, then running.
  const agents: SimAgent[] = Array.from({ length: options.strategies }, (_, index) => ({
    index,
    runId: '',
    strategyId: `fleet-${index}`,
    serviceArn: `arn:aws:ecs:us-east-1:000000000000:service/tradai/fleet-${index}`,
    seq: 0,
    nextHeartbeatAt: 0,
    nextPollAt: 0,
    silent: false,
    breached: false,
    pausedSeen: false,
    snapshotNow: false,
  }));
  let secretsManagerCalls = 0;
  await limited(agents, async (agent) => {
    const created = await store.createSession({
      run_id: `live-fleet-${agent.index.toString(36)}-run`,
      strategy_id: agent.strategyId,
      strategy_name: 'FleetStrategy',
      trading_mode: 'live',
      risk_limits: LIMITS,
      requested_by: 'fleet-bench',
      trace_id: `fleet-${agent.index}`,
    });
    if (!created.ok) throw new Error(created.message);
    agent.runId = created.session.run_id;
    await store.transition(agent.runId, 'launching', { from: ['pending'] });
    await store.update(
      agent.runId,
      {
        container: {
          platform: 'ecs',
          launch_type: 'service',
          cluster: 'tradai',
          service_arn: agent.serviceArn,
        },
      },
      ['launching'],
    );
    secretsManagerCalls += 1;
    const claim = await store.claimSession({
      run_id: agent.runId,
      agent_id: `agent-${agent.index}`,
      strategy_version: '1',
      exchange: 'binance',
      pairs: ['BTC/USDT'],
    });
    if (!claim.ok) throw new Error(claim.message);
    agent.seq = 1;
    const first = heartbeatOf(agent, false);
    const beat = await store.recordHeartbeat(first);
    if (!beat.ok) throw new Error(beat.message);
    agent.lastSnapshot = { atMs: clock.now(), heartbeat: first };
    await store.transition(agent.runId, 'running', {
      from: ['launching'],
      patch: { started_at: new Date(clock.now()).toISOString() },
    });
    // Spread over the interval, as agents started at different times would be.
    agent.nextHeartbeatAt = START + ((agent.index * 7919) % (HEARTBEAT_INTERVAL_S * 1000));
    agent.nextPollAt =
      design.controlPollS === null
        ? Number.POSITIVE_INFINITY
        : START + ((agent.index * 104_729) % (design.controlPollS * 1000));
  });
  await Promise.all(mappings.map((mapping) => mapping.drained()));
  tallyIndexes();
  // Launch traffic is once per strategy, not per window: the window's counts start after it.
  const sqsAtWindow = { sent: passQueue.sent.length, delivered: passQueue.delivered.length };
  // The chain runs from the window's start, as it has since the deploy's first minute.
  if (chain !== undefined) {
    await chain.lease.write(null, { generation: 0, seq: 0, advancedAtMs: clock.now() });
    await passQueue.schedule({ generation: 0, seq: 0 }, chain.policy.passEveryS);
  }
  for (const entry of counts.values()) Object.assign(entry, { requests: 0, units: 0, failed: 0 });
  for (const key of Object.keys(indexUnits)) indexUnits[key] = 0;
  for (const key of Object.keys(heartbeatIndexUnits)) heartbeatIndexUnits[key] = 0;
  heartbeatWrites = 0;
  for (const stats of lambdaStats.values())
    Object.assign(stats, { invocations: 0, billedMs: 0, samples: [] });
  streamBatches = 0;
  streamRecords = 0;
  streamLagsMs.length = 0;
  emfBytes = 0;
  alerts.length = 0;
  secretsManagerCalls = 0;

  // Four incidents, each on its own strategy, spread over the first half of the window.
  const incidentKinds: Incident[] = ['hang', 'crash', 'breach', 'pause'];
  const plan = incidentKinds.map((kind, i) => ({
    kind,
    agent: agents[(i * Math.max(1, Math.floor(options.strategies / 4))) % options.strategies] as SimAgent,
    atMs: START + Math.round(((i + 1) * options.windowS * 1000) / 10),
  }));
  let relaunches = 0;

  let agentErrors = 0;
  const agentTick = async (agent: SimAgent, now: number) => {
    if (agent.nextPollAt <= now) {
      agent.nextPollAt += CONTROL_POLL_INTERVAL_S * 1000;
      const fresh = await store.get(agent.runId);
      if (fresh?.desired_state === 'paused' && !agent.pausedSeen) {
        agent.pausedSeen = true;
        if (agent.incident?.kind === 'pause') agent.incident.detectedAt = now;
        // Freqtrade paused: the agent reports it at once, as a real one does after a control change.
        agent.nextHeartbeatAt = now;
        agent.snapshotNow = true;
      }
      // As the agent: a stale session is brought back by a snapshot (beats never reach the stream).
      if (fresh?.status === 'stale') {
        agent.nextHeartbeatAt = now;
        agent.snapshotNow = true;
      }
    }
    if (agent.nextHeartbeatAt <= now) {
      agent.nextHeartbeatAt += HEARTBEAT_INTERVAL_S * 1000;
      if (agent.nextHeartbeatAt <= now) agent.nextHeartbeatAt = now + HEARTBEAT_INTERVAL_S * 1000;
      // As the agent's reporter: the seq moves on only once a heartbeat is accepted.
      const heartbeat = heartbeatOf({ ...agent, seq: agent.seq + 1 }, agent.pausedSeen);
      const snapshot =
        design.snapshots === 'every_heartbeat' ||
        isSnapshotDue(agent.lastSnapshot, heartbeat, now, agent.snapshotNow, snapshotEveryMs);
      if (!snapshot) {
        const beat = await store.recordBeat({
          run_id: heartbeat.run_id,
          agent_id: heartbeat.agent_id,
          seq: heartbeat.seq,
          at: heartbeat.at,
        });
        if (beat.ok) agent.seq += 1;
        return;
      }
      const result = await store.recordHeartbeat(heartbeat);
      if (result.ok) {
        agent.seq += 1;
        agent.snapshotNow = false;
        agent.lastSnapshot = { atMs: now, heartbeat };
        if (result.desiredState === 'paused' && !agent.pausedSeen) {
          agent.pausedSeen = true;
          if (agent.incident?.kind === 'pause') agent.incident.detectedAt = now;
        }
        // As the reporter: history with the snapshots, a point at most every 30 s (container/agent/heartbeat.ts).
        if (agent.lastHistoryAt === undefined || now - agent.lastHistoryAt >= 0.9 * historyEveryMs) {
          agent.lastHistoryAt = now;
          await store.appendHistory([historyEntryOf(agent.strategyId, heartbeat)]);
        }
      }
    }
  };

  const endAt = START + options.windowS * 1000;
  while (clock.now() < endAt) {
    clock.advance(options.tickS * 1000);
    const now = clock.now();
    for (const step of plan) {
      if (step.agent.incident !== undefined || now < step.atMs) continue;
      step.agent.incident = { kind: step.kind, at: now };
      if (step.kind === 'hang') step.agent.silent = true;
      if (step.kind === 'crash') {
        step.agent.silent = true;
        crashed.add(step.agent.serviceArn);
        relaunches += 1;
      }
      if (step.kind === 'breach') step.agent.breached = true;
      if (step.kind === 'pause') await store.setDesiredState(step.agent.runId, 'paused', 'fleet bench');
    }
    const due = agents.filter((a) => !a.silent && (a.nextHeartbeatAt <= now || a.nextPollAt <= now));
    await limited(due, async (agent) => {
      try {
        await agentTick(agent, now);
      } catch {
        // A real agent logs a failed poll or heartbeat and tries again at its next interval.
        agentErrors += 1;
      }
    });
    for (const schedule of schedules) {
      if (now < schedule.nextAt) continue;
      schedule.nextAt += schedule.everyMs;
      await invoke(schedule.name, {
        'detail-type': 'Scheduled Event',
        source: 'aws.events',
        detail: {},
      }).catch(() => undefined);
    }
    await passQueue.deliverDue();
    await Promise.all(mappings.map((mapping) => mapping.drained()));
    tallyIndexes();
    for (const step of plan) {
      const incident = step.agent.incident;
      if (incident === undefined || incident.detectedAt !== undefined || incident.kind === 'pause') continue;
      const paged = alerts.find((a) => a.run_id === step.agent.runId && a.atMs >= incident.at);
      if (paged !== undefined) incident.detectedAt = paged.atMs;
    }
  }
  for (const mapping of mappings) await mapping.stop();
  unsubscribePublished();
  await dynamo.close();

  const dynamoOps = Object.fromEntries(
    [...counts.entries()]
      .filter(([, c]) => c.requests > 0)
      .map(([operation, c]) => [
        operation,
        { ...c, kind: isWrite(operation) ? ('write' as const) : ('read' as const) },
      ]),
  );
  const writeUnits =
    Object.values(dynamoOps).reduce((sum, c) => sum + (c.kind === 'write' ? c.units : 0), 0) +
    Object.values(indexUnits).reduce((sum, u) => sum + u, 0);
  const readUnits = Object.values(dynamoOps).reduce((sum, c) => sum + (c.kind === 'read' ? c.units : 0), 0);
  passQueue.close();
  const sqs = sqsRequestsOf({
    windowS: options.windowS,
    sent: passQueue.sent.length - sqsAtWindow.sent,
    delivered: passQueue.delivered.length - sqsAtWindow.delivered,
    queues: chain === undefined ? 0 : 1,
  });
  // Each pass is its own short invocation: no wait is billed.
  const lambda = [...lambdaStats.entries()].map(([name, s]) => ({
    name,
    invocations: s.invocations,
    billedMs: s.billedMs,
    memoryMb: s.memoryMb,
  }));
  // Lambda's own START/END/REPORT lines, about 350 bytes per invocation, plus the EMF documents.
  const platformLogBytes = lambda.reduce((sum, fn) => sum + fn.invocations * 350, 0);
  const usage: FleetUsage = {
    windowS: options.windowS,
    strategies: options.strategies,
    dynamodb: { writeUnits, readUnits },
    lambda,
    stepFunctionsTransitions: relaunches * STEP_FUNCTIONS_TRANSITIONS_PER_LAUNCH,
    snsPublishes: alerts.length,
    sqsRequests: sqs.send_message + sqs.receive_message + sqs.delete_message,
    secretsManagerCalls: secretsManagerCalls + relaunches,
    customMetrics: metricSeries.size,
    alarms: Object.values(config.resources.Resources).filter(
      (resource) => resource.Type === 'AWS::CloudWatch::Alarm',
    ).length,
    logBytes: emfBytes + platformLogBytes,
    secretsStored: storedSecretsOf(config.resources),
  };
  const alertsByKind: Record<string, number> = {};
  for (const alert of alerts) alertsByKind[alert.kind] = (alertsByKind[alert.kind] ?? 0) + 1;
  return {
    design: design.name,
    strategies: options.strategies,
    window_s: options.windowS,
    wall_s: Math.round((performance.now() - wallStarted) / 100) / 10,
    settings: {
      heartbeat_interval_s: HEARTBEAT_INTERVAL_S,
      control_poll_interval_s: design.controlPollS ?? 0,
      stale_after_s: timings.staleAfterS,
      sweep_every_s: (schedules[0]?.everyMs ?? 0) / 1000,
      sweep_pass_every_s: design.sweepChain?.passEveryS ?? 0,
      tick_s: options.tickS,
    },
    dynamodb: dynamoOps,
    index_write_units: indexUnits,
    index_write_units_of_heartbeats: heartbeatIndexUnits,
    heartbeat_writes: heartbeatWrites,
    lambda: Object.fromEntries(
      [...lambdaStats.entries()].map(([name, s]) => [
        name,
        {
          invocations: s.invocations,
          billed_ms: s.billedMs,
          memory_mb: s.memoryMb,
          p99_ms: Math.round(percentile(s.samples, 99)) || 0,
        },
      ]),
    ),
    sns_publishes: alerts.length,
    sqs,
    metric_series: [...metricSeries].sort(),
    alerts_by_kind: alertsByKind,
    agent_errors: agentErrors,
    incidents: plan.map((step) => ({
      kind: step.kind,
      run_id: step.agent.runId,
      detected_after_s:
        step.agent.incident?.detectedAt === undefined
          ? null
          : (step.agent.incident.detectedAt - step.agent.incident.at) / 1000,
    })),
    stream: {
      batches: streamBatches,
      records: streamRecords,
      lag_ms: {
        p50: round1(percentile(streamLagsMs, 50)),
        p99: round1(percentile(streamLagsMs, 99)),
        max: round1(Math.max(0, ...streamLagsMs)),
      },
    },
    usage,
    cost: monthlyCost(usage, prices),
  };
};

const money = (value: number) => `$${value.toFixed(value < 0.1 ? 4 : 2)}`;
const escapeHtml = (text: string) =>
  text.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c] ?? c);

/** One page: per-strategy cost by line for each fleet size next to the seed's table, and the incidents. */
export const fleetReportHtml = (runs: FleetRun[], comparison: ReturnType<typeof sideBySide> = []): string => {
  const lineNames = runs[0]?.cost.lines.map((line) => line.line) ?? [];
  const widest = Math.max(
    ...runs.flatMap((run) => run.cost.lines.map((l) => l.per_strategy_per_month)),
    0.0001,
  );
  const bar = (value: number) =>
    `<span class="bar" style="width:${Math.max(1, Math.round((value / widest) * 240))}px"></span>`;
  const header = runs.map((run) => `<th>N = ${run.strategies.toLocaleString('en')}</th>`).join('');
  const rows = lineNames
    .map(
      (name) =>
        `<tr><td>${escapeHtml(name)}</td>${runs
          .map((run) => {
            const line = run.cost.lines.find((l) => l.line === name);
            const value = line?.per_strategy_per_month ?? 0;
            const largest = run.cost.largest === name ? ' class="largest"' : '';
            return `<td${largest}>${bar(value)} ${money(value)}</td>`;
          })
          .join('')}</tr>`,
    )
    .join('\n');
  const totals = runs.map((run) => `<td><b>${money(run.cost.per_strategy_per_month)}</b></td>`).join('');
  const seedRows = SEED_COST_TABLE.map(
    (l) => `<tr><td>${escapeHtml(l.line)}</td><td>${money(l.per_strategy_per_month)}</td></tr>`,
  ).join('\n');
  const slowest = Math.max(1, ...runs.flatMap((run) => run.incidents.map((i) => i.detected_after_s ?? 0)));
  const latencyBars = runs
    .map(
      (run) =>
        `<tr><td>N = ${run.strategies.toLocaleString('en')}</td><td>${run.incidents
          .map(
            (i) =>
              `<div><span class="kind">${i.kind}</span><span class="bar" style="width:${Math.max(1, Math.round(((i.detected_after_s ?? slowest) / slowest) * 240))}px"></span> ${i.detected_after_s === null ? 'not seen' : `${i.detected_after_s} s`}</div>`,
          )
          .join('')}</td></tr>`,
    )
    .join('\n');
  const lag = runs
    .map(
      (run) =>
        `<tr><td>N = ${run.strategies.toLocaleString('en')}</td><td>${run.stream.records.toLocaleString('en')} records in ${run.stream.batches.toLocaleString('en')} batches</td><td>${run.stream.lag_ms.p50} ms</td><td>${run.stream.lag_ms.p99} ms</td><td>${run.stream.lag_ms.max} ms</td></tr>`,
    )
    .join('\n');
  const requests = runs
    .map(
      (run) =>
        `<h3>N = ${run.strategies}: ${run.window_s} simulated s in ${run.wall_s} s wall, extrapolated ×${Math.round(2_592_000 / run.window_s)} to 30 days</h3><pre>${escapeHtml(
          JSON.stringify(
            {
              dynamodb: run.dynamodb,
              index_write_units: run.index_write_units,
              index_write_units_per_heartbeat: indexUnitsPerHeartbeat(run),
              lambda: run.lambda,
              sns: run.sns_publishes,
              stream: run.stream,
            },
            null,
            1,
          ),
        )}</pre>`,
    )
    .join('\n');
  return `<!doctype html><html><head><meta charset="utf-8"><title>TradAI fleet cost</title><style>
body{font:14px system-ui,sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;margin:1em 0}
td,th{border-bottom:1px solid #ddd;padding:4px 10px;text-align:left}.bar{display:inline-block;height:10px;background:#4a7fd0}
.largest{background:#fff2cc}.kind{display:inline-block;width:4.5em}.late{background:#fcd}pre{background:#f6f6f6;padding:8px;font-size:12px;overflow:auto}</style></head><body>
<h1>Control plane cost per strategy per month</h1>
<p>Counted requests of a simulated window on a manual clock, extrapolated to 30 days, priced with bench/prices.json
(${escapeHtml(String(pricesJson.region))}, taken ${escapeHtml(String(pricesJson.taken_at))}). ECS Fargate is not included: it is the strategy's own compute.
Largest line highlighted. Goal: at most $1.00 per strategy per month at N = 10.</p>
<table><tr><th>Line</th>${header}</tr>${rows}<tr><td><b>Total</b></td>${totals}</tr></table>
<h2>The seed's table (§10, control-plane lines)</h2>
<table><tr><th>Line</th><th>Per strategy per month</th></tr>${seedRows}<tr><td><b>Total</b></td><td><b>${money(SEED_TOTAL)}</b></td></tr></table>
<h2>Detection latency: injection to page (hang, crash, breach) or to the agent seeing the pause, simulated seconds</h2>
<table>${latencyBars}</table>
<p>Over many runs in real time (wall clock), <code>npm run bench -- --only local-cloud</code> gives the distribution: hung agent → page and container exit → page, p50/p99.</p>
<h2>Stream processor lag (wall time from a record on the stream to the processor's invocation with it)</h2>
<table><tr><th>Fleet</th><th>Records</th><th>p50</th><th>p99</th><th>max</th></tr>${lag}</table>
<h2>Side by side with the seed's design (same clock, fleet and incidents; N = ${runs[0]?.strategies ?? 0})</h2>
<p>Seed: 30 s heartbeat, 180 s stale threshold, 5-minute sweep, no control poll. Ours: the shipped defaults.</p>
<table><tr><th>Figure</th><th>Seed</th><th>Ours</th><th>Seed ÷ ours</th></tr>${comparison
    .map(
      (row) =>
        `<tr><td>${escapeHtml(row.figure)}</td><td>${row.seed_s ?? '—'}</td><td>${row.ours_s ?? '—'}</td><td>${row.seed_over_ours ?? '—'}</td></tr>`,
    )
    .join('')}</table>
<h2>Counted requests</h2>${requests}
</body></html>
`;
};

/** Seed ÷ ours per incident (time to page or to paused) and per strategy-month, from two runs on one clock. */
export const sideBySide = (ours: FleetRun, seed: FleetRun) => {
  const detection = (run: FleetRun, kind: Incident) =>
    run.incidents.find((i) => i.kind === kind)?.detected_after_s ?? null;
  const ratio = (a: number | null, b: number | null) =>
    a === null || b === null || b === 0 ? null : Math.round((a / b) * 100) / 100;
  const labels: Record<Incident, string> = {
    hang: 'hung agent → page',
    crash: 'crash → page',
    pause: 'pause → paused',
    breach: 'breach → paused',
  };
  return (['hang', 'crash', 'pause', 'breach'] as const)
    .map((kind) => ({
      figure: labels[kind],
      seed_s: detection(seed, kind),
      ours_s: detection(ours, kind),
      seed_over_ours: ratio(detection(seed, kind), detection(ours, kind)),
    }))
    .concat([
      {
        figure: 'control plane $ per strategy per month',
        seed_s: seed.cost.per_strategy_per_month,
        ours_s: ours.cost.per_strategy_per_month,
        seed_over_ours: ratio(seed.cost.per_strategy_per_month, ours.cost.per_strategy_per_month),
      },
    ]);
};

/** Intervals the curve is drawn at; the target of issue 14 item 1. */
export const CURVE_INTERVALS_S = [5, 10, 15, 20, 30, 45, 60] as const;
export const PAGE_WITHIN_S = 45;
export const BUDGET_PER_STRATEGY = 1;

/** Each index's write units per heartbeat write: 0 for an index that projects nothing a heartbeat writes. */
export const indexUnitsPerHeartbeat = (run: FleetRun): Record<string, number> =>
  Object.fromEntries(
    Object.entries(run.index_write_units_of_heartbeats).map(([name, units]) => [
      name,
      run.heartbeat_writes === 0 ? 0 : Math.round((units / run.heartbeat_writes) * 1000) / 1000,
    ]),
  );

/** A run's bill split into what the heartbeat interval scales (see heartbeatCurve) and the rest. */
export const costSplitOf = (run: FleetRun): HeartbeatCostSplit => {
  const prices = PricesSchema.parse(pricesJson);
  const scale = SECONDS_PER_MONTH / run.window_s;
  const writePrice = prices.dynamodb.write_request_unit_per_million / 1e6;
  const indexUnits = run.index_write_units['heartbeat-index'] ?? 0;
  const unitsOf = (operation: string) => run.dynamodb[operation]?.units ?? 0;
  const beatUnits = unitsOf('UpdateItem (beat)');
  // A snapshot rewrites the session item and the indexes that project what it writes, appends history
  // and reaches the stream processor. Index writes of other writes (a transition moving the status
  // index's key) and the rest of the bill do not scale with the interval.
  const snapshotIndexUnits = Object.entries(run.index_write_units_of_heartbeats)
    .filter(([name]) => name !== 'heartbeat-index')
    .reduce((sum, [, units]) => sum + units, 0);
  const snapshotUnits = unitsOf('UpdateItem') + unitsOf('BatchWriteItem') + snapshotIndexUnits;
  const stream = run.usage.lambda.find((fn) => fn.name === 'sessionEvents');
  const streamPerMonth =
    stream === undefined
      ? 0
      : scale *
        ((stream.invocations * prices.lambda.request_per_million) / 1e6 +
          (stream.billedMs / 1000) * (stream.memoryMb / 1024) * prices.lambda.gb_second);
  const heartbeatIndexPerMonth = indexUnits * scale * writePrice;
  const perHeartbeatPerMonth = beatUnits * scale * writePrice;
  const perSnapshotPerMonth = snapshotUnits * scale * writePrice + streamPerMonth;
  return {
    heartbeatS: run.settings.heartbeat_interval_s ?? OUR_DESIGN.heartbeatS,
    strategies: run.strategies,
    perHeartbeatPerMonth,
    perSnapshotPerMonth,
    heartbeatIndexPerMonth,
    fixedPerMonth:
      run.cost.total_per_month - perHeartbeatPerMonth - perSnapshotPerMonth - heartbeatIndexPerMonth,
  };
};

export const curveOf = (run: FleetRun): CurvePoint[] =>
  heartbeatCurve(costSplitOf(run), {
    intervalsS: CURVE_INTERVALS_S,
    runStepS: HEARTBEAT_BUCKET_S,
    passEveryS: OUR_DESIGN.sweepChain?.passEveryS ?? 60,
    streamMarginS: 2,
    thresholdMarginS: 5,
    snapshotEveryS: quietSnapshotEveryS,
  });

const curveSvg = (curves: { strategies: number; points: CurvePoint[] }[]): string => {
  const width = 560;
  const height = 240;
  const maxCost = Math.max(...curves.flatMap((c) => c.points.map((p) => p.per_strategy_per_month)), 1.2);
  const maxH = Math.max(...CURVE_INTERVALS_S);
  const x = (h: number) => 40 + (h / maxH) * (width - 60);
  const y = (cost: number) => height - 30 - (cost / maxCost) * (height - 50);
  const colours = ['#4a7fd0', '#d0704a', '#4ab07f'];
  const lines = curves
    .map((curve, i) => {
      const path = curve.points.map((p) => `${x(p.heartbeat_s)},${y(p.per_strategy_per_month)}`).join(' ');
      return `<polyline fill="none" stroke="${colours[i % 3]}" stroke-width="2" points="${path}"/><text x="${width - 120}" y="${20 + 16 * i}" fill="${colours[i % 3]}">N = ${curve.strategies.toLocaleString('en')}</text>`;
    })
    .join('');
  const budget = `<line x1="40" x2="${width - 20}" y1="${y(BUDGET_PER_STRATEGY)}" y2="${y(BUDGET_PER_STRATEGY)}" stroke="#999" stroke-dasharray="4"/><text x="44" y="${y(BUDGET_PER_STRATEGY) - 4}" fill="#666">$1.00 budget</text>`;
  const ticks = CURVE_INTERVALS_S.map(
    (h) => `<text x="${x(h) - 6}" y="${height - 12}" font-size="11">${h}</text>`,
  ).join('');
  return `<svg width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">${budget}${lines}${ticks}<text x="${width / 2 - 60}" y="${height}" font-size="11">heartbeat interval (s)</text></svg>`;
};

export const curveHtml = (curves: { strategies: number; points: CurvePoint[] }[]): string => {
  const header = curves.map((c) => `<th>N = ${c.strategies.toLocaleString('en')}</th>`).join('');
  const rows = CURVE_INTERVALS_S.map((h) => {
    const point = curves[0]?.points.find((p) => p.heartbeat_s === h);
    const cells = curves
      .map((c) => money(c.points.find((p) => p.heartbeat_s === h)?.per_strategy_per_month ?? 0))
      .map((text) => `<td>${text}</td>`)
      .join('');
    const late = (point?.page_within_s ?? 0) > PAGE_WITHIN_S ? ' class="late"' : '';
    return `<tr><td>${h} s</td><td>${point?.fail_closed_s} s</td><td>${point?.stale_after_s} s</td><td>${point?.hb_step_s} s</td><td${late}>${point?.page_within_s} s</td>${cells}</tr>`;
  }).join('\n');
  return `<h2>Detection against cost: the heartbeat interval</h2>
<p>Each interval H with the settings it allows: fail-closed 2H, a threshold 5 s above it, hb_at's step at threshold − H (the longest that keeps a healthy agent out of the suspects), a hung agent paged within threshold + one pass + the stream. Cost from the runs above, split into what scales with 1/H (heartbeat writes, the indexes they rewrite, history, the stream processor), what scales with the heartbeat index's steps, and the rest. Red: slower than ${PAGE_WITHIN_S} s.</p>
${curveSvg(curves)}
<table><tr><th>Heartbeat</th><th>Fail-closed</th><th>Stale after</th><th>hb_at step</th><th>Paged within</th>${header}</tr>${rows}</table>`;
};

export const runFleetBench = async (options: {
  runs: { strategies: number; windowS: number; tickS: number }[];
  outDir?: string;
}): Promise<Record<string, unknown>> => {
  const runs: FleetRun[] = [];
  const report = (result: FleetRun) =>
    console.log(
      `fleet ${result.design} N=${result.strategies}: ${result.window_s} simulated s in ${result.wall_s} s, $${result.cost.per_strategy_per_month} per strategy per month (largest: ${result.cost.largest})`,
    );
  for (const run of options.runs) {
    const result = await simulateFleet(run);
    report(result);
    runs.push(result);
  }
  // The seed's parameters on the same clock, incidents and fleet as the first run (issue 14 item 4).
  const first = options.runs[0];
  const seedRun = first === undefined ? undefined : await simulateFleet({ ...first, design: SEED_DESIGN });
  if (seedRun !== undefined) report(seedRun);
  const comparison = seedRun === undefined || runs[0] === undefined ? [] : sideBySide(runs[0], seedRun);
  const outDir = options.outDir ?? join(import.meta.dirname, 'results');
  const curves = runs.map((run) => ({ strategies: run.strategies, points: curveOf(run) }));
  const chosen = curves.map((curve) => ({
    strategies: curve.strategies,
    ...chooseInterval(curve.points, PAGE_WITHIN_S, BUDGET_PER_STRATEGY),
  }));
  for (const choice of chosen)
    console.log(
      `curve N=${choice.strategies}: cheapest interval paging within ${PAGE_WITHIN_S} s: ${choice.point?.heartbeat_s ?? 'none'} s at $${choice.point?.per_strategy_per_month ?? '-'} per strategy per month (${choice.withinBudget ? 'within' : 'over'} $${BUDGET_PER_STRATEGY})`,
    );
  await writeFile(
    join(outDir, 'fleet.html'),
    fleetReportHtml(runs, comparison).replace(
      '<h2>Counted requests</h2>',
      `${curveHtml(curves)}\n<h2>Counted requests</h2>`,
    ),
  );
  return {
    cost_curve: { page_within_s: PAGE_WITHIN_S, budget_per_strategy: BUDGET_PER_STRATEGY, curves, chosen },
    note: 'simulated windows on a manual clock, extrapolated to a 30-day month; incidents are 4 per window, so incident-driven lines (Step Functions, Secrets Manager calls, SNS) are pessimistic; ECS Fargate (the strategy compute) excluded; Lambda durations are wall time on this shared machine',
    seed_per_strategy_per_month: SEED_TOTAL,
    goal_per_strategy_per_month_at_10: 1,
    per_strategy_per_month: Object.fromEntries(
      runs.map((run) => [`n_${run.strategies}`, run.cost.per_strategy_per_month]),
    ),
    largest_line: Object.fromEntries(runs.map((run) => [`n_${run.strategies}`, run.cost.largest])),
    seed_vs_ours: comparison,
    runs,
    seed_design_run: seedRun,
  };
};
