/**
 * The health sweep over many sessions in the embedded DynamoDB: how much one pass reads and how long it
 * takes through the heartbeat index (the suspects), next to the status index (every running session) and a
 * full Scan. Seeds with BatchWriteItem directly (the store's conditional writes would take minutes).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { BatchWriteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { runSweep } from '../functions/sweep/handler';
import { ManualClock } from '../shared/domain/clock';
import { beatKeyOf } from '../shared/domain/heartbeat';
import type { ContainerPlatform } from '../shared/domain/ports';
import { buildSession, NewSessionSchema, type Session, type SessionStatus } from '../shared/domain/session';
import { LOCK_SCOPE, lockKeyOf } from '../shared/domain/session-store';
import { heartbeatBucketOf, heartbeatShardOf, SWEPT_STATUSES, suspectCutoffOf } from '../shared/domain/sweep';
import { InMemoryDedupLedger } from '../shared/runtime/events-dedup';
import { startPlainDynalite } from './plain-dynalite';

export const SWEEP_GOAL_S = 5;
/** The defaults (serverless.yml, container/agent/env.ts). */
const STALE_AFTER_S = 35;
const HEARTBEAT_INTERVAL_S = 15;

const NOW = Date.parse('2026-03-02T12:00:00.000Z');
const LIMITS = {
  max_drawdown_pct: 10,
  max_daily_loss: 500,
  max_open_trades: 3,
  max_leverage: 2,
  max_monitor_failures: 3,
  breach_ladder: ['pause'] as const,
  escalation_grace_s: 120,
};

/** Mostly healthy running sessions, a few silent ones, and the history a real table accumulates. */
const sessionAt = (index: number, status: SessionStatus, heartbeatAgeS: number): Session => {
  const mode = status === 'completed' ? 'backtest' : 'live';
  const session = buildSession(
    NewSessionSchema.parse({
      run_id: `${mode}-bench-${index.toString(36)}-run`,
      strategy_id: `bench-${index.toString(36)}`,
      strategy_name: 'BenchStrategy',
      trading_mode: mode,
      risk_limits: { ...LIMITS, breach_ladder: [...LIMITS.breach_ladder] },
      requested_by: 'bench',
      trace_id: `bench-${index}`,
    }),
    NOW - 86_400_000 + index,
  );
  const heartbeat = new Date(NOW - heartbeatAgeS * 1000).toISOString();
  return {
    ...session,
    status,
    status_changed_at: heartbeat,
    started_at: heartbeat,
    last_heartbeat: heartbeat,
    heartbeat_seq: 10,
    metrics: { total_trades: 5, win_rate: 0.6, pnl_today: 12.5, pnl_total: 340, stake_currency: 'USDT' },
    health: { cpu_percent: 20, memory_mb: 400, exchange_connected: true, last_trade_at: null },
  };
};

const noopPlatform: ContainerPlatform = {
  startSession: async () => {
    throw new Error('not in the sweep');
  },
  stopSession: async () => undefined,
  containerGone: async () => true,
};

interface Measured {
  items_read: number;
  ms: number;
}

const timed = async (work: () => Promise<number>): Promise<Measured> => {
  const started = performance.now();
  const items = await work();
  return { items_read: items, ms: Math.round((performance.now() - started) * 10) / 10 };
};

const ratio = (a: number, b: number) => (b === 0 ? null : Math.round((a / b) * 10) / 10);

/**
 * One fleet size: `silentPerMille` sessions stopped heartbeating minutes ago, as many are near stale (a
 * heartbeat 25 s old, within one hb_at step of the 35 s threshold), the rest heartbeated within the last
 * interval; plus `historyPerSession` finished sessions per active one (what a table accumulates).
 */
