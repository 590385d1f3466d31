import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler as createControl } from '../../../functions/api/control-strategy/handler';
import { createHandler } from '../../../functions/api/trading-scope/handler';
import { LocalAlertPublisher } from '../../../local/cloud/alerts';
import type { DynamoSessionStore } from '../../../shared/adapters/dynamodb/session-store';
import type { SessionHealth } from '../../../shared/domain/session';
import {
  type ApiTestEnv,
  errorOf,
  type Invoke,
  invoker,
  LIVE_GROUPS,
  LIVE_LIMITS,
  runningSession,
  startApiTest,
  WRITE_SCOPES,
} from './support';

const ACCOUNT = 'a1b2c3d4e5f60718a1b2c3d4e5f60718';

describe('Handler: trading-scope (kill switch)', () => {
  let env: ApiTestEnv;
  let store: DynamoSessionStore;
  let invoke: Invoke;
  let control: Invoke;
  const alerts = new LocalAlertPublisher({ print: () => undefined });

  beforeAll(async () => {
    env = await startApiTest();
    store = env.dynamo.newStore(env.clock);
    // No agent runs here: a held session never confirms, so the bound is kept short.
    invoke = invoker(
      createHandler({
        ...env.deps,
        store,
        alerts,
        budgets: env.dynamo.newBudgets(env.clock),
        confirmTimeoutMs: 300,
        confirmPollMs: 50,
      }),
    );
    control = invoker(createControl(env.deps));
  });
  afterAll(async () => env.close());

  const halt = (body: unknown, accountId?: string, extra: Partial<Parameters<Invoke>[0]> = {}) =>
    invoke({
      method: 'POST',
      route: accountId === undefined ? '/fleet/halt' : '/accounts/{accountId}/halt',
      ...(accountId === undefined ? {} : { params: { accountId } }),
      body,
      scopes: WRITE_SCOPES,
      ...extra,
    });
  const resume = (reason: string, accountId?: string, extra: Partial<Parameters<Invoke>[0]> = {}) =>
    invoke({
      method: 'POST',
      route: accountId === undefined ? '/fleet/resume' : '/accounts/{accountId}/resume',
      ...(accountId === undefined ? {} : { params: { accountId } }),
      body: { reason },
      scopes: WRITE_SCOPES,
      ...extra,
    });

  it('refuses a halt without a reason or with an unknown mode (400 naming the field), writing nothing', async () => {
    const missing = await halt({ mode: 'reducing' });
    const unknown = await halt({ mode: 'panic', reason: 'x' });
    const badAccount = await halt({ mode: 'halted', reason: 'x' }, 'NOT-AN-ACCOUNT');

    expect(missing.statusCode).toBe(400);
    expect(errorOf(missing).details?.map((issue) => issue.field)).toEqual(['reason']);
    expect(unknown.statusCode).toBe(400);
    expect(errorOf(unknown).details?.map((issue) => issue.field)).toEqual(['mode']);
    expect(badAccount.statusCode).toBe(400);
    expect(await store.listTradingScopes()).toEqual([]);
  });

  it('lists an agent that does not confirm within the bound in the answer and the page (never counted as done)', async () => {
    // prepare: a running session whose agent never answers (none runs here)
    const session = await runningSession(env, 'scope-hung');

    // act
    const response = await halt({ mode: 'reducing', reason: 'exchange incident' }, undefined, {
      subject: 'alice',
    });

    // assess
    expect(response.statusCode, response.raw).toBe(200);
    expect(response.body).toMatchObject({
      scope: 'fleet',
      state: 'reducing',
      changed_by: 'alice',
      changed: true,
    });
    const sessions = response.body.sessions as {
      acted: { run_id: string }[];
      unconfirmed: { run_id: string }[];
      confirmed: string[];
    };
    expect(sessions.acted.map((item) => item.run_id)).toEqual([session.run_id]);
    expect(sessions.confirmed).toEqual([]);
    expect(sessions.unconfirmed).toMatchObject([
      { run_id: session.run_id, status: 'running', freqtrade_state: 'running' },
    ]);
    expect((await store.get(session.run_id))?.desired_state).toBe('paused');
    const pages = alerts.published.filter((alert) => alert.kind.startsWith('scope.'));
    expect(pages.map((page) => page.severity)).toEqual(['CRITICAL']);
    expect(pages[0]?.message).toContain('NOT CONFIRMED (1)');
    expect(pages[0]?.message).toContain(session.run_id);
  });

  it('refuses a start and a session resume while the fleet is reducing, naming the scope, actor and reason (409)', async () => {
    const start = await invoker(
      (await import('../../../functions/api/start-strategy/handler')).createHandler(env.deps),
    )({
      method: 'POST',
      route: '/strategies/{strategyId}/start',
      params: { strategyId: 'scope-late' },
      body: { strategy: 'PascalStrategy', mode: 'dry-run', alias: 'champion', reason: 'late' },
      scopes: WRITE_SCOPES,
    });
    const resumeSession = await control({
      method: 'POST',
      route: '/strategies/{strategyId}/resume',
      params: { strategyId: 'scope-hung' },
      body: { reason: 'too early' },
      scopes: WRITE_SCOPES,
    });

    for (const refused of [start, resumeSession]) {
      expect(refused.statusCode, refused.raw).toBe(409);
      expect(errorOf(refused).code).toBe('scope_not_active');
      expect(errorOf(refused).message).toContain('fleet is reducing (by alice');
      expect(errorOf(refused).message).toContain('exchange incident');
    }
    expect(await env.deps.store.getLock('scope-late')).toBeUndefined();
  });

  it('refuses a halt that would relax the state (halted to reducing) with 409, and repeats the same halt without a page', async () => {
    const pagesBefore = alerts.published.length;
    const hardened = await halt({ mode: 'halted', reason: 'worse' });
    const relaxed = await halt({ mode: 'reducing', reason: 'better?' });
    const repeated = await halt({ mode: 'halted', reason: 'again' });

    expect(hardened.statusCode).toBe(200);
    expect(relaxed.statusCode).toBe(409);
    expect(errorOf(relaxed).code).toBe('scope_less_restrictive');
    expect(repeated.statusCode).toBe(200);
    expect(repeated.body.changed).toBe(false);
    expect(alerts.published.length - pagesBefore).toBe(1);
  });

  it('needs the live permission to resume a scope that holds a live session, not to halt it', async () => {
    // prepare: the fleet resumed by hand, then a live session on the account
    const LIVE = {
      scopes: ['tradai/strategies:read', 'tradai/strategies:write', 'tradai/strategies:live'],
      groups: LIVE_GROUPS,
    };
    expect((await resume('incident over', undefined, LIVE)).statusCode).toBe(200);
    const live = await runningSession(env, 'scope-live', { mode: 'live' });
    await store.claimSession({
      run_id: live.run_id,
      agent_id: 'agent-live',
      strategy_version: '1',
      exchange: 'binance',
      pairs: ['ETH/USDT'],
      account_id: ACCOUNT,
    });
    expect((await store.get(live.run_id))?.account_id).toBe(ACCOUNT);

    // act
    const halted = await halt({ mode: 'reducing', reason: 'key rotation' }, ACCOUNT);
    const writerResume = await resume('rotated', ACCOUNT);
    const liveResume = await resume('rotated', ACCOUNT, LIVE);

    // assess
    expect(halted.statusCode, halted.raw).toBe(200);
    expect(writerResume.statusCode).toBe(403);
    expect(liveResume.statusCode, liveResume.raw).toBe(200);
    expect(writerResume.body.error).toMatchObject({ code: 'live_permission_required' });
    expect((await store.get(live.run_id))?.desired_state).toBe('running');
  });

  it('shows every scope with who set it and why (GET /fleet/state)', async () => {
    const state = await invoke({ method: 'GET', route: '/fleet/state', scopes: ['tradai/strategies:read'] });

    expect(state.statusCode).toBe(200);
    expect(state.body).toMatchObject({
      fleet: { scope: 'fleet', state: 'active', previous_state: 'halted', reason: 'incident over' },
      accounts: [{ scope: 'account', account_id: ACCOUNT, state: 'active', previous_state: 'reducing' }],
    });
  });
});

