/**
 * GET /fleet at 1,000 strategies on the embedded DynamoDB: latency of the read-strategies handler (full
 * answer and the 304 of an unchanged fleet), DynamoDB requests per answer, items and bytes read, the read
 * units they cost, the sizes of a session item and of its fleet row, and GET /strategies (lock index + one
 * GetItem per strategy) on the same data for comparison. Seeded with BatchWriteItem directly, each strategy
 * with a current session (fleet row), two earlier ones (demoted) and a lock; a tenth have a last alert (on
 * the lock, so /fleet reads the alerts table no more: its counter stays at zero).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createHandler } from '../functions/api/read-strategies/handler';
import { DynamoAlertHistory } from '../shared/adapters/dynamodb/alert-history';
import { DynamoAuditLog } from '../shared/adapters/dynamodb/audit-log';
import { createDocumentClient } from '../shared/adapters/dynamodb/client';
import { DynamoFleetReader } from '../shared/adapters/dynamodb/fleet-read';
import { alertRecordOf } from '../shared/domain/alert-history';
import { ManualClock } from '../shared/domain/clock';
import { FLEET_ROW } from '../shared/domain/fleet';
import { beatKeyOf } from '../shared/domain/heartbeat';
import {
  buildSession,
  NewSessionSchema,
  type Session,
  SessionSchema,
  type SessionStatus,
} from '../shared/domain/session';
import { LOCK_SCOPE, lockKeyOf } from '../shared/domain/session-store';
import { apiEvent, lambdaContext } from '../tests/functions/api/support';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startTestDynamo } from '../tests/support/dynamo';
import { itemSize, readUnitsOf } from './cost-model';
import { percentile } from './stats';

const NOW = Date.parse('2026-03-02T12:00:00.000Z');
const LIMITS = {
  max_drawdown_pct: 10,
  max_daily_loss: 500,
  max_open_trades: 3,
  max_leverage: 2,
  max_monitor_failures: 3,
  breach_ladder: ['pause', 'flatten'] as ('pause' | 'flatten')[],
  escalation_grace_s: 120,
};

const trade = (id: number) => ({
  trade_id: id,
  pair: 'BTC/USDT:USDT',
  is_short: false,
  amount: 0.01,
  open_rate: 60_000,
  current_rate: 60_100,
  stake_amount: 600,
  leverage: 1,
  profit_abs: 1,
  profit_ratio: 0.0016,
  open_date: new Date(NOW - 3_600_000).toISOString(),
});

const sessionOf = (strategy: number, run: number, status: SessionStatus): Session => {
  const mode = strategy % 4 === 0 ? 'live' : 'dry-run';
  const base = buildSession(
    NewSessionSchema.parse({
      run_id: `${mode}-s${strategy.toString(36)}-r${run}-bench`,
      strategy_id: `s-${strategy.toString(36)}`,
      strategy_name: 'BenchStrategy',
      trading_mode: mode,
      risk_limits: LIMITS,
      requested_by: 'bench',
      trace_id: `bench-${strategy}-${run}`,
    }),
    NOW - (3 - run) * 86_400_000,
  );
  const heartbeat = new Date(NOW - (strategy % 30) * 1000).toISOString();
  return SessionSchema.parse({
    ...base,
    status,
    status_changed_at: heartbeat,
    started_at: heartbeat,
    last_heartbeat: heartbeat,
    heartbeat_seq: 100,
    agent_id: `agent-${strategy}`,
    exchange: 'binance',
    pairs: ['BTC/USDT:USDT', 'ETH/USDT:USDT', 'SOL/USDT:USDT'],
    metrics: {
      total_trades: 40,
      win_rate: 0.55,
      pnl_today: 12.5,
      pnl_total: 340.25,
      open_trade_count: 3,
      equity: 10_340.25,
      stake_currency: 'USDT',
    },
    health: {
      cpu_percent: 20,
      memory_mb: 400,
      exchange_connected: true,
      last_trade_at: heartbeat,
      freqtrade_state: 'running',
      loop_alive: true,
    },
    risk: {
      state: 'ok',
      snapshot: {
        equity: 10_340.25,
        peak_equity: 10_500,
        drawdown_pct: 1.52,
        starting_capital: 10_000,
        daily_pnl: 12.5,
        open_trades: 3,
        max_leverage: 1,
        exposure: 1_800,
        monitor_failures: 0,
      },
      breaches: [],
      response: null,
      breached_at: null,
    },
    open_trades: [trade(1), trade(2), trade(3)],
  });
};

interface Counted {
  requests: Record<string, number>;
  items: number;
  bytes: number;
  /** Eventually consistent reads: half a unit per 4 KB per request (per item for BatchGetItem), from the bytes returned. */
  estimatedReadUnits: number;
  reportedUnits: number;
}

