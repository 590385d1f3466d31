import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentClaim,
  type Heartbeat,
  InvalidInputError,
  MAX_LEASED_PAIRS,
  type ManualClock,
  type NewSession,
  predecessorsOf,
  type RiskLimits,
  SESSION_STATUSES,
  type SessionStatus,
  type SessionStore,
  TRANSITIONS,
} from '../../shared/domain';

export const limits: RiskLimits = {
  max_drawdown_pct: 10,
  max_daily_loss: 500,
  max_open_trades: 3,
  max_leverage: 2,
  max_monitor_failures: 3,
  breach_ladder: ['pause', 'flatten'],
  escalation_grace_s: 60,
};

let sequence = 0;
export const newSessionInput = (strategyId: string, overrides: Partial<NewSession> = {}): NewSession => {
  sequence += 1;
  return {
    run_id: `dry-run-${strategyId}-${String(sequence).padStart(6, '0')}`,
    strategy_id: strategyId,
    strategy_name: 'PascalStrategy',
    trading_mode: 'dry-run',
    risk_limits: limits,
    requested_by: 'operator-1',
    trace_id: `trace-${sequence}`,
    ...overrides,
  };
};

/** A new session of `strategyId` claimed by agent-a, as its agent's first write leaves it (pending, claimed). */
export const claimedSession = async (
  store: SessionStore,
  strategyId: string,
  claim: Partial<Omit<AgentClaim, 'run_id'>> = {},
): Promise<NewSession> => {
  const input = newSessionInput(strategyId);
  await store.createSession(input);
  await store.claimSession({
    run_id: input.run_id,
    agent_id: 'agent-a',
    strategy_version: null,
    exchange: 'binance',
    pairs: ['BTC/USDT'],
    ...claim,
  });
  return input;
};

export const heartbeatOf = (runId: string, agentId: string, seq: number, at: string): Heartbeat => ({
  run_id: runId,
  agent_id: agentId,
  seq,
  at,
  metrics: { total_trades: 45, win_rate: 0.62, pnl_today: 125.5, pnl_total: 1250, open_trade_count: 2 },
  health: {
    cpu_percent: 35,
    memory_mb: 512,
    exchange_connected: true,
    last_trade_at: at,
    freqtrade_state: 'running',
  },
  risk: {
    state: 'ok',
    snapshot: {
      equity: 10_125,
      peak_equity: 10_200,
      drawdown_pct: 0.74,
      daily_pnl: 125.5,
      open_trades: 2,
      max_leverage: 1,
      exposure: 200,
      monitor_failures: 0,
    },
    breaches: [],
    response: null,
    breached_at: null,
  },
  open_trades: [1, 2].map((tradeId) => ({
    trade_id: tradeId,
    pair: tradeId === 1 ? 'BTC/USDT:USDT' : 'ETH/USDT:USDT',
    is_short: false,
    amount: 0.01,
    open_rate: 60_000,
    current_rate: 60_100,
    stake_amount: 100,
    leverage: 1,
    profit_abs: 1,
    profit_ratio: 0.0016,
    open_date: at,
  })),
});

/** A path through the transition table from pending to `target`, so any status can be set up honestly. */
export const pathTo = (target: SessionStatus): SessionStatus[] => {
  const previous = new Map<SessionStatus, SessionStatus>();
  const queue: SessionStatus[] = ['pending'];
  for (let status = queue.shift(); status !== undefined; status = queue.shift()) {
    if (status === target) break;
    for (const next of TRANSITIONS[status]) {
      if (!previous.has(next) && next !== 'pending') {
        previous.set(next, status);
        queue.push(next);
      }
    }
  }
  const path: SessionStatus[] = [];
  for (
    let status: SessionStatus | undefined = target;
    status && status !== 'pending';
    status = previous.get(status)
  ) {
    path.unshift(status);
  }
  return path;
};

export interface StoreHarness {
  store: SessionStore;
  clock: ManualClock;
  /** A store on a separate client (its own connections), as a second Lambda or agent would have. */
  separateStore(): SessionStore;
  /** Every item of both tables, to prove a refused call wrote nothing. */
  snapshot(): Promise<unknown[]>;
  close(): Promise<void>;
}

