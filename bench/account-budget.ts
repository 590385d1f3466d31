/**
 * Account budgets at scale (issue 12 item 4): S sessions on ONE account heartbeat R rounds through the real
 * stream processor (createHandler) and the real aggregate adapter on the embedded DynamoDB, in batches of
 * serverless.yml's 25, every session's loss moving each round, in a shuffled order. Counts the budgets
 * table's requests and the units DynamoDB would bill for them (item sizes by DynamoDB's rules:
 * transactional writes 2 WRU per KB, consistent reads 1 RRU per 4 KB, eventually consistent Query half),
 * then one round in which no figure moves (the read-only judging), then the Query a breach makes. Priced
 * per heartbeat and per session-month at the default 15 s heartbeat with bench/prices.json.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { createHandler } from '../functions/stream/session-events/handler';
import { DynamoAccountBudgetStore } from '../shared/adapters/dynamodb/account-budget-store';
import { createDocumentClient } from '../shared/adapters/dynamodb/client';
import { isoAt, ManualClock } from '../shared/domain/clock';
import { buildSession, NewSessionSchema, type Session } from '../shared/domain/session';
import { budgetScopesOf } from '../shared/runtime/account-budget-scopes';
import { InMemoryDedupLedger } from '../shared/runtime/events-dedup';
import { lambdaContext } from '../tests/adapters/support/workflow-fixtures';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startTestDynamo } from '../tests/support/dynamo';
import { itemSize } from './cost-model';

const BATCH = 25;
type Wire = Parameters<typeof unmarshall>[0];
const WIRE_TYPES = new Set(['S', 'N', 'B', 'BOOL', 'NULL', 'M', 'L', 'SS', 'NS', 'BS']);
/** Whether an item is in DynamoDB's wire form (each value one `{S: ...}`-like object), as the client's own commands carry it. */
const isWire = (item: unknown): boolean =>
  typeof item === 'object' &&
  item !== null &&
  Object.values(item).every(
    (value) =>
      typeof value === 'object' &&
      value !== null &&
      Object.keys(value).length === 1 &&
      WIRE_TYPES.has(Object.keys(value)[0] as string),
  );
/** The agent's default heartbeat (container/agent/env.ts HEARTBEAT_INTERVAL_S). */
const HEARTBEAT_S = 15;
const HEARTBEATS_PER_MONTH = (30 * 86_400) / HEARTBEAT_S;
const ACCOUNT = 'b0d9e7c6a5f4e3d2c1b0a9f8e7d6c5b4';

interface Units {
  requests: Record<string, number>;
  wru: number;
  rru: number;
}

