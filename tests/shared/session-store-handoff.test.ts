import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoSessionStore } from '../../shared/adapters/dynamodb/session-store';
import { ManualClock } from '../../shared/domain';
import type { Handoff } from '../../shared/domain/handoff';
import { startTestDynamo, type TestDynamo } from '../support/dynamo';
import { newSessionInput } from './session-store.contract';

/** Each test trades its own exchange account, so the leases of one never meet another's. */
let accounts = 0;
let ACCOUNT = '';
const OTHER_ACCOUNT = 'f'.repeat(32);

const handoffOf = (from: string, to: string): Handoff => ({
  kind: 'deploy',
  mode: 'carry_positions',
  wait_flat_s: 0,
  phase: 'requested',
  from_run_id: from,
  to_run_id: to,
  rollback_of: null,
  requested_at: '2026-01-01T00:00:00.000Z',
  reason: 'new version',
});

describe('DynamoSessionStore: handoff of lock and account leases (embedded DynamoDB)', () => {
  let test: TestDynamo;
  let store: DynamoSessionStore;
  beforeAll(async () => {
    test = await startTestDynamo();
    store = test.newStore(new ManualClock('2026-01-01T00:00:00.000Z'));
  });
  afterAll(async () => {
    await test?.close();
  });

  /** A live session of `strategyId` claimed by agent-old on ACCOUNT with `pairs`, running. */
  const runningLive = async (strategyId: string, pairs = ['BTC/USDT', 'ETH/USDT']) => {
    accounts += 1;
    ACCOUNT = accounts.toString(16).padStart(32, 'a');
    const input = newSessionInput(strategyId, { trading_mode: 'live' });
    expect((await store.createSession(input)).ok).toBe(true);
    await store.transition(input.run_id, 'launching');
    const claim = await store.claimSession({
      run_id: input.run_id,
      agent_id: 'agent-old',
      exchange: 'binance',
      pairs,
      strategy_version: '1.0.0',
      account_id: ACCOUNT,
    });
    expect(claim.ok, JSON.stringify(claim)).toBe(true);
    await store.transition(input.run_id, 'running');
    return input.run_id;
  };

  const successorOf = async (strategyId: string, predecessor: string) => {
    const input = newSessionInput(strategyId, { trading_mode: 'live', run_id: `live-${strategyId}-next` });
    const created = await store.createSuccessor(input, {
      lockHolder: predecessor,
      superseded: [{ run_id: predecessor, statuses: ['running', 'paused'], supersededBy: null }],
      handoff: handoffOf(predecessor, input.run_id),
    });
    expect(created.ok, JSON.stringify(created)).toBe(true);
    return input.run_id;
  };

  /** What the predecessor's agent does at the end of its handoff stop: stopping, then stopped. */
  const stopPredecessor = async (runId: string) => {
    await store.transition(runId, 'stopping', { patch: { desired_state: 'stopped' } });
    await store.transition(runId, 'stopped', { from: ['stopping'], heldBy: 'agent-old' });
  };

  const claimOf = (runId: string, agentId: string, pairs: string[], account = ACCOUNT) =>
    store.claimSession({
      run_id: runId,
      agent_id: agentId,
      exchange: 'binance',
      pairs,
      strategy_version: '1.1.0',
      account_id: account,
    });

  it('creates the successor and marks its predecessor superseded in one write; a second deploy meanwhile is refused naming the handoff, writing nothing', async () => {
    const old = await runningLive('ho-create');
    const next = await successorOf('ho-create', old);

    const second = await store.createSuccessor(
      newSessionInput('ho-create', { run_id: 'live-ho-create-again' }),
      {
        lockHolder: old,
        superseded: [{ run_id: old, statuses: ['running', 'paused'], supersededBy: null }],
        handoff: handoffOf(old, 'live-ho-create-again'),
      },
    );

    expect(second).toMatchObject({ ok: false, reason: 'handoff_refused' });
    expect(second.ok ? '' : second.message).toContain(next);
    expect(await store.get('live-ho-create-again')).toBeUndefined();
    expect((await store.get(old))?.superseded_by).toBe(next);
    expect((await store.get(next))?.supersedes).toBe(old);
    expect((await store.getLock('ho-create'))?.active_run_id).toBe(old);
  });

  it('refuses to pass the lock, and the successor claim, while its predecessor still runs (handoff_not_ready): lock and leases stay with the old run', async () => {
    const old = await runningLive('ho-early');
    const next = await successorOf('ho-early', old);
    await store.transition(next, 'launching');

    const passed = await store.passLock('ho-early', old, next);
    const claim = await claimOf(next, 'agent-new', ['BTC/USDT', 'ETH/USDT']);

    expect(passed).toMatchObject({ ok: false, reason: 'handoff_not_ready' });
    expect(claim).toMatchObject({ ok: false, reason: 'handoff_not_ready' });
    expect((await store.get(next))?.agent_id).toBeNull();
    expect((await store.getLock('ho-early'))?.active_run_id).toBe(old);
    expect((await store.getAccountLease(ACCOUNT, 'BTC/USDT'))?.holder_run_id).toBe(old);
  });

  it('refuses the successor claim until the lock was passed to it, even with its predecessor over', async () => {
    const old = await runningLive('ho-nolock');
    const next = await successorOf('ho-nolock', old);
    await stopPredecessor(old);
    await store.transition(next, 'launching');

    const claim = await claimOf(next, 'agent-new', ['BTC/USDT']);

    expect(claim).toMatchObject({ ok: false, reason: 'handoff_not_ready' });
    expect(claim.ok ? '' : claim.message).toContain('has not passed it');
    expect((await store.getAccountLease(ACCOUNT, 'BTC/USDT'))?.holder_run_id).toBe(old);
  });

  it('keeps lock and leases of a superseded run stopped before its successor claimed (releaseLock handing_off; it freed them, leaving the account without a holder)', async () => {
    const old = await runningLive('ho-gap');
    const next = await successorOf('ho-gap', old);
    await stopPredecessor(old);

    const released = await store.releaseLock('ho-gap', old);

    expect(released).toMatchObject({ ok: false, reason: 'handing_off', successorRunId: next });
    expect((await store.getLock('ho-gap'))?.active_run_id).toBe(old);
    expect((await store.getAccountLease(ACCOUNT, 'BTC/USDT'))?.holder_run_id).toBe(old);
    // Another strategy's live run on the same account cannot take the pair while it passes.
    const intruder = newSessionInput('ho-gap-other', { trading_mode: 'live' });
    await store.createSession(intruder);
    expect(await claimOf(intruder.run_id, 'agent-x', ['BTC/USDT'])).toMatchObject({
      ok: false,
      reason: 'account_busy',
      holderRunId: old,
    });
  });

  it("passes the lock and every lease to the successor in its claim, and frees the predecessor's leases it did not take", async () => {
    const old = await runningLive('ho-pass', ['BTC/USDT', 'ETH/USDT', 'SOL/USDT']);
    const next = await successorOf('ho-pass', old);
    await stopPredecessor(old);
    await store.transition(next, 'launching');
    expect(await store.passLock('ho-pass', old, next)).toEqual({ ok: true });

    const claim = await claimOf(next, 'agent-new', ['BTC/USDT', 'ETH/USDT']);

    expect(claim.ok, JSON.stringify(claim)).toBe(true);
    expect((await store.getLock('ho-pass'))?.active_run_id).toBe(next);
    expect((await store.get(next))?.account_id).toBe(ACCOUNT);
    expect((await store.getAccountLease(ACCOUNT, 'BTC/USDT'))?.holder_run_id).toBe(next);
    expect((await store.getAccountLease(ACCOUNT, 'ETH/USDT'))?.holder_run_id).toBe(next);
    expect((await store.getAccountLease(ACCOUNT, 'SOL/USDT'))?.holder_run_id).toBeNull();
    // The predecessor's teardown, arriving late, frees nothing the successor holds.
    expect((await store.releaseLock('ho-pass', old)).ok).toBe(false);
    expect((await store.getAccountLease(ACCOUNT, 'BTC/USDT'))?.holder_run_id).toBe(next);
  });

  it("frees the old key's leases when the successor claims with a rotated key (another account id)", async () => {
    const old = await runningLive('ho-rotate', ['BTC/USDT']);
    const next = await successorOf('ho-rotate', old);
    await stopPredecessor(old);
    await store.transition(next, 'launching');
    await store.passLock('ho-rotate', old, next);

    const claim = await claimOf(next, 'agent-new', ['BTC/USDT'], OTHER_ACCOUNT);

    expect(claim.ok).toBe(true);
    expect((await store.getAccountLease(OTHER_ACCOUNT, 'BTC/USDT'))?.holder_run_id).toBe(next);
    expect((await store.getAccountLease(ACCOUNT, 'BTC/USDT'))?.holder_run_id).toBeNull();
  });

  it('frees lock and leases of a superseded run once its successor failed before claiming', async () => {
    const old = await runningLive('ho-failed');
    const next = await successorOf('ho-failed', old);
    await stopPredecessor(old);
    await store.transition(next, 'failed', { patch: { status_reason: 'config' } });

    const released = await store.releaseLock('ho-failed', old);

    expect(released).toEqual({ ok: true });
    expect((await store.getLock('ho-failed'))?.active_run_id).toBeNull();
    expect((await store.getAccountLease(ACCOUNT, 'BTC/USDT'))?.holder_run_id).toBeNull();
  });

  it('lets a rollback of a successor that never claimed take the leases from the run before it', async () => {
    const old = await runningLive('ho-rollback');
    const failed = await successorOf('ho-rollback', old);
    await stopPredecessor(old);
    await store.transition(failed, 'launching');
    await store.passLock('ho-rollback', old, failed);
    await store.transition(failed, 'failed', { patch: { status_reason: 'bad config' } });
    const rollback = newSessionInput('ho-rollback', {
      trading_mode: 'live',
      run_id: 'live-ho-rollback-back',
    });
    const created = await store.createSuccessor(rollback, {
      lockHolder: failed,
      superseded: [
        { run_id: failed, statuses: ['failed'], supersededBy: null },
        { run_id: old, statuses: ['stopped'], supersededBy: failed },
      ],
      handoff: { ...handoffOf(failed, rollback.run_id), kind: 'rollback', rollback_of: failed },
    });
    expect(created.ok, JSON.stringify(created)).toBe(true);
    // The failed run's and the old run's teardowns keep everything for the rollback.
    expect((await store.releaseLock('ho-rollback', failed)).ok).toBe(false);
    expect((await store.releaseLock('ho-rollback', old)).ok).toBe(false);

    await store.transition(rollback.run_id, 'launching');
    expect(await store.passLock('ho-rollback', failed, rollback.run_id)).toEqual({ ok: true });
    const claim = await claimOf(rollback.run_id, 'agent-back', ['BTC/USDT', 'ETH/USDT']);

    expect(claim.ok, JSON.stringify(claim)).toBe(true);
    expect((await store.getLock('ho-rollback'))?.active_run_id).toBe(rollback.run_id);
    expect((await store.getAccountLease(ACCOUNT, 'BTC/USDT'))?.holder_run_id).toBe(rollback.run_id);
  });

  it("keeps the lock a failed successor was passed until its launch decided on a rollback (the stream's teardown freed it first, and the rollback found no lock)", async () => {
    const old = await runningLive('ho-undecided');
    const failed = await successorOf('ho-undecided', old);
    await stopPredecessor(old);
    await store.transition(failed, 'launching');
    await store.passLock('ho-undecided', old, failed);
    await store.update(failed, { handoff: { ...handoffOf(old, failed), phase: 'predecessor_gone' } }, [
      'launching',
    ]);
    await store.transition(failed, 'failed', { patch: { status_reason: 'bad config' } });

    const released = await store.releaseLock('ho-undecided', failed);

    expect(released).toMatchObject({ ok: false, reason: 'handing_off' });
    expect((await store.getLock('ho-undecided'))?.active_run_id).toBe(failed);
    // Decided without a rollback: now it frees.
    await store.update(failed, { handoff: { ...handoffOf(old, failed), phase: 'failed' } }, ['failed']);
    expect(await store.releaseLock('ho-undecided', failed)).toEqual({ ok: true });
  });

  it("refuses a successor's claim while its account is not active (a halt between deploy and claim): the leases stay with the old run", async () => {
    const old = await runningLive('ho-account-halt');
    const next = await successorOf('ho-account-halt', old);
    await stopPredecessor(old);
    await store.transition(next, 'launching');
    await store.passLock('ho-account-halt', old, next);
    const halted = await store.changeTradingScope({
      scope: { kind: 'account', account_id: ACCOUNT },
      to: 'reducing',
      expectedGeneration: 0,
      actor: 'alice',
      reason: 'test',
    });
    expect(halted.ok).toBe(true);

    const claim = await claimOf(next, 'agent-new', ['BTC/USDT']);

    expect(claim).toMatchObject({ ok: false, reason: 'scope_not_active' });
    expect((await store.getAccountLease(ACCOUNT, 'BTC/USDT'))?.holder_run_id).toBe(old);
  });

  // Last: it leaves the fleet halted for this file's DynamoDB.
  it('refuses a deploy while the fleet is halted, writing nothing (the successor would start trading)', async () => {
    const old = await runningLive('ho-fleet-halt');
    expect(
      (
        await store.changeTradingScope({
          scope: { kind: 'fleet' },
          to: 'reducing',
          expectedGeneration: 0,
          actor: 'alice',
          reason: 'test',
        })
      ).ok,
    ).toBe(true);

    const input = newSessionInput('ho-fleet-halt', {
      trading_mode: 'live',
      run_id: 'live-ho-fleet-halt-next',
    });
    const created = await store.createSuccessor(input, {
      lockHolder: old,
      superseded: [{ run_id: old, statuses: ['running', 'paused'], supersededBy: null }],
      handoff: handoffOf(old, input.run_id),
    });

    expect(created).toMatchObject({ ok: false, reason: 'handoff_refused' });
    expect(await store.get(input.run_id)).toBeUndefined();
    expect((await store.get(old))?.superseded_by ?? null).toBeNull();
  });
});