export interface ContractOptions {
  /**
   * How many live claims race for one lease (200 unless said). A harness that sends one request at a time
   * (moto's, which has no isolation) runs the race as a sequence: every claim after the first meets the
   * lease already taken, so more claims prove nothing a few dozen do not, and cost it quadratic time.
   */
  leaseRaceClaims?: number;
}

/** The behaviour every SessionStore adapter must have. */
export const sessionStoreContract = (
  adapterName: string,
  start: () => Promise<StoreHarness>,
  { leaseRaceClaims = 200 }: ContractOptions = {},
) => {
  describe(`SessionStore contract: ${adapterName}`, () => {
    let harness: StoreHarness;
    beforeAll(async () => {
      harness = await start();
    });
    afterAll(async () => {
      await harness.close();
    });

    it('creates a pending session and takes the strategy lock', async () => {
      const input = newSessionInput('create-one');

      const result = await harness.store.createSession(input);

      expect(result.ok).toBe(true);
      const session = await harness.store.get(input.run_id);
      expect(session).toMatchObject({
        status: 'pending',
        desired_state: 'running',
        strategy_id: 'create-one',
      });
      expect((await harness.store.getLock('create-one'))?.active_run_id).toBe(input.run_id);
    });

    it('refuses a second active session for the strategy, naming the active run', async () => {
      const first = newSessionInput('busy-one');
      await harness.store.createSession(first);

      const second = await harness.store.createSession(newSessionInput('busy-one'));

      expect(second).toMatchObject({ ok: false, reason: 'strategy_busy', activeRunId: first.run_id });
    });

    it('keeps exactly one active session when 100 clients start the same strategy at once', async () => {
      const stores = Array.from({ length: 100 }, () => harness.separateStore());

      const results = await Promise.all(
        stores.map((store) => store.createSession(newSessionInput('race-one'))),
      );

      const winners = results.filter((result) => result.ok);
      expect(winners).toHaveLength(1);
      const lock = await harness.store.getLock('race-one');
      expect(winners[0]?.ok && winners[0].session.run_id).toBe(lock?.active_run_id);
      expect(results.filter((result) => !result.ok && result.reason === 'strategy_busy')).toHaveLength(99);
      const sessions = await harness.store.listByStatus('pending', { limit: 1000 });
      expect(sessions.items.filter((session) => session.strategy_id === 'race-one')).toHaveLength(1);
    });

    it('lets a new session start once the lock is released, and remembers the last run', async () => {
      const first = newSessionInput('release-one');
      await harness.store.createSession(first);

      expect(await harness.store.releaseLock('release-one', first.run_id)).toEqual({ ok: true });
      const second = newSessionInput('release-one');
      const result = await harness.store.createSession(second);

      expect(result.ok).toBe(true);
      expect(await harness.store.releaseLock('release-one', first.run_id)).toMatchObject({
        ok: false,
        reason: 'not_held',
        activeRunId: second.run_id,
      });
    });

    it('refuses a duplicate run id without touching the lock', async () => {
      const input = newSessionInput('dup-one');
      await harness.store.createSession(input);
      await harness.store.releaseLock('dup-one', input.run_id);

      const again = await harness.store.createSession(input);

      expect(again).toMatchObject({ ok: false, reason: 'duplicate_run_id' });
      expect((await harness.store.getLock('dup-one'))?.active_run_id).toBeNull();
    });

    it('records a claimed agent heartbeat and hands back the desired state', async () => {
      const input = newSessionInput('beat-one');
      await harness.store.createSession(input);
      await harness.store.claimSession({
        run_id: input.run_id,
        agent_id: 'agent-a',
        strategy_version: '2.0.0',
        exchange: 'binance',
        pairs: ['BTC/USDT:USDT'],
      });
      await harness.store.setDesiredState(input.run_id, 'paused');

      const result = await harness.store.recordHeartbeat(
        heartbeatOf(input.run_id, 'agent-a', 1, '2026-01-01T00:00:30.000Z'),
      );

      expect(result.ok && result.desiredState).toBe('paused');
      const session = await harness.store.get(input.run_id);
      expect(session).toMatchObject({
        last_heartbeat: '2026-01-01T00:00:30.000Z',
        heartbeat_seq: 1,
        strategy_version: '2.0.0',
        metrics: { total_trades: 45, win_rate: 0.62, pnl_today: 125.5, pnl_total: 1250 },
        health: { cpu_percent: 35, memory_mb: 512, exchange_connected: true },
      });
      expect(session?.open_trades).toHaveLength(2);
    });

    it('fences heartbeats: superseded agent, out-of-order seq, terminal session, unknown run', async () => {
      const input = newSessionInput('fence-one');
      await harness.store.createSession(input);
      const claim = { run_id: input.run_id, exchange: null, pairs: [], strategy_version: null };
      await harness.store.claimSession({ ...claim, agent_id: 'agent-old' });
      await harness.store.recordHeartbeat(
        heartbeatOf(input.run_id, 'agent-old', 1, '2026-01-01T00:00:00.000Z'),
      );
      await harness.store.claimSession({ ...claim, agent_id: 'agent-new' });

      const superseded = await harness.store.recordHeartbeat(
        heartbeatOf(input.run_id, 'agent-old', 2, '2026-01-01T00:00:30.000Z'),
      );
      const outOfOrder = await harness.store.recordHeartbeat(
        heartbeatOf(input.run_id, 'agent-new', 1, '2026-01-01T00:00:30.000Z'),
      );
      await harness.store.transition(input.run_id, 'failed');
      const terminal = await harness.store.recordHeartbeat(
        heartbeatOf(input.run_id, 'agent-new', 5, '2026-01-01T00:01:00.000Z'),
      );
      const unknown = await harness.store.recordHeartbeat(
        heartbeatOf('dry-run-nobody-000000', 'agent-new', 1, '2026-01-01T00:01:00.000Z'),
      );

      expect(superseded).toMatchObject({ ok: false, reason: 'superseded' });
      expect(outOfOrder).toMatchObject({ ok: false, reason: 'out_of_order' });
      expect(terminal).toMatchObject({ ok: false, reason: 'terminal', status: 'failed' });
      expect(unknown).toMatchObject({ ok: false, reason: 'not_found' });
      expect((await harness.store.get(input.run_id))?.heartbeat_seq).toBe(1);
    });

    it('records a beat apart from the session: its liveness, none of the snapshot (a heartbeat rewrote the whole item)', async () => {
      const input = await claimedSession(harness.store, 'beat-apart');
      await harness.store.recordHeartbeat(
        heartbeatOf(input.run_id, 'agent-a', 1, '2026-01-01T00:00:00.000Z'),
      );
      const before = await harness.store.get(input.run_id);

      const beat = await harness.store.recordBeat({
        run_id: input.run_id,
        agent_id: 'agent-a',
        seq: 2,
        at: '2026-01-01T00:00:15.000Z',
      });

      expect(beat).toEqual({ ok: true });
      // The session item is untouched: same version, same snapshot time.
      expect(await harness.store.get(input.run_id)).toEqual(before);
      const beats = await harness.store.beatsOf([input.run_id, 'dry-run-nobody-000000']);
      expect([...beats.keys()]).toEqual([input.run_id]);
      expect(beats.get(input.run_id)).toMatchObject({
        agent_id: 'agent-a',
        heartbeat_seq: 2,
        last_heartbeat: '2026-01-01T00:00:15.000Z',
      });
      // The seq is shared: the next snapshot after the beat is newer than both.
      const next = await harness.store.recordHeartbeat(
        heartbeatOf(input.run_id, 'agent-a', 3, '2026-01-01T00:00:30.000Z'),
      );
      expect(next.ok).toBe(true);
    });

    it('fences beats as it fences heartbeats: superseded agent, out-of-order seq (naming the current one), never claimed', async () => {
      const input = newSessionInput('beat-fence');
      await harness.store.createSession(input);
      const claim = { run_id: input.run_id, exchange: null, pairs: [], strategy_version: null };
      await harness.store.claimSession({ ...claim, agent_id: 'agent-old' });
      const beatOf = (agentId: string, seq: number) =>
        harness.store.recordBeat({
          run_id: input.run_id,
          agent_id: agentId,
          seq,
          at: '2026-01-01T00:00:00.000Z',
        });
      expect(await beatOf('agent-old', 7)).toEqual({ ok: true });
      const stale = await beatOf('agent-old', 7);
      await harness.store.claimSession({ ...claim, agent_id: 'agent-new' });

      const superseded = await beatOf('agent-old', 8);
      // The claim dropped the old agent's seq: the new agent continues from the session's, lower.
      const newAgent = await beatOf('agent-new', 1);
      const unclaimed = newSessionInput('beat-unclaimed');
      await harness.store.createSession(unclaimed);
      const neverClaimed = await harness.store.recordBeat({
        run_id: unclaimed.run_id,
        agent_id: 'agent-old',
        seq: 1,
        at: '2026-01-01T00:00:00.000Z',
      });

      expect(stale).toMatchObject({ ok: false, reason: 'out_of_order', currentSeq: 7 });
      expect(superseded).toMatchObject({ ok: false, reason: 'superseded' });
      expect(newAgent).toEqual({ ok: true });
      expect(neverClaimed).toMatchObject({ ok: false, reason: 'not_found' });
    });

    it("forgets the beat of a session that is over: its agent's next beat is refused, and forgetting twice is a no-op", async () => {
      const input = await claimedSession(harness.store, 'beat-forget');
      await harness.store.transition(input.run_id, 'failed');

      await harness.store.forgetBeat(input.run_id);
      await harness.store.forgetBeat(input.run_id);

      expect((await harness.store.beatsOf([input.run_id])).size).toBe(0);
      const late = await harness.store.recordBeat({
        run_id: input.run_id,
        agent_id: 'agent-a',
        seq: 1,
        at: '2026-01-01T00:00:00.000Z',
      });
      expect(late).toMatchObject({ ok: false, reason: 'not_found' });
    });

    it('leaves the session and its beat with the same agent when claims of one run race (the last claim wins on both)', async () => {
      const input = newSessionInput('claim-race');
      await harness.store.createSession(input);
      const stores = Array.from({ length: 8 }, () => harness.separateStore());

      await Promise.all(
        stores.map((store, index) =>
          store.claimSession({
            run_id: input.run_id,
            agent_id: `agent-race-${index}`,
            strategy_version: null,
            exchange: null,
            pairs: [],
          }),
        ),
      );

      const holder = (await harness.store.get(input.run_id))?.agent_id;
      expect(holder).toMatch(/^agent-race-/);
      expect((await harness.store.beatsOf([input.run_id])).get(input.run_id)?.agent_id).toBe(holder);
    });

    it('refuses a final status write from an agent that no longer holds the session', async () => {
      const input = newSessionInput('held-one');
      await harness.store.createSession(input);
      const claim = { run_id: input.run_id, exchange: null, pairs: [], strategy_version: null };
      await harness.store.claimSession({ ...claim, agent_id: 'agent-old' });
      await harness.store.claimSession({ ...claim, agent_id: 'agent-new' });
      await harness.store.setDesiredState(input.run_id, 'stopped', 'operator stop');

      const byOld = await harness.store.transition(input.run_id, 'stopped', {
        from: ['stopping'],
        heldBy: 'agent-old',
      });
      const byNew = await harness.store.transition(input.run_id, 'stopped', {
        from: ['stopping'],
        heldBy: 'agent-new',
      });

      expect(byOld).toMatchObject({ ok: false, reason: 'not_allowed', current: 'stopping' });
      expect(!byOld.ok && byOld.message).toMatch(/held by agent agent-new/);
      expect(byNew).toMatchObject({ ok: true, session: { status: 'stopped' } });
    });

    it('allows every transition in the table and refuses every other, naming the current status', async () => {
      const outcomes: string[] = [];
      for (const from of SESSION_STATUSES) {
        for (const to of SESSION_STATUSES) {
          if (to === 'pending') continue;
          const input = newSessionInput(`tr-${from}-${to}`.slice(0, 40).replace(/-$/, ''));
          await harness.store.createSession(input);
          for (const step of pathTo(from)) {
            const setup = await harness.store.transition(input.run_id, step);
            expect(setup.ok, `setting up ${from} via ${step}`).toBe(true);
          }

          const result = await harness.store.transition(input.run_id, to).catch((error: unknown) => error);

          const allowed = TRANSITIONS[from].includes(to);
          if (allowed) {
            expect(result, `${from} -> ${to}`).toMatchObject({
              ok: true,
              previous: from,
              session: { status: to },
            });
          } else if (predecessorsOf(to).length === 0) {
            expect(result).toBeInstanceOf(InvalidInputError);
          } else {
            expect(result, `${from} -> ${to}`).toMatchObject({
              ok: false,
              reason: 'not_allowed',
              current: from,
            });
            expect((await harness.store.get(input.run_id))?.status).toBe(from);
          }
          outcomes.push(`${from}->${to}:${allowed}`);
        }
      }
      expect(outcomes).toHaveLength(SESSION_STATUSES.length * (SESSION_STATUSES.length - 1));
    });

    it('refuses a pause once the session is stopping, and stop moves it to stopping', async () => {
      const input = newSessionInput('desire-one');
      await harness.store.createSession(input);

      const paused = await harness.store.setDesiredState(input.run_id, 'paused', 'investigating');
      const stopped = await harness.store.setDesiredState(input.run_id, 'stopped', 'done');
      const pausedAgain = await harness.store.setDesiredState(input.run_id, 'paused');

      expect(paused).toMatchObject({ ok: true, session: { desired_state: 'paused' } });
      expect(paused.ok && paused.session.desired_state_changed_at).toBe(
        new Date(harness.clock.now()).toISOString(),
      );
      expect(stopped).toMatchObject({ ok: true, session: { status: 'stopping', desired_state: 'stopped' } });
      expect(pausedAgain).toMatchObject({ ok: false, reason: 'not_allowed', current: 'stopping' });
    });

    it('stamps a change of intent, and treats asking again for the current intent as a no-op', async () => {
      const input = newSessionInput('intent-one');
      await harness.store.createSession(input);
      harness.clock.advance(1_000);
      const paused = await harness.store.setDesiredState(input.run_id, 'paused');
      const stampedAt = paused.ok ? paused.session.desired_state_changed_at : undefined;
      const versionAfterPause = paused.ok ? paused.session.version : undefined;
      harness.clock.advance(1_000);

      const again = await harness.store.setDesiredState(input.run_id, 'paused');
      const viaUpdate = await harness.store
        .update(input.run_id, { desired_state: 'running' }, ['pending'])
        .catch((error: unknown) => error);

      expect(stampedAt).toBe(new Date(harness.clock.now() - 1_000).toISOString());
      expect(again).toMatchObject({
        ok: true,
        session: { desired_state: 'paused', desired_state_changed_at: stampedAt },
      });
      expect(again.ok && again.session.version).toBe(versionAfterPause);
      expect(viaUpdate).toBeInstanceOf(InvalidInputError);
    });

    it('lists every strategy once, through its lock, page by page', async () => {
      const ids = ['list-a', 'list-b', 'list-c', 'list-d', 'list-e'];
      for (const id of ids) {
        const first = newSessionInput(id);
        await harness.store.createSession(first);
        await harness.store.releaseLock(id, first.run_id);
        await harness.store.createSession(newSessionInput(id));
      }

      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await harness.store.listStrategies({
          limit: 2,
          ...(cursor === undefined ? {} : { cursor }),
        });
        seen.push(...page.items.map((lock) => lock.strategy_id));
        cursor = page.cursor;
        pages += 1;
      } while (cursor !== undefined && pages < 100);

      expect(seen.filter((id) => ids.includes(id))).toEqual(ids);
      expect(new Set(seen).size).toBe(seen.length);
    });

    it('lists sessions by status through the index, page by page', async () => {
      const runIds: string[] = [];
      for (let index = 0; index < 7; index += 1) {
        const input = newSessionInput(`page-${index}`);
        runIds.push(input.run_id);
        await harness.store.createSession(input);
        await harness.store.transition(input.run_id, 'launching');
      }

      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await harness.store.listByStatus('launching', { limit: 3, cursor });
        seen.push(...page.items.map((session) => session.run_id));
        cursor = page.cursor;
        pages += 1;
      } while (cursor !== undefined && pages < 20);

      expect(seen.filter((runId) => runIds.includes(runId)).sort()).toEqual(runIds.sort());
      expect(pages).toBeGreaterThanOrEqual(3);
    });

    it('appends PnL history to the metrics table and reads a time range back', async () => {
      const input = newSessionInput('history-one');
      await harness.store.createSession(input);
      const entries = Array.from({ length: 60 }, (_, index) => ({
        run_id: input.run_id,
        recorded_at: new Date(Date.parse('2026-01-01T00:00:00.000Z') + index * 30_000).toISOString(),
        strategy_id: 'history-one',
        seq: index + 1,
        pnl_today: index,
        pnl_total: 100 + index,
        total_trades: index,
        open_trade_count: 1,
        equity: 10_000 + index,
        drawdown_pct: 0,
      }));

      await harness.store.appendHistory(entries);
      const all = await harness.store.readHistory(input.run_id, { limit: 1000 });
      const range = await harness.store.readHistory(input.run_id, {
        from: '2026-01-01T00:10:00.000Z',
        to: '2026-01-01T00:14:59.000Z',
      });

      expect(all.items).toHaveLength(60);
      expect(range.items.map((entry) => entry.seq)).toEqual([21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
    });

    describe('account leases (one exchange account, two writers)', () => {
      const account = 'ac0123456789abcd';
      const liveSession = async (strategyId: string, store: SessionStore = harness.store) => {
        const input = newSessionInput(strategyId, { trading_mode: 'live' });
        const created = await store.createSession(input);
        expect(created.ok).toBe(true);
        return input.run_id;
      };
      const claimOf = (runId: string, pairs: string[], agentId = `agent-${runId}`) => ({
        run_id: runId,
        agent_id: agentId,
        strategy_version: '1.0.0',
        exchange: 'binance',
        pairs,
        account_id: account,
      });

      it('refuses a second live session that would trade a pair already leased on the same account, naming the holder', async () => {
        const first = await liveSession('lease-a');
        const second = await liveSession('lease-a-2');
        expect((await harness.store.claimSession(claimOf(first, ['BTC/USDT', 'ETH/USDT']))).ok).toBe(true);

        const refused = await harness.store.claimSession(claimOf(second, ['SOL/USDT', 'ETH/USDT']));

        expect(refused).toMatchObject({
          ok: false,
          reason: 'account_busy',
          holderRunId: first,
          accountId: account,
          pair: 'ETH/USDT',
        });
        const untouched = await harness.store.get(second);
        expect(untouched?.agent_id).toBeNull();
        expect(await harness.store.getAccountLease(account, 'SOL/USDT')).toBeUndefined();
        expect((await harness.store.getAccountLease(account, 'ETH/USDT'))?.holder_run_id).toBe(first);
      });

      it(`lets exactly one of ${leaseRaceClaims} concurrent live claims of one model under different strategy ids hold the lease`, async () => {
        const runIds: string[] = [];
        for (let index = 0; index < leaseRaceClaims; index += 1) {
          runIds.push(await liveSession(`lease-race-${index}`));
        }
        const stores = Array.from({ length: 20 }, () => harness.separateStore());

        const results = await Promise.all(
          runIds.map((runId, index) =>
            (stores[index % stores.length] as SessionStore).claimSession(claimOf(runId, ['BTC/USDT:USDT'])),
          ),
        );

        const winners = results.flatMap((result, index) => (result.ok ? [runIds[index]] : []));
        expect(winners).toHaveLength(1);
        const lease = await harness.store.getAccountLease(account, 'BTC/USDT:USDT');
        expect(lease?.holder_run_id).toBe(winners[0]);
        const refusals = results.filter((result) => !result.ok && result.reason === 'account_busy');
        expect(refusals).toHaveLength(leaseRaceClaims - 1);
        expect(
          refusals.every(
            (result) => !result.ok && 'holderRunId' in result && result.holderRunId === winners[0],
          ),
        ).toBe(true);
      });

      it('takes no lease for a dry-run session, which places no orders', async () => {
        const live = await liveSession('lease-dry-live');
        await harness.store.claimSession(claimOf(live, ['XRP/USDT']));
        const dry = newSessionInput('lease-dry');
        await harness.store.createSession(dry);

        const claimed = await harness.store.claimSession(claimOf(dry.run_id, ['XRP/USDT']));

        expect(claimed.ok).toBe(true);
        expect((await harness.store.getAccountLease(account, 'XRP/USDT'))?.holder_run_id).toBe(live);
      });

      it('lets a replacement agent of the same run re-claim the leases its run holds', async () => {
        const run = await liveSession('lease-again');
        await harness.store.claimSession(claimOf(run, ['ADA/USDT'], 'agent-old'));

        const again = await harness.store.claimSession(claimOf(run, ['ADA/USDT'], 'agent-new'));

        expect(again.ok && again.session.agent_id).toBe('agent-new');
      });

      it('claims as many pairs as a live session may lease, on an account not trading yet, in one transaction (99 pairs overflowed its 100 actions)', async () => {
        const run = await liveSession('lease-most');
        const pairs = Array.from({ length: MAX_LEASED_PAIRS }, (_, index) => `P${index}/USDT`);

        const claimed = await harness.store.claimSession({
          ...claimOf(run, pairs),
          account_id: 'ac000000000000aa',
        });

        expect(claimed.ok).toBe(true);
        expect((await harness.store.beatsOf([run])).get(run)?.agent_id).toBe(`agent-${run}`);
      });

      it('leaves the session and its beat with the same agent when claims of one live run race (the last claim wins on both)', async () => {
        const run = await liveSession('lease-claim-race');
        const stores = Array.from({ length: 8 }, () => harness.separateStore());

        await Promise.all(
          stores.map((store, index) =>
            store.claimSession(claimOf(run, ['LINK/USDT'], `agent-race-${index}`)),
          ),
        );

        const holder = (await harness.store.get(run))?.agent_id;
        expect(holder).toMatch(/^agent-race-/);
        expect((await harness.store.beatsOf([run])).get(run)?.agent_id).toBe(holder);
      });

      it('frees the leases with the strategy lock, and only the holder can free them', async () => {
        const first = await liveSession('lease-free');
        const second = await liveSession('lease-free-2');
        await harness.store.claimSession(claimOf(first, ['DOT/USDT']));
        await harness.store.transition(first, 'failed');

        expect((await harness.store.releaseLock('lease-free-2', second)).ok).toBe(true);
        expect((await harness.store.getAccountLease(account, 'DOT/USDT'))?.holder_run_id).toBe(first);
        expect((await harness.store.releaseLock('lease-free', first)).ok).toBe(true);
        const claimed = await harness.store.claimSession(claimOf(second, ['DOT/USDT']));

        expect(claimed.ok).toBe(true);
        expect((await harness.store.getAccountLease(account, 'DOT/USDT'))?.holder_run_id).toBe(second);
      });

      it('takes over a lease left by a finished run whose lock is free (a lease orphaned by a changed pair list)', async () => {
        // prepare: the run's replacement task claimed fewer pairs, so its release misses the one it dropped
        const first = await liveSession('lease-orphan');
        await harness.store.claimSession(claimOf(first, ['AVAX/USDT', 'ATOM/USDT'], 'agent-old'));
        await harness.store.claimSession(claimOf(first, ['AVAX/USDT'], 'agent-new'));
        await harness.store.transition(first, 'failed');
        await harness.store.releaseLock('lease-orphan', first);
        const second = await liveSession('lease-orphan-2');

        // act
        const claimed = await harness.store.claimSession(claimOf(second, ['ATOM/USDT']));

        // assess
        expect(claimed.ok).toBe(true);
        expect((await harness.store.getAccountLease(account, 'ATOM/USDT'))?.holder_run_id).toBe(second);
      });

      it('keeps refusing while the holder is finished but its container (and lock) is not yet gone', async () => {
        // prepare
        const first = await liveSession('lease-draining');
        await harness.store.claimSession(claimOf(first, ['NEAR/USDT']));
        await harness.store.transition(first, 'failed');
        const second = await liveSession('lease-draining-2');

        // act
        const refused = await harness.store.claimSession(claimOf(second, ['NEAR/USDT']));

        // assess
        expect(refused).toMatchObject({ ok: false, reason: 'account_busy', holderRunId: first });
      });

      it('keeps lease items out of the strategy and status indexes', async () => {
        const run = await liveSession('lease-index');
        await harness.store.claimSession(claimOf(run, ['LINK/USDT']));

        const strategies: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await harness.store.listStrategies(cursor === undefined ? {} : { cursor });
          strategies.push(...page.items.map((lock) => lock.run_id));
          cursor = page.cursor;
        } while (cursor !== undefined);
        const pending = await harness.store.listByStatus('pending', { limit: 1000 });

        expect(strategies.some((key) => key.startsWith('lease#'))).toBe(false);
        expect(pending.items.some((session) => session.run_id.startsWith('lease#'))).toBe(false);
      });
    });

    it.each([
      [
        'createSession',
        (store: SessionStore) =>
          store.createSession({ ...newSessionInput('bad-one'), strategy_id: 'BAD ID' }),
      ],
      [
        'createSession (unknown field)',
        (store: SessionStore) =>
          store.createSession({ ...newSessionInput('bad-one'), extra: 1 } as NewSession),
      ],
      [
        'createSession (live limits)',
        (store: SessionStore) =>
          store.createSession({ ...newSessionInput('bad-one'), risk_limits: { ...limits, max_leverage: 0 } }),
      ],
      [
        'claimSession',
        (store: SessionStore) =>
          store.claimSession({
            run_id: 'x',
            agent_id: '',
            exchange: null,
            pairs: [],
            strategy_version: null,
          }),
      ],
      [
        'recordHeartbeat',
        (store: SessionStore) =>
          store.recordHeartbeat({ ...heartbeatOf('dry-run-bad-one-000001', 'a', 0, 'yesterday') }),
      ],
      [
        'transition',
        (store: SessionStore) => store.transition('dry-run-bad-one-000001', 'exploded' as SessionStatus),
      ],
      [
        'transition (patch)',
        (store: SessionStore) =>
          store.transition('dry-run-bad-one-000001', 'launching', { patch: { launch_token: '' } }),
      ],
      [
        'update',
        (store: SessionStore) =>
          store.update('dry-run-bad-one-000001', { desired_state: 'sideways' as 'paused' }, ['running']),
      ],
      [
        'setDesiredState',
        (store: SessionStore) => store.setDesiredState('dry-run-bad-one-000001', 'dancing' as 'paused'),
      ],
      ['get', (store: SessionStore) => store.get('strategy#bad-one')],
      ['getLock', (store: SessionStore) => store.getLock('Bad_One')],
      ['listByStatus', (store: SessionStore) => store.listByStatus('running', { limit: 0 })],
      [
        'listByStatus (cursor)',
        (store: SessionStore) => store.listByStatus('running', { cursor: 'not-a-cursor' }),
      ],
      ['releaseLock', (store: SessionStore) => store.releaseLock('bad-one', 'no')],
      [
        'appendHistory',
        (store: SessionStore) => store.appendHistory([{ run_id: 'dry-run-bad-one-000001' } as never]),
      ],
      [
        'readHistory',
        (store: SessionStore) => store.readHistory('dry-run-bad-one-000001', { from: 'last week' }),
      ],
      [
        'recordBeat',
        (store: SessionStore) =>
          store.recordBeat({ run_id: 'dry-run-bad-one-000001', agent_id: 'agent-a', seq: 0, at: 'now' }),
      ],
      ['beatsOf', (store: SessionStore) => store.beatsOf(['NOT A RUN'])],
      ['forgetBeat', (store: SessionStore) => store.forgetBeat('strategy#x')],
    ])('refuses bad input to %s with a typed error and writes nothing', async (_method, call) => {
      const before = await harness.snapshot();

      const error = await (async () => {
        try {
          await call(harness.store);
          return undefined;
        } catch (caught) {
          return caught;
        }
      })();

      expect(error).toBeInstanceOf(InvalidInputError);
      expect((error as InvalidInputError).issues.length).toBeGreaterThan(0);
      expect(await harness.snapshot()).toEqual(before);
    });
  });
};