/** Counts requests, items, bytes and read units at the document client's middleware. */
const counting = (endpoint: string): { doc: DynamoDBDocumentClient; counted: Counted; reset(): void } => {
  const doc = createDocumentClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const counted: Counted = { requests: {}, items: 0, bytes: 0, estimatedReadUnits: 0, reportedUnits: 0 };
  doc.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName).replace(/Command$/, '');
      counted.requests[name] = (counted.requests[name] ?? 0) + 1;
      (args.input as Record<string, unknown>).ReturnConsumedCapacity ??= 'TOTAL';
      const result = await next(args);
      const output = result.output as Record<string, unknown>;
      const items = [
        ...(output.Item === undefined ? [] : [output.Item as Record<string, unknown>]),
        ...((output.Items as Record<string, unknown>[] | undefined) ?? []),
        ...Object.values(
          (output.Responses as Record<string, Record<string, unknown>[]> | undefined) ?? {},
        ).flat(),
      ];
      const bytes = items.reduce((sum, item) => sum + itemSize(item), 0);
      counted.items += items.length;
      counted.bytes += bytes;
      // A query is billed on the bytes it returns; a BatchGetItem item by item, each rounded up to 4 KB.
      counted.estimatedReadUnits +=
        name === 'BatchGetItem'
          ? items.reduce((sum, item) => sum + readUnitsOf(itemSize(item), false), 0)
          : readUnitsOf(bytes, false);
      const consumed = output.ConsumedCapacity as { CapacityUnits?: number } | { CapacityUnits?: number }[];
      for (const entry of Array.isArray(consumed) ? consumed : consumed === undefined ? [] : [consumed])
        counted.reportedUnits += entry.CapacityUnits ?? 0;
      return result;
    },
    { step: 'initialize', name: 'benchCounter' },
  );
  return {
    doc,
    counted,
    reset: () => {
      counted.requests = {};
      counted.items = 0;
      counted.bytes = 0;
      counted.estimatedReadUnits = 0;
      counted.reportedUnits = 0;
    },
  };
};

