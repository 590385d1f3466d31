import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoSessionStore } from '../../shared/adapters/dynamodb/session-store';
import {
  accountScope,
  FLEET,
  FLEET_SCOPE_KEY,
  ManualClock,
  scopeKeyOf,
  type TradingScope,
} from '../../shared/domain';
import { startTestDynamo, type TestDynamo } from '../support/dynamo';
import { newSessionInput, pathTo } from './session-store.contract';

const ACCOUNT = 'a1b2c3d4e5f60718a1b2c3d4e5f60718';
const OTHER_ACCOUNT = 'ffffeeeeddddccccbbbbaaaa99998888';

describe('TradingScopeStore: DynamoDB (embedded, over HTTP)', () => {
  let test: TestDynamo;
  let store: DynamoSessionStore;
  const clock = new ManualClock('2026-03-01T12:00:00.000Z');

  beforeAll(async () => {
    test = await startTestDynamo();
    store = test.newStore(clock);
  });
  afterAll(async () => {
    await test.close();
  });

  /** A session moved honestly through the transition table to `status`, claimed by `agent-1`. */
  const sessionIn = async (
    status: 'running' | 'paused' | 'pending',
    mode: 'dry-run' | 'live' | 'backtest' = 'dry-run',
    accountId?: string,
  ) => {
    const input = newSessionInput(`s${Math.random().toString(36).slice(2, 10)}`, {
      trading_mode: mode,
      run_id: undefined as never,
    });
    const runId = `${mode}-${input.strategy_id}-${Date.now().toString(36)}`;
    const created = await store.createSession({ ...input, run_id: runId });
    if (!created.ok) throw new Error(created.message);
    if (status === 'pending') return created.session;
    await store.claimSession({
      run_id: runId,
      agent_id: 'agent-1',
      strategy_version: 'v1',
      exchange: 'binance',
      pairs: ['BTC/USDT'],
      ...(accountId === undefined ? {} : { account_id: accountId }),
    });
    for (const step of pathTo(status)) {
      const moved = await store.transition(runId, step);
      if (!moved.ok) throw new Error(moved.message);
    }
    if (status === 'paused') await store.setDesiredState(runId, 'paused', 'operator pause');
    const session = await store.get(runId);
    if (session === undefined) throw new Error('gone');
    return session;
  };

  const change = (to: TradingScope['state'], expectedGeneration: number, scope = FLEET) =>
    store.changeTradingScope({ scope, to, expectedGeneration, actor: 'alice', reason: `going ${to}` });

  it('reads a never-changed scope as active at generation 0, without storing anything', async () => {
    const scope = await store.getTradingScope(accountScope(OTHER_ACCOUNT));

    expect(scope).toMatchObject({ state: 'active', generation: 0, run_id: `scope#account#${OTHER_ACCOUNT}` });
    expect(await store.listTradingScopes()).toEqual([]);
  });

  it('refuses a scope change written from a stale generation (a concurrent halt), naming the current state', async () => {
    const first = await change('reducing', 0);
    const stale = await change('halted', 0);

    expect(first.ok).toBe(true);
    expect(stale).toMatchObject({
      ok: false,
      reason: 'conflict',
      current: { state: 'reducing', generation: 1 },
    });
    const resumed = await change('active', 1);
    expect(resumed).toMatchObject({
      ok: true,
      scope: { state: 'active', generation: 2, previous_state: 'reducing', changed_by: 'alice' },
    });
  });

  it('refuses a transition the table does not allow (halted to reducing) even at the right generation', async () => {
    const scope = accountScope(ACCOUNT);
    expect((await change('halted', 0, scope)).ok).toBe(true);

    const relaxed = await change('reducing', 1, scope);

    expect(relaxed).toMatchObject({ ok: false, reason: 'conflict', current: { state: 'halted' } });
    expect((await change('active', 1, scope)).ok).toBe(true);
  });

  it('lists every changed scope, the fleet first, through the lock index (no scan)', async () => {
    const scopes = await store.listTradingScopes();

    expect(scopes.map((scope) => scope.run_id)).toEqual([FLEET_SCOPE_KEY, `scope#account#${ACCOUNT}`]);
    expect(await store.listStrategies()).toMatchObject({
      items: expect.not.arrayContaining([expect.objectContaining({ run_id: FLEET_SCOPE_KEY })]),
    });
  });

  it('refuses a live or dry-run start while the fleet is not active, naming who halted it and why', async () => {
    const fleet = await store.getTradingScope(FLEET);
    expect((await change('reducing', fleet.generation)).ok).toBe(true);

    const refused = await store.createSession(newSessionInput('blocked-start', { trading_mode: 'live' }));
    const backtest = await store.createSession(
      newSessionInput('blocked-backtest', { trading_mode: 'backtest' }),
    );

    expect(refused).toMatchObject({
      ok: false,
      reason: 'scope_not_active',
      scope: { state: 'reducing', changed_by: 'alice' },
    });
    if (!refused.ok) expect(refused.message).toContain('going reducing');
    expect(await store.getLock('blocked-start')).toBeUndefined();
    // A backtest places no orders: a halt of the bots does not hold it back.
    expect(backtest.ok).toBe(true);
    expect((await change('active', fleet.generation + 1)).ok).toBe(true);
  });

  it('refuses the first live claim of a session on an account that is not active, but lets a running session re-claim', async () => {
    const running = await sessionIn('running', 'live', ACCOUNT);
    const fresh = await sessionIn('pending', 'live');
    await store.transition(fresh.run_id, 'launching');
    const account = await store.getTradingScope(accountScope(ACCOUNT));
    expect((await change('reducing', account.generation, accountScope(ACCOUNT))).ok).toBe(true);

    const claim = { agent_id: 'agent-2', strategy_version: 'v1', exchange: 'binance', account_id: ACCOUNT };
    const refused = await store.claimSession({ ...claim, run_id: fresh.run_id, pairs: ['SOL/USDT'] });
    const replacement = await store.claimSession({ ...claim, run_id: running.run_id, pairs: ['BTC/USDT'] });

    expect(refused).toMatchObject({ ok: false, reason: 'scope_not_active', scope: { state: 'reducing' } });
    expect(await store.getAccountLease(ACCOUNT, 'SOL/USDT')).toBeUndefined();
    expect(replacement.ok).toBe(true);
    expect((await change('active', account.generation + 1, accountScope(ACCOUNT))).ok).toBe(true);
  });

  it('pauses a running session for a scope and records the hold; a second scope joins the hold', async () => {
    const session = await sessionIn('running');
    const fleetKey = FLEET_SCOPE_KEY;
    const accountKey = scopeKeyOf(accountScope(ACCOUNT));

    const held = await store.holdForScope(session.run_id, fleetKey);
    const joined = await store.holdForScope(session.run_id, accountKey);
    const again = await store.holdForScope(session.run_id, fleetKey);

    expect(held).toMatchObject({
      ok: true,
      session: { desired_state: 'paused', scope_holds: [fleetKey], scope_cause: fleetKey },
    });
    expect(joined).toMatchObject({ ok: true, session: { scope_holds: [fleetKey, accountKey] } });
    expect(again).toMatchObject({ ok: true, session: { scope_holds: [fleetKey, accountKey] } });
  });

  it('resumes a held session only when its last hold is released', async () => {
    const session = await sessionIn('running');
    const accountKey = scopeKeyOf(accountScope(ACCOUNT));
    await store.holdForScope(session.run_id, FLEET_SCOPE_KEY);
    await store.holdForScope(session.run_id, accountKey);

    const fleetGone = await store.releaseScopeHold(session.run_id, FLEET_SCOPE_KEY, true);
    const lastGone = await store.releaseScopeHold(session.run_id, accountKey, true);

    expect(fleetGone).toMatchObject({
      ok: true,
      session: { desired_state: 'paused', scope_holds: [accountKey] },
    });
    expect(lastGone).toMatchObject({ ok: true, session: { desired_state: 'running' } });
    if (lastGone.ok) expect(lastGone.session.scope_holds).toBeUndefined();
  });

  it("does not take over a pause an operator made before the halt (its resume is not the scope's)", async () => {
    const session = await sessionIn('paused');

    const held = await store.holdForScope(session.run_id, FLEET_SCOPE_KEY);

    expect(held).toMatchObject({ ok: false, reason: 'not_allowed' });
    expect((await store.get(session.run_id))?.scope_holds).toBeUndefined();
  });

  it("gives the pause to the operator who pauses a held session, so the scope's resume leaves it paused", async () => {
    const session = await sessionIn('running');
    await store.holdForScope(session.run_id, FLEET_SCOPE_KEY);

    const paused = await store.setDesiredState(session.run_id, 'paused', 'operator takes over');
    const released = await store.releaseScopeHold(session.run_id, FLEET_SCOPE_KEY, true);

    expect(paused).toMatchObject({ ok: true, session: { desired_state: 'paused', scope_cause: null } });
    expect(released).toMatchObject({ ok: true, session: { desired_state: 'paused' } });
  });

  it('stops a session with flatten for a halted scope, naming the scope as its cause', async () => {
    const session = await sessionIn('running');

    const stopped = await store.stopForScope(session.run_id, FLEET_SCOPE_KEY, 'fleet halted by alice: test');

    expect(stopped).toMatchObject({
      ok: true,
      session: {
        status: 'stopping',
        desired_state: 'stopped',
        flatten_on_stop: true,
        scope_cause: FLEET_SCOPE_KEY,
      },
    });
  });
});