describe('Handler: trading-scope, a halt racing starts', () => {
  let env: ApiTestEnv;
  let store: DynamoSessionStore;

  beforeAll(async () => {
    env = await startApiTest();
    store = env.dynamo.newStore(env.clock);
  });
  afterAll(async () => env.close());

  it('leaves no session trading that a start created while the fleet was being halted (start refused, or found by the fan-out)', async () => {
    // prepare
    const halt = invoker(
      createHandler({
        ...env.deps,
        store,
        budgets: env.dynamo.newBudgets(env.clock),
        alerts: new LocalAlertPublisher({ print: () => undefined }),
        confirmTimeoutMs: 100,
        confirmPollMs: 50,
      }),
    );
    // Spread over the halt's run, so some land before its scope write and some after (either way the
    // assertions hold: that is the property).
    const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const starts = Array.from({ length: 40 }, async (_, index) => {
      await later(index * 10);
      return store.createSession({
        run_id: `dry-run-race-${index}-20260302093000-abcd`,
        strategy_id: `race-${index}`,
        strategy_name: 'PascalStrategy',
        trading_mode: 'dry-run',
        risk_limits: LIVE_LIMITS,
        requested_by: 'operator-1',
        trace_id: `race-${index}`,
      });
    });

    // act: the halt lands somewhere among the starts
    const [halted, ...created] = await Promise.all([
      halt({
        method: 'POST',
        route: '/fleet/halt',
        body: { mode: 'reducing', reason: 'race' },
        scopes: WRITE_SCOPES,
      }),
      ...starts,
    ]);

    // assess
    expect(halted.statusCode, halted.raw).toBe(200);
    const accepted = created.filter((result) => result.ok);
    const refused = created.filter((result) => !result.ok);
    expect(accepted.length + refused.length).toBe(40);
    for (const result of refused) expect(result).toMatchObject({ reason: 'scope_not_active' });
    for (const result of accepted) {
      const session = await store.get(result.session.run_id);
      expect(session?.desired_state, result.session.run_id).toBe('paused');
      expect(session?.scope_holds).toEqual(['scope#fleet']);
    }
  });
});