export async function runFleetReadBench(options: {
  strategies: number;
  runs: number;
}): Promise<Record<string, unknown>> {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const dynamo = await startTestDynamo();
  try {
    const stage = dynamo.tables.sessions.replace('tradai-workflow-state-', '');
    const alertsTable = `tradai-alerts-${stage}`;
    const sessionItems: Record<string, unknown>[] = [];
    let currentSize = 0;
    for (let strategy = 0; strategy < options.strategies; strategy += 1) {
      const current = sessionOf(strategy, 2, strategy % 10 === 9 ? 'paused' : 'running');
      sessionItems.push(
        { ...sessionOf(strategy, 0, 'stopped') },
        { ...sessionOf(strategy, 1, 'failed') },
        { ...current, fleet_row: FLEET_ROW },
        // Its agent's liveness beat, which the fleet read joins for the heartbeat age.
        {
          item_type: 'beat',
          run_id: beatKeyOf(current.run_id),
          agent_id: current.agent_id,
          heartbeat_seq: current.heartbeat_seq + 1,
          last_heartbeat: current.last_heartbeat,
          hb_shard: '0',
          hb_at: current.last_heartbeat,
        },
        {
          item_type: 'strategy_lock',
          lock_scope: LOCK_SCOPE,
          run_id: lockKeyOf(current.strategy_id),
          strategy_id: current.strategy_id,
          active_run_id: current.run_id,
          last_run_id: current.run_id,
          locked_at: current.created_at,
          released_at: null,
        },
      );
      currentSize += itemSize({ ...current, fleet_row: FLEET_ROW });
    }
    const writeAll = async (table: string, items: Record<string, unknown>[]) => {
      const batches: Record<string, unknown>[][] = [];
      for (let start = 0; start < items.length; start += 25) batches.push(items.slice(start, start + 25));
      let next = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < batches.length) {
            let requests = (batches[next++] ?? []).map((Item) => ({ PutRequest: { Item } }));
            while (requests.length > 0) {
              const result = await dynamo.doc.send(
                new BatchWriteCommand({ RequestItems: { [table]: requests } }),
              );
              requests = (result.UnprocessedItems?.[table] ?? []) as typeof requests;
            }
          }
        }),
      );
    };
    await writeAll(dynamo.tables.sessions, sessionItems);
    const history = new DynamoAlertHistory(dynamo.doc, {
      alertsTable,
      sessionsTable: dynamo.tables.sessions,
    });
    for (let strategy = 0; strategy < options.strategies; strategy += 10) {
      await history.record(
        alertRecordOf(
          {
            severity: strategy % 20 === 0 ? 'WARNING' : 'INFO',
            kind: 'freqtrade.restarted',
            strategy_id: `s-${strategy.toString(36)}`,
            run_id: sessionOf(strategy, 2, 'running').run_id,
            subject: 'Freqtrade restarted',
            message: 'Freqtrade exited (code 1) and was restarted (1 restart in 10 minutes).',
            dedup_id: `bench-${strategy}`,
          },
          NOW - 60_000,
        ),
      );
    }

    const sessions = counting(dynamo.endpoint);
    const alerts = counting(dynamo.endpoint);
    const clock = new ManualClock(NOW);
    const alertHistory = new DynamoAlertHistory(alerts.doc, {
      alertsTable,
      sessionsTable: dynamo.tables.sessions,
    });
    const handler = createHandler({
      store: dynamo.newStore(clock, sessions.doc),
      clock,
      logger: new Logger({ serviceName: 'bench', logLevel: 'SILENT' }),
      metrics: new Metrics({ namespace: 'TradAIBench', serviceName: 'bench' }),
      alertHistory,
      audit: new DynamoAuditLog(dynamo.doc, { auditTable: `tradai-audit-${stage}` }),
      fleet: new DynamoFleetReader(sessions.doc, { sessionsTable: dynamo.tables.sessions }),
      staleAfterS: 180,
    });
    const get = async (route: string, headers: Record<string, string> = {}) => {
      const started = performance.now();
      const result = await handler(
        apiEvent({ method: 'GET', route, scopes: ['tradai/strategies:read'], headers }) as never,
        lambdaContext(),
      );
      return { ms: performance.now() - started, result };
    };
    const measure = async (route: string, headers: Record<string, string> = {}, runs = options.runs) => {
      await get(route, headers); // warm: connections and JIT
      sessions.reset();
      alerts.reset();
      const ms: number[] = [];
      let status = 0;
      let bodyBytes = 0;
      for (let run = 0; run < runs; run += 1) {
        const { ms: elapsed, result } = await get(route, headers);
        ms.push(elapsed);
        status = result.statusCode ?? 0;
        bodyBytes = Buffer.byteLength(typeof result.body === 'string' ? result.body : '');
      }
      const per = (value: number) => Math.round((value / runs) * 100) / 100;
      const perRequests = (requests: Record<string, number>) =>
        Object.fromEntries(Object.entries(requests).map(([name, count]) => [name, per(count)]));
      return {
        status,
        p50_ms: Math.round(percentile(ms, 50) * 10) / 10,
        p99_ms: Math.round(percentile(ms, 99) * 10) / 10,
        body_bytes: bodyBytes,
        per_answer: {
          sessions_table: {
            requests: perRequests(sessions.counted.requests),
            items_read: per(sessions.counted.items),
            bytes_read: per(sessions.counted.bytes),
            estimated_read_units: per(sessions.counted.estimatedReadUnits),
            engine_reported_units: per(sessions.counted.reportedUnits),
          },
          alerts_table: {
            requests: perRequests(alerts.counted.requests),
            items_read: per(alerts.counted.items),
            bytes_read: per(alerts.counted.bytes),
            estimated_read_units: per(alerts.counted.estimatedReadUnits),
          },
        },
      };
    };

    const full = await measure('/fleet');
    const etag = String((await get('/fleet')).result.headers?.ETag);
    const notModified = await measure('/fleet', { 'if-none-match': etag });
    // One GetItem per strategy: a few runs show it, and keep the bench within minutes.
    const strategiesRoute = await measure('/strategies', {}, Math.min(options.runs, 5));
    const fleetRowSize = Math.round(full.per_answer.sessions_table.bytes_read / (options.strategies * 2));
    return {
      strategies: options.strategies,
      sessions_in_table: options.strategies * 3,
      runs: options.runs,
      item_bytes: {
        current_session_avg: Math.round(currentSize / options.strategies),
        fleet_row_and_lock_avg: fleetRowSize,
      },
      fleet: full,
      fleet_304: notModified,
      strategies_route_for_comparison: strategiesRoute,
      note: 'in-process handler on the embedded DynamoDB (dynalite) over 127.0.0.1; estimated_read_units follow DynamoDB on-demand rules (eventually consistent, 0.5 per 4 KB per request, per item for BatchGetItem); a 304 reads the same items: it saves the body, not the reads',
    };
  } finally {
    await dynamo.close();
  }
}
