/**
 * The health sweep over many sessions in the embedded DynamoDB: how long one sweep takes, and how much of
 * the table it reads through the status GSI compared with what a full Scan would read. Seeds with
 * BatchWriteItem directly (the store's conditional writes would take minutes for 10,000 sessions).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { BatchWriteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { runSweep } from '../functions/sweep/handler';
import { ManualClock } from '../shared/domain/clock';
import type { ContainerPlatform } from '../shared/domain/ports';
import { buildSession, NewSessionSchema, type Session, type SessionStatus } from '../shared/domain/session';
import { LOCK_SCOPE, lockKeyOf } from '../shared/domain/session-store';
import { InMemoryDedupLedger } from '../shared/runtime/events-dedup';
import { startTestDynamo } from '../tests/support/dynamo';

export const SWEEP_GOAL_S = 5;

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

/**
 * `silentPerMille`: sessions whose heartbeat stopped (each costs the sweep one conditional write). A few per
 * thousand at once is already a bad minute; the default keeps the bench about reading, not writing.
 */
export async function runSweepBench(options: {
  sessions: number;
  silentPerMille?: number;
}): Promise<Record<string, unknown>> {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const dynamo = await startTestDynamo();
  try {
    const clock = new ManualClock(NOW);
    const store = dynamo.newStore(clock);
    const active = options.sessions;
    const silent = Math.max(1, Math.floor((active * (options.silentPerMille ?? 5)) / 1000));
    const history = active;
    const items: Record<string, unknown>[] = [];
    for (let i = 0; i < active; i += 1) {
      const session = sessionAt(i, i % 10 === 9 ? 'paused' : 'running', i < silent ? 400 : 20);
      items.push(session, {
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

    const started = performance.now();
    const report = await runSweep({
      store,
      platform: noopPlatform,
      alerts: { publish: async () => undefined },
      ledger: new InMemoryDedupLedger(),
      clock,
      logger: new Logger({ serviceName: 'bench', logLevel: 'SILENT' }),
      metrics: new Metrics({ namespace: 'TradAI/LiveTrading', serviceName: 'bench' }),
      timings: { launchTimeoutS: 600, staleAfterS: 180, stopGraceS: 120, highLossPause: 500 },
      pageSize: 1000,
      concurrency: 8,
    });
    const sweepS = (performance.now() - started) / 1000;

    let scanned = 0;
    let cursor: Record<string, unknown> | undefined;
    do {
      const page = await dynamo.doc.send(
        new ScanCommand({ TableName: dynamo.tables.sessions, ExclusiveStartKey: cursor, Select: 'COUNT' }),
      );
      scanned += page.Count ?? 0;
      cursor = page.LastEvaluatedKey;
    } while (cursor !== undefined);
    const readBySweep = Object.values(report.read).reduce((sum, count) => sum + count, 0);

    return {
      sessions_swept: active,
      table_items: scanned,
      seed_s: Math.round(seedS * 100) / 100,
      sweep_s: Math.round(sweepS * 1000) / 1000,
      goal_s: SWEEP_GOAL_S,
      within_goal: sweepS <= SWEEP_GOAL_S,
      items_read_by_sweep_gsi_queries: readBySweep,
      items_read_by_full_scan: scanned,
      gsi_to_scan_ratio: Math.round((readBySweep / scanned) * 1000) / 1000,
      read_by_status: report.read,
      marked_stale: report.markedStale.length,
      expected_stale: silent,
      errors: report.errors.length,
    };
  } finally {
    await dynamo.close();
  }
}
