/**
 * Throughput (issue 14 item 5): N strategies heartbeat at the default interval, in real time, against the
 * embedded DynamoDB; the real stream mapping (serverless.yml's batch size, window and filter) feeds the
 * real stream processor. Lag: from a heartbeat's request to the end of the invocation that handled its
 * record (an upper bound: the commit is within the request). Also the gateway's per-write overhead:
 * the same heartbeat-sized writes, one at a time, through the gateway and to plain dynalite.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { invokeLocal, type LambdaHandler } from '../local/cloud/lambda-runtime';
import { StreamEventSourceMapping } from '../local/cloud/stream-mapping';
import { loadServerlessConfig } from '../local/serverless/config';
import { functionsOf } from '../local/serverless/functions';
import { systemClock } from '../shared/domain/clock';
import type { ContainerPlatform } from '../shared/domain/ports';
import { InMemoryDedupLedger } from '../shared/runtime/events-dedup';
import { healthySnapshot, heartbeatOf, newSessionInput } from '../tests/adapters/support/workflow-fixtures';
import { startTestDynamo } from '../tests/support/dynamo';
import { startPlainDynalite } from './plain-dynalite';
import { percentile, round1 } from './stats';

const noopPlatform: ContainerPlatform = {
  startSession: async () => {
    throw new Error('no launches in the stream bench');
  },
  stopSession: async () => undefined,
  containerGone: async () => true,
};

const limited = async <T>(items: readonly T[], work: (item: T) => Promise<void>, concurrency = 16) => {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
};

/** The same session-sized put and heartbeat-sized update, one request at a time, through each endpoint. */
const writeLatencies = async (send: (n: number) => Promise<void>, writes: number) => {
  const samples: number[] = [];
  for (let n = 0; n < writes; n += 1) {
    const started = performance.now();
    await send(n);
    samples.push(performance.now() - started);
  }
  return { p50_ms: round1(percentile(samples, 50)), p99_ms: round1(percentile(samples, 99)) };
};