const benchOneSize = async (options: {
  sessions: number;
  silentPerMille: number;
  historyPerSession: number;
  /** Locks and the full pass (a GetItem per lock) take minutes at 100,000 on dynalite: off there. */
  fullPass: boolean;
}): Promise<Record<string, unknown>> => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const dynamo = await startPlainDynalite();
  try {
    const clock = new ManualClock(NOW);
    const store = dynamo.newStore(clock);
    const active = options.sessions;
    const silent = Math.max(1, Math.floor((active * options.silentPerMille) / 1000));
    const items: Record<string, unknown>[] = [];
    for (let i = 0; i < active; i += 1) {
      const ageS = i < silent ? 400 : i < 2 * silent ? 25 : (i % HEARTBEAT_INTERVAL_S) + 0.5;
      const session = sessionAt(i, i % 10 === 9 ? 'paused' : 'running', ageS);
      // The session and its liveness beat, which carries the heartbeat index (shared/domain/heartbeat.ts).
      items.push(session, {
        item_type: 'beat',
        run_id: beatKeyOf(session.run_id),
        agent_id: 'bench-agent',
        heartbeat_seq: session.heartbeat_seq,
        last_heartbeat: session.last_heartbeat,
        hb_shard: heartbeatShardOf(session.run_id),
        hb_at: heartbeatBucketOf(session.last_heartbeat as string),
      });
      if (options.fullPass)
        items.push({
          item_type: 'strategy_lock',
          lock_scope: LOCK_SCOPE,
          run_id: lockKeyOf(session.strategy_id),
          strategy_id: session.strategy_id,
          active_run_id: session.run_id,
          last_run_id: session.run_id,
          locked_at: session.created_at,
          released_at: null,
        });
    }
    const history = Math.round(active * options.historyPerSession);
    for (let i = 0; i < history; i += 1) {
      items.push(
        sessionAt(active + i, (['stopped', 'failed', 'completed'] as const)[i % 3] ?? 'stopped', 90_000),
      );
    }
    const seedStarted = performance.now();
    const batches: Record<string, unknown>[][] = [];
    for (let start = 0; start < items.length; start += 25) batches.push(items.slice(start, start + 25));
    const writeBatch = async (batch: Record<string, unknown>[]) => {
      let requests = batch.map((Item) => ({ PutRequest: { Item } }));
      while (requests.length > 0) {
        const result = await dynamo.doc.send(
          new BatchWriteCommand({ RequestItems: { [dynamo.tables.sessions]: requests } }),
        );
        requests = (result.UnprocessedItems?.[dynamo.tables.sessions] ?? []) as typeof requests;
      }
    };
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < batches.length) await writeBatch(batches[next++] ?? []);
      }),
    );
    const seedS = (performance.now() - seedStarted) / 1000;

    const timings = {
      launchTimeoutS: 600,
      staleAfterS: STALE_AFTER_S,
      stopGraceS: 120,
      taskStopTimeoutS: 120,
      highLossPause: 500,
    };
    const deps = {
      store,
      platform: noopPlatform,
      alerts: { publish: async () => undefined },
      ledger: new InMemoryDedupLedger(),
      clock,
      logger: new Logger({ serviceName: 'bench', logLevel: 'SILENT' }),
      metrics: new Metrics({ namespace: 'TradAI/LiveTrading', serviceName: 'bench' }),
      timings,
      pageSize: 1000,
      concurrency: 8,
    };

    // Reads alone first (nothing written yet), each as a pass would make them.
    const cutoff = suspectCutoffOf(NOW, STALE_AFTER_S);
    // As the suspects pass: the listed runs' beats, then the sessions of those still silent.
    const heartbeatIndex = await timed(async () => {
      const runIds = await store.listSilentSince(cutoff);
      const beats = await store.beatsOf(runIds);
      const silentRuns = runIds.filter((runId) => {
        const at = beats.get(runId)?.last_heartbeat;
        return at === undefined || NOW - Date.parse(at) > STALE_AFTER_S * 1000;
      });
      let next = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < silentRuns.length) await store.get(silentRuns[next++] as string);
        }),
      );
      return beats.size + silentRuns.length;
    });
    const statusIndex = await timed(async () => {
      let read = 0;
      for (const status of SWEPT_STATUSES) {
        let cursor: string | undefined;
        do {
          const page = await store.listByStatus(status, { limit: 1000, cursor });
          read += page.items.length;
          cursor = page.cursor;
        } while (cursor !== undefined);
      }
      return read;
    });
    const scan = await timed(async () => {
      let read = 0;
      let cursor: Record<string, unknown> | undefined;
      do {
        const page = await dynamo.doc.send(
          new ScanCommand({ TableName: dynamo.tables.sessions, ExclusiveStartKey: cursor }),
        );
        read += page.Count ?? 0;
        cursor = page.LastEvaluatedKey;
      } while (cursor !== undefined);
      return read;
    });

    // Then whole passes: the suspects pass marks the silent sessions stale; the full pass after it finds
    // nothing more to do, so it measures what a minute's full pass costs at this size.
    const suspectStarted = performance.now();
    const suspectPass = await runSweep(deps, { full: false });
    const suspectPassMs = performance.now() - suspectStarted;
    const fullStarted = performance.now();
    const fullPass = options.fullPass ? await runSweep(deps, { full: true }) : undefined;
    const fullPassMs = performance.now() - fullStarted;

    return {
      sessions: active,
      table_items: scan.items_read,
      silent,
      near_stale: silent,
      seed_s: Math.round(seedS * 10) / 10,
      reads: {
        heartbeat_index: heartbeatIndex,
        status_index: statusIndex,
        full_scan: scan,
      },
      ratios: {
        status_index_items_per_heartbeat_index_item: ratio(statusIndex.items_read, heartbeatIndex.items_read),
        scan_items_per_heartbeat_index_item: ratio(scan.items_read, heartbeatIndex.items_read),
        status_index_ms_per_heartbeat_index_ms: ratio(statusIndex.ms, heartbeatIndex.ms),
        scan_ms_per_heartbeat_index_ms: ratio(scan.ms, heartbeatIndex.ms),
      },
      suspect_pass: {
        ms: Math.round(suspectPassMs),
        read: suspectPass.read,
        marked_stale: suspectPass.markedStale.length,
        errors: suspectPass.errors.length,
      },
      full_pass:
        fullPass === undefined
          ? 'not run at this size (no locks seeded)'
          : {
              ms: Math.round(fullPassMs),
              within_goal: fullPassMs / 1000 <= SWEEP_GOAL_S,
              read: fullPass.read,
              marked_stale: fullPass.markedStale.length,
              errors: fullPass.errors.length,
            },
      expected_stale: silent,
    };
  } finally {
    await dynamo.close();
  }
};

/** Each size on its own embedded DynamoDB, one after the other; the ratios say how far each read grows. */
export async function runSweepBench(options: {
  sizes: readonly number[];
  silentPerMille?: number;
  historyPerSession?: number;
}): Promise<Record<string, unknown>> {
  const runs: Record<string, unknown>[] = [];
  for (const sessions of options.sizes) {
    runs.push(
      await benchOneSize({
        sessions,
        silentPerMille: options.silentPerMille ?? 5,
        historyPerSession: options.historyPerSession ?? (sessions > 20_000 ? 0 : 1),
        fullPass: sessions <= 20_000,
      }),
    );
  }
  return {
    note: 'Reads of one pass on dynalite (seeded and read without the gateway, which serializes writes; the engine is the same): the heartbeat index (keys of the sessions silent past the threshold, then a GetItem each) next to the status index query of every swept status and a full Scan. Ratios: how many times more items (or ms) than the heartbeat index.',
    stale_after_s: STALE_AFTER_S,
    heartbeat_interval_s: HEARTBEAT_INTERVAL_S,
    runs,
  };
}