/** Bills the budgets table's requests by item size, as DynamoDB does (the embedded engine reports none for transactions). */
const meter = (doc: { middlewareStack: { add: (...args: never[]) => void } }) => {
  const units: Units = { requests: {}, wru: 0, rru: 0 };
  let aggregateBytes = 200;
  const middleware =
    (
      next: (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>,
      context: { commandName?: string },
    ) =>
    async (args: { input: Record<string, unknown> }) => {
      const operation = (context.commandName ?? 'unknown').replace(/Command$/, '');
      units.requests[operation] = (units.requests[operation] ?? 0) + 1;
      const result = await next(args);
      // The document client may hand the items over before or after marshalling them.
      const sizeOf = (item: unknown) =>
        itemSize((isWire(item) ? unmarshall(item as Wire) : (item ?? {})) as Record<string, unknown>);
      if (operation === 'TransactWriteItems') {
        for (const item of args.input.TransactItems as { Put?: { Item: unknown }; Update?: unknown }[]) {
          const bytes = item.Put !== undefined ? sizeOf(item.Put.Item) : aggregateBytes;
          units.wru += 2 * Math.ceil(bytes / 1024);
        }
      } else if (operation === 'GetItem') {
        aggregateBytes = sizeOf(result.output.Item);
        units.rru += Math.ceil(Math.max(1, aggregateBytes) / 4096);
      } else if (operation === 'Query') {
        const bytes = ((result.output.Items as unknown[]) ?? []).reduce<number>(
          (sum, item) => sum + itemSize(item as Record<string, unknown>),
          0,
        );
        units.rru += 0.5 * Math.ceil(Math.max(1, bytes) / 4096);
      } else if (operation === 'UpdateItem' || operation === 'PutItem') {
        units.wru += Math.ceil(aggregateBytes / 1024);
      }
      return result;
    };
  (doc.middlewareStack.add as (m: unknown, o: unknown) => void)(middleware, {
    step: 'initialize',
    name: 'budgetMeter',
  });
  return units;
};

const sessionOf = (index: number, nowMs: number): Session => ({
  ...buildSession(
    NewSessionSchema.parse({
      run_id: `live-b${index}-20261201-bench`,
      strategy_id: `b${index}`,
      strategy_name: 'Bench',
      trading_mode: 'live',
      risk_limits: {
        max_drawdown_pct: 50,
        max_daily_loss: 1e9,
        max_open_trades: 5,
        max_leverage: 3,
        max_monitor_failures: 3,
      },
      requested_by: 'bench',
      trace_id: 'bench',
    }),
    nowMs,
  ),
  status: 'running',
  account_id: ACCOUNT,
  last_heartbeat: new Date(nowMs).toISOString(),
  metrics: { total_trades: 1, win_rate: 0, pnl_today: 0, pnl_total: 0, stake_currency: 'USDT' },
});

let sequence = 1;
const recordOf = (previous: Session, current: Session): DynamoDBRecord => {
  sequence += 1;
  return {
    eventName: 'MODIFY',
    eventSource: 'aws:dynamodb',
    dynamodb: {
      Keys: marshall({ run_id: current.run_id }) as never,
      OldImage: marshall(previous, { removeUndefinedValues: true }) as never,
      NewImage: marshall(current, { removeUndefinedValues: true }) as never,
      SequenceNumber: String(sequence),
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
};

const shuffled = <T>(items: readonly T[], seed: number): T[] => {
  const out = [...items];
  let state = seed >>> 0;
  for (let index = out.length - 1; index > 0; index -= 1) {
    state = (Math.imul(state ^ (state >>> 15), 2246822507) + 0x9e3779b9) >>> 0;
    const other = state % (index + 1);
    [out[index], out[other]] = [out[other] as T, out[index] as T];
  }
  return out;
};

export const runAccountBudgetBench = async (options: { sessions: number; rounds: number }) => {
  const prices = JSON.parse(readFileSync(join(import.meta.dirname, 'prices.json'), 'utf8')) as {
    dynamodb: { write_request_unit_per_million: number; read_request_unit_per_million: number };
  };
  const clock = new ManualClock('2026-12-01T10:00:00.000Z');
  const dynamo = await startTestDynamo({ now: () => clock.now() });
  const doc = createDocumentClient({
    endpoint: dynamo.endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  const units = meter(doc);
  const budgets = new DynamoAccountBudgetStore(doc, { budgetsTable: dynamo.tables.budgets, clock });
  const store = dynamo.newStore(clock);
  const handler = createHandler({
    store,
    budgets,
    scopes: budgetScopesOf({ store, clock }),
    platform: {
      startSession: async () => Promise.reject(new Error('none')),
      stopSession: async () => undefined,
      containerGone: async () => true,
    },
    workflow: { succeed: async () => undefined, fail: async () => undefined },
    alerts: { publish: async () => undefined },
    ledger: new InMemoryDedupLedger(),
    clock,
    logger: new Logger({
      serviceName: 'bench',
      logLevel: process.env.BENCH_LOG === '1' ? 'ERROR' : 'SILENT',
    }),
    metrics: new Metrics({ namespace: 'bench', serviceName: 'bench' }),
  });
  try {
    // A budget far above the figures: the steady state is what every heartbeat pays.
    await budgets.putBudget(
      ACCOUNT,
      {
        stake_currency: 'USDT',
        daily_loss_max: 1e12,
        gross_exposure_max: 1e12,
        updated_at: isoAt(clock),
        updated_by: 'bench',
      },
      null,
    );
    let sessions = Array.from({ length: options.sessions }, (_, index) => sessionOf(index, clock.now()));
    const deliver = async (records: DynamoDBRecord[]) => {
      const began = performance.now();
      for (let start = 0; start < records.length; start += BATCH) {
        const result = await handler(
          { Records: records.slice(start, start + BATCH) },
          lambdaContext('session-events'),
        );
        if (result.batchItemFailures.length > 0)
          throw new Error(`batch failed: ${JSON.stringify(result.batchItemFailures)}`);
      }
      return performance.now() - began;
    };
    const round = async (move: boolean, seed: number) => {
      const next = sessions.map((session, index) => ({
        ...session,
        version: session.version + 1,
        heartbeat_seq: session.heartbeat_seq + 1,
        metrics: {
          ...(session.metrics as NonNullable<Session['metrics']>),
          pnl_today: move ? -((seed + index) % 7) - seed : (session.metrics?.pnl_today ?? 0),
        },
      }));
      const records = shuffled(
        next.map((current, index) => recordOf(sessions[index] as Session, current)),
        seed,
      );
      sessions = next;
      return deliver(records);
    };
    const snapshot = () => ({ ...units, requests: { ...units.requests } });
    const delta = (before: Units, heartbeats: number) => {
      const wru = units.wru - before.wru;
      const rru = units.rru - before.rru;
      const dollars =
        (wru * prices.dynamodb.write_request_unit_per_million +
          rru * prices.dynamodb.read_request_unit_per_million) /
        1e6;
      return {
        heartbeats,
        requests: Object.fromEntries(
          Object.entries(units.requests).map(([op, n]) => [op, n - (before.requests[op] ?? 0)]),
        ),
        wru_per_heartbeat: Math.round((wru / heartbeats) * 1000) / 1000,
        rru_per_heartbeat: Math.round((rru / heartbeats) * 1000) / 1000,
        usd_per_session_month: Math.round((dollars / heartbeats) * HEARTBEATS_PER_MONTH * 10_000) / 10_000,
      };
    };

    await round(true, 1); // first contributions
    const moving = snapshot();
    let movingMs = 0;
    for (let r = 2; r <= options.rounds + 1; r += 1) movingMs += await round(true, r);
    const movingResult = {
      ...delta(moving, options.sessions * options.rounds),
      ms_per_batch: Math.round((movingMs / ((options.sessions * options.rounds) / BATCH)) * 10) / 10,
    };
    const idle = snapshot();
    await round(false, 99);
    const idleResult = delta(idle, options.sessions);
    const breach = snapshot();
    const contributions = await budgets.contributionsOf(ACCOUNT);
    const breachRru = units.rru - breach.rru;
    const aggregate = await budgets.getAggregate(ACCOUNT);
    return {
      sessions_on_one_account: options.sessions,
      rounds: options.rounds,
      heartbeat_s: HEARTBEAT_S,
      moving: movingResult,
      idle: idleResult,
      breach_query: { contributions: contributions.length, rru: breachRru },
      aggregate_figures: Object.keys(aggregate.figures).length,
    };
  } finally {
    doc.destroy();
    await dynamo.close();
  }
};