export const measureGatewayOverhead = async (writes: number) => {
  const gateway = await startTestDynamo();
  const plain = await startPlainDynalite();
  try {
    const session = { ...newSessionInput('dry-run'), item_type: 'session', status: 'running' };
    const heartbeat = heartbeatOf({ run_id: 'x' }, 1, new Date().toISOString());
    const workload = (doc: typeof gateway.doc, table: string) => async (n: number) => {
      const runId = `dry-run-overhead-${n % 50}`;
      if (n < 50) {
        await doc.send(
          new PutCommand({ TableName: table, Item: { ...session, run_id: runId, heartbeat_seq: 0 } }),
        );
        return;
      }
      await doc.send(
        new UpdateCommand({
          TableName: table,
          Key: { run_id: runId },
          UpdateExpression: 'SET heartbeat_seq = heartbeat_seq + :one, #m = :m, #h = :h, risk_snapshot = :r',
          ExpressionAttributeNames: { '#m': 'metrics', '#h': 'health' },
          ExpressionAttributeValues: {
            ':one': 1,
            ':m': heartbeat.metrics,
            ':h': heartbeat.health,
            ':r': healthySnapshot,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
    };
    const viaGateway = await writeLatencies(workload(gateway.doc, gateway.tables.sessions), writes);
    const viaPlain = await writeLatencies(workload(plain.doc, plain.tables.sessions), writes);
    return {
      writes,
      gateway: viaGateway,
      plain_dynalite: viaPlain,
      overhead_p50_ms: round1(viaGateway.p50_ms - viaPlain.p50_ms),
      gateway_over_plain_p50: viaPlain.p50_ms === 0 ? null : round1(viaGateway.p50_ms / viaPlain.p50_ms),
    };
  } finally {
    await gateway.close();
    await plain.close();
  }
};

export async function runStreamBench(options: {
  strategies: number;
  heartbeatS: number;
  durationS: number;
  overheadWrites: number;
}): Promise<Record<string, unknown>> {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const dynamo = await startTestDynamo();
  const stage = dynamo.tables.sessions.replace('tradai-workflow-state-', '');
  const fn = functionsOf(await loadServerlessConfig({ stage })).find((f) => f.name === 'sessionEvents');
  const event = fn?.events.find((e) => e.kind === 'stream');
  if (fn === undefined || event === undefined || event.kind !== 'stream')
    throw new Error('serverless.yml has no sessionEvents stream');
  try {
    const store = dynamo.newStore(systemClock);
    const module = (await import(fn.module)) as {
      createHandler: (d: Record<string, unknown>) => LambdaHandler;
    };
    const handler = module.createHandler({
      store,
      ledger: new InMemoryDedupLedger(),
      platform: noopPlatform,
      alerts: { publish: async () => undefined },
      workflow: { succeed: async () => undefined, fail: async () => undefined },
      launchWorkflow: { succeed: async () => undefined, fail: async () => undefined },
      clock: systemClock,
      logger: new Logger({ serviceName: 'stream-bench', logLevel: 'SILENT' }),
      metrics: new Metrics({ namespace: 'TradAI/ControlPlane', serviceName: 'stream-bench' }),
    });

    // N running sessions, each claimed by its agent, before the clock starts.
    const setupStarted = performance.now();
    const sessions = Array.from({ length: options.strategies }, (_, i) => ({ index: i, runId: '', seq: 1 }));
    await limited(sessions, async (s) => {
      const created = await store.createSession(newSessionInput('dry-run'));
      if (!created.ok) throw new Error(created.message);
      s.runId = created.session.run_id;
      await store.transition(s.runId, 'launching', { from: ['pending'] });
      await store.claimSession({
        run_id: s.runId,
        agent_id: 'agent-1',
        strategy_version: '1',
        exchange: 'binance',
        pairs: [],
      });
      await store.recordHeartbeat(heartbeatOf({ run_id: s.runId }, 1, new Date().toISOString()));
      await store.transition(s.runId, 'running', { from: ['launching'] });
    });
    const setupS = (performance.now() - setupStarted) / 1000;

    const sentAt = new Map<string, number>();
    const lags: number[] = [];
    let batches = 0;
    let records = 0;
    const mapping = new StreamEventSourceMapping(
      dynamo.dynamo.streams,
      {
        table: event.table,
        functionName: fn.name,
        batchSize: event.batchSize,
        batchWindowMs: event.batchWindowMs,
        filterPatterns: event.filterPatterns,
        reportBatchItemFailures: event.reportBatchItemFailures,
        bisectOnError: event.bisectOnError,
        maximumRetryAttempts: event.maximumRetryAttempts,
      },
      async (streamEvent: DynamoDBStreamEvent) => {
        const result = await invokeLocal(
          { name: fn.name, timeoutS: fn.timeoutS, memoryMb: fn.memoryMb, handler },
          streamEvent,
        );
        const done = performance.now();
        batches += 1;
        for (const record of streamEvent.Records) {
          records += 1;
          const image = record.dynamodb?.NewImage;
          const key = `${image?.run_id?.S}:${image?.heartbeat_seq?.N}`;
          const sent = sentAt.get(key);
          if (sent !== undefined) lags.push(done - sent);
        }
        return result;
      },
      () => undefined,
    );
    await mapping.start('LATEST');

    // Each session heartbeats every heartbeatS, the fleet spread evenly over the interval.
    const started = performance.now();
    const intervalMs = options.heartbeatS * 1000;
    const nextAt = sessions.map((s) => started + (s.index * intervalMs) / options.strategies);
    let sent = 0;
    let refused = 0;
    const inFlight = new Set<Promise<void>>();
    while (performance.now() - started < options.durationS * 1000) {
      const now = performance.now();
      for (const s of sessions) {
        if ((nextAt[s.index] ?? 0) > now) continue;
        nextAt[s.index] = (nextAt[s.index] ?? 0) + intervalMs;
        s.seq += 1;
        const key = `${s.runId}:${s.seq}`;
        sentAt.set(key, performance.now());
        const write = store
          .recordHeartbeat(heartbeatOf({ run_id: s.runId }, s.seq, new Date().toISOString()))
          .then((result) => {
            sent += 1;
            if (!result.ok) refused += 1;
          })
          .finally(() => inFlight.delete(write));
        inFlight.add(write);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await Promise.all(inFlight);
    const drainStarted = performance.now();
    await mapping.drained();
    const drainMs = performance.now() - drainStarted;
    await mapping.stop();
    const elapsedS = (performance.now() - started) / 1000;

    const overhead = await measureGatewayOverhead(options.overheadWrites);
    return {
      strategies: options.strategies,
      heartbeat_interval_s: options.heartbeatS,
      duration_s: options.durationS,
      setup_s: round1(setupS),
      heartbeats_sent: sent,
      heartbeats_refused: refused,
      offered_per_s: round1(options.strategies / options.heartbeatS),
      achieved_per_s: round1(sent / elapsedS),
      batches,
      records,
      records_per_batch: round1(records / Math.max(1, batches)),
      lag_ms: {
        p50: round1(percentile(lags, 50)),
        p99: round1(percentile(lags, 99)),
        max: round1(Math.max(0, ...lags)),
      },
      drain_after_last_write_ms: Math.round(drainMs),
      keeps_up:
        sent >= 0.95 * ((options.strategies / options.heartbeatS) * options.durationS) && drainMs < 5_000,
      gateway_overhead: overhead,
    };
  } finally {
    await dynamo.close();
  }
}