describe('Handler: trading-scope, a fleet resume over an agent that holds Freqtrade stopped', () => {
  let env: ApiTestEnv;
  let store: DynamoSessionStore;
  let invoke: Invoke;

  beforeAll(async () => {
    env = await startApiTest();
    store = env.dynamo.newStore(env.clock);
    invoke = invoker(
      createHandler({
        ...env.deps,
        store,
        alerts: new LocalAlertPublisher({ print: () => undefined }),
        budgets: env.dynamo.newBudgets(env.clock),
        confirmTimeoutMs: 100,
        confirmPollMs: 50,
      }),
    );
  });
  afterAll(async () => env.close());

  it('keeps a held session paused after the fleet resume, drops the fleet hold and lists it as agent_held (no silent dead bot)', async () => {
    // prepare: paused by a fleet halt, then its agent stopped Freqtrade for good (fail-closed)
    const session = await runningSession(env, 'scope-held');
    const halted = await invoke({
      method: 'POST',
      route: '/fleet/halt',
      body: { mode: 'reducing', reason: 'exchange incident' },
      scopes: WRITE_SCOPES,
    });
    expect(halted.statusCode, halted.raw).toBe(200);
    const paused = await store.get(session.run_id);
    const heartbeat = await store.recordHeartbeat({
      run_id: session.run_id,
      agent_id: session.agent_id ?? '',
      seq: session.heartbeat_seq + 1,
      at: new Date(env.clock.now()).toISOString(),
      metrics: session.metrics ?? undefined,
      health: {
        ...(paused?.health as SessionHealth),
        freqtrade_state: 'stopped',
        fail_closed: {
          command: 'pause',
          failure: 'POST /api/v1/pause: 500 Internal Server Error',
          action: 'process_stopped',
          at: new Date(env.clock.now()).toISOString(),
        },
      },
      risk: session.risk ?? undefined,
      open_trades: session.open_trades,
    } as Parameters<typeof store.recordHeartbeat>[0]);
    if (!heartbeat.ok) throw new Error(heartbeat.message);

    // act
    const resumed = await invoke({
      method: 'POST',
      route: '/fleet/resume',
      body: { reason: 'incident over' },
      scopes: WRITE_SCOPES,
    });

    // assess
    expect(resumed.statusCode, resumed.raw).toBe(200);
    const after = await store.get(session.run_id);
    expect(after?.desired_state).toBe('paused');
    expect(after?.scope_holds ?? []).toEqual([]);
    const sessions = resumed.body.sessions as {
      acted: { run_id: string }[];
      held: { run_id: string; reason: string; held_by: string; message: string }[];
    };
    expect(sessions.acted.map((item) => item.run_id)).not.toContain(session.run_id);
    expect(sessions.held).toMatchObject([
      { run_id: session.run_id, reason: 'agent_held', held_by: 'fail_closed' },
    ]);
    expect(sessions.held[0]?.message).toContain('stop it');
  });
});
