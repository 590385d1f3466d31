import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../../functions/api/read-strategies/handler';
import type { HistoryEntry } from '../../../shared/domain/heartbeat';
import {
  type ApiTestEnv,
  errorOf,
  type Invoke,
  invoker,
  READ_SCOPES,
  runningSession,
  startApiTest,
} from './support';

const historyOf = (runId: string, strategyId: string, count: number): HistoryEntry[] =>
  Array.from({ length: count }, (_, index) => ({
    run_id: runId,
    recorded_at: new Date(Date.parse('2026-03-02T09:00:00.000Z') + index * 60_000).toISOString(),
    strategy_id: strategyId,
    seq: index + 1,
    pnl_today: index * 10,
    pnl_total: 1000 + index * 10,
    total_trades: index,
    open_trade_count: 1,
    equity: 10_000 + index,
    drawdown_pct: 0.5,
  }));

/** Nothing the agent or the launch workflow keeps for itself may leave through the API. */
const INTERNAL_FIELDS = [
  'launch_token',
  'secret-task-token',
  'agent_id',
  'agent-',
  'overrides',
  'heartbeat_seq',
  'trace_id',
];

describe('Handler: read-strategies', () => {
  let env: ApiTestEnv;
  let invoke: Invoke;
  const get = (
    route: string,
    params: Record<string, string> = {},
    extra: Partial<Parameters<Invoke>[0]> = {},
  ) => invoke({ method: 'GET', route, params, scopes: READ_SCOPES, ...extra });

  let runningRun: string;
  let liveRun: string;
  let stoppedRun: string;

  beforeAll(async () => {
    env = await startApiTest();
    invoke = invoker(createHandler(env.deps));
    runningRun = (await runningSession(env, 'alpha', { pnlToday: 100, pnlTotal: 1000 })).run_id;
    liveRun = (await runningSession(env, 'bravo', { mode: 'live', pnlToday: -40, pnlTotal: 300 })).run_id;
    stoppedRun = (await runningSession(env, 'charlie', { pnlToday: 7, pnlTotal: 70 })).run_id;
    await env.deps.store.transition(stoppedRun, 'stopping');
    await env.deps.store.transition(stoppedRun, 'stopped');
    await env.deps.store.releaseLock('charlie', stoppedRun);
    await runningSession(env, 'delta', { pnlToday: 50, pnlTotal: 500 });
    await env.deps.store.appendHistory(historyOf(runningRun, 'alpha', 5));
    env.clock.advance(45_000);
  });
  afterAll(async () => env.close());

  it('lists each strategy with its current or last session, heartbeat age, PnL, open trades and risk', async () => {
    // act
    const response = await get('/strategies');

    // assess
    expect(response.statusCode).toBe(200);
    const strategies = response.body.strategies as Record<string, unknown>[];
    expect(strategies.map((strategy) => strategy.strategy_id)).toEqual([
      'alpha',
      'bravo',
      'charlie',
      'delta',
    ]);
    expect(strategies[0]).toMatchObject({
      run_id: runningRun,
      status: 'running',
      active: true,
      heartbeat_age_s: 45,
      pnl_today: 100,
      pnl_total: 1000,
      open_trade_count: 1,
      risk_state: 'ok',
    });
    expect(strategies[2]).toMatchObject({ run_id: stoppedRun, status: 'stopped', active: false });
    expect(response.body.truncated).toBe(false);
  });

  it('reports PnL per strategy and totals per trading mode and currency over active sessions', async () => {
    // act
    const response = await get('/strategies/pnl');

    // assess
    expect(response.statusCode).toBe(200);
    expect((response.body.strategies as unknown[]).length).toBe(4);
    expect(response.body.totals).toEqual([
      { trading_mode: 'dry-run', stake_currency: 'USDT', strategies: 2, pnl_today: 150, pnl_total: 1500 },
      { trading_mode: 'live', stake_currency: 'USDT', strategies: 1, pnl_today: -40, pnl_total: 300 },
    ]);
  });

  it('shows one strategy and one session without internal fields', async () => {
    // act
    const strategy = await get('/strategies/{strategyId}', { strategyId: 'bravo' });
    const session = await get('/sessions/{runId}', { runId: liveRun });

    // assess
    expect(strategy.statusCode).toBe(200);
    expect(strategy.body).toMatchObject({
      strategy_id: 'bravo',
      session: { run_id: liveRun, trading_mode: 'live' },
    });
    expect(session.statusCode).toBe(200);
    expect(session.body).toMatchObject({ run_id: liveRun, status: 'running', heartbeat_age_s: 45 });
    for (const raw of [strategy.raw, session.raw]) {
      for (const field of INTERNAL_FIELDS) expect(raw).not.toContain(field);
    }
  });

  it('names in the session view the carried trades its agent reports missing (tradai deploy stops on them at once)', async () => {
    // prepare: a takeover whose Freqtrade shows trade 7 neither open nor closed
    const session = await runningSession(env, 'echo');
    const reported = await env.deps.store.recordHeartbeat({
      run_id: session.run_id,
      agent_id: session.agent_id as string,
      seq: session.heartbeat_seq + 1,
      at: new Date(env.clock.now()).toISOString(),
      metrics: session.metrics ?? undefined,
      health: {
        ...(session.health ?? {
          cpu_percent: 0,
          memory_mb: 0,
          exchange_connected: true,
          last_trade_at: null,
        }),
        freqtrade_state: 'paused',
        missing_trades: {
          trade_ids: [7],
          expected: 2,
          found: 1,
          account: 'binance (secret tradai/exchange/binance)',
          action: 'entries_paused',
          at: new Date(env.clock.now()).toISOString(),
        },
      },
      risk: session.risk ?? undefined,
      open_trades: session.open_trades,
    } as never);
    if (!reported.ok) throw new Error(reported.message);

    // act
    const view = await get('/sessions/{runId}', { runId: session.run_id });
    const healthy = await get('/sessions/{runId}', { runId: liveRun });

    // assess
    expect(view.body).toMatchObject({ health: { freqtrade_state: 'paused', missing_trade_ids: [7] } });
    expect(healthy.body).toMatchObject({ health: { missing_trade_ids: [] } });
  });

  it('serves the open-trades snapshot of the current session', async () => {
    // act
    const response = await get('/strategies/{strategyId}/trades', { strategyId: 'alpha' });

    // assess
    expect(response.statusCode).toBe(200);
    expect(response.body).toMatchObject({ strategy_id: 'alpha', run_id: runningRun, status: 'running' });
    expect(response.body.open_trades).toEqual([
      expect.objectContaining({ trade_id: 1, pair: 'BTC/USDT:USDT' }),
    ]);
  });

  it('pages through PnL history with limit and cursor, within from and to', async () => {
    // act
    const first = await get(
      '/strategies/{strategyId}/pnl/history',
      { strategyId: 'alpha' },
      { query: { limit: '2' } },
    );
    const second = await get(
      '/strategies/{strategyId}/pnl/history',
      { strategyId: 'alpha' },
      { query: { limit: '2', cursor: first.body.cursor as string } },
    );
    const window = await get(
      '/strategies/{strategyId}/pnl/history',
      { strategyId: 'alpha' },
      { query: { from: '2026-03-02T09:01:00.000Z', to: '2026-03-02T09:03:00.000Z', run_id: runningRun } },
    );

    // assess
    expect(first.statusCode).toBe(200);
    expect((first.body.items as { seq: number }[]).map((item) => item.seq)).toEqual([1, 2]);
    expect((second.body.items as { seq: number }[]).map((item) => item.seq)).toEqual([3, 4]);
    expect((window.body.items as { seq: number }[]).map((item) => item.seq)).toEqual([2, 3, 4]);
    expect(first.body.items).toEqual(
      expect.arrayContaining([expect.not.objectContaining({ run_id: expect.anything() })]),
    );
  });

  it('refuses bad history queries with 400 naming the field', async () => {
    // act
    const unknown = await get(
      '/strategies/{strategyId}/pnl/history',
      { strategyId: 'alpha' },
      { query: { page: '2' } },
    );
    const badLimit = await get(
      '/strategies/{strategyId}/pnl/history',
      { strategyId: 'alpha' },
      { query: { limit: '0' } },
    );
    const reversed = await get(
      '/strategies/{strategyId}/pnl/history',
      { strategyId: 'alpha' },
      { query: { from: '2026-03-03T00:00:00.000Z', to: '2026-03-02T00:00:00.000Z' } },
    );
    const tampered = await get(
      '/strategies/{strategyId}/pnl/history',
      { strategyId: 'alpha' },
      { query: { cursor: 'bm90LWEta2V5' } },
    );

    // assess
    expect(errorOf(unknown)).toMatchObject({ code: 'invalid_request', details: [{ field: 'query.page' }] });
    expect(errorOf(badLimit).details?.[0]?.field).toBe('query.limit');
    expect(errorOf(reversed).details?.[0]?.field).toBe('query.from');
    expect(tampered.statusCode).toBe(400);
  });

  it('answers 404 for an unknown strategy, session, or a run of another strategy', async () => {
    // act
    const responses = await Promise.all([
      get('/strategies/{strategyId}', { strategyId: 'nobody' }),
      get('/strategies/{strategyId}/trades', { strategyId: 'nobody' }),
      get('/sessions/{runId}', { runId: 'dry-run-nobody-0001' }),
      get('/strategies/{strategyId}/pnl/history', { strategyId: 'alpha' }, { query: { run_id: liveRun } }),
    ]);

    // assess
    for (const response of responses) {
      expect(response.statusCode).toBe(404);
      expect(errorOf(response).code).toBe('not_found');
    }
  });

  it('answers 401 without a token and 403 without strategies:read', async () => {
    // act
    const anonymous = await get('/strategies', {}, { scopes: null });
    const writeOnly = await get('/strategies', {}, { scopes: ['tradai/strategies:write'] });

    // assess
    expect(anonymous.statusCode).toBe(401);
    expect(writeOnly.statusCode).toBe(403);
  });

  it('routes by path when the gateway sends a $default route key, static paths before templates', async () => {
    // act
    const pnl = await invoke({
      method: 'GET',
      route: '/strategies/pnl',
      scopes: READ_SCOPES,
      routeKey: '$default',
    });
    const trades = await invoke({
      method: 'GET',
      route: '/strategies/{strategyId}/trades',
      params: { strategyId: 'alpha' },
      scopes: READ_SCOPES,
      routeKey: '$default',
    });
    const unknown = await invoke({
      method: 'GET',
      route: '/strategies/alpha/orders',
      scopes: READ_SCOPES,
      routeKey: '$default',
    });

    // assess
    expect(pnl.statusCode).toBe(200);
    expect(pnl.body.totals).toBeDefined();
    expect(trades.statusCode).toBe(200);
    expect(trades.body.run_id).toBe(runningRun);
    expect(unknown.statusCode).toBe(404);
  });

  it('answers every fuzzed path parameter and query string with 200, 400 or 404, never a 5xx', async () => {
    // prepare
    const route = fc.constantFrom(
      ['/strategies/{strategyId}', 'strategyId'],
      ['/strategies/{strategyId}/trades', 'strategyId'],
      ['/strategies/{strategyId}/pnl/history', 'strategyId'],
      ['/sessions/{runId}', 'runId'],
    );
    const query = fc.dictionary(
      fc.constantFrom('from', 'to', 'limit', 'cursor', 'run_id', 'x'),
      fc.oneof(
        fc.string({ maxLength: 40 }),
        fc.integer().map(String),
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      ),
      { maxKeys: 3 },
    );

    // act
    await fc.assert(
      fc.asyncProperty(
        route,
        fc.string({ maxLength: 90 }),
        query,
        async ([template, name], value, search) => {
          const response = await get(template, { [name]: value }, { query: search });
          expect([200, 400, 404]).toContain(response.statusCode);
          expect(response.raw).not.toMatch(/\n\s+at /);
        },
      ),
      { numRuns: 200, seed: 20260304 },
    );
  });
});
