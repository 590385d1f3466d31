import { PublishCommand } from '@aws-sdk/client-sns';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHandler } from '../../../functions/stream/session-events/handler';
import type { DynamoAccountBudgetStore } from '../../../shared/adapters/dynamodb/account-budget-store';
import type { DynamoSessionStore } from '../../../shared/adapters/dynamodb/session-store';
import { BUDGET_ACTOR, pnlTotalKey } from '../../../shared/domain/account-budget';
import { isoAt, ManualClock } from '../../../shared/domain/clock';
import type { Session } from '../../../shared/domain/session';
import { accountScope } from '../../../shared/domain/trading-scope';
import {
  awsAdapters,
  healthySnapshot,
  heartbeatOf,
  lambdaContext,
  newSessionInput,
} from '../../adapters/support/workflow-fixtures';
import { startTestDynamo, type TestDynamo } from '../../support/dynamo';
import { sessionEventsDepsOf } from './support';

const DAY = '2026-03-02';
const SESSIONS = 50;
/**
 * Each session reports two heartbeats after its first, each 15 USDT further down: 50 × -30 = -1,500
 * against a budget of 1,000, so the breach falls about two thirds in and later losses find it reducing.
 */
const STEPS = 2;
const LOSS_PER_STEP = 15;

let accountSeq = 0;
const newAccount = () => {
  accountSeq += 1;
  return `${accountSeq.toString(16).padStart(6, '0')}${'cd'.repeat(13)}`;
};

/** A small seeded PRNG (mulberry32): fast-check picks the seed, so a failure names it and shrinks. */
const randomOf = (seed: number) => {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
};

describe('Handler: session-events, account budgets', () => {
  let dynamo: TestDynamo;
  let store: DynamoSessionStore;
  let budgets: DynamoAccountBudgetStore;
  const clock = new ManualClock(`${DAY}T10:00:00.000Z`);
  const adapters = awsAdapters();
  const sns = mockClient(adapters.sns);
  let handler: ReturnType<typeof createHandler>;
  let cursor: string | undefined;

  beforeAll(async () => {
    dynamo = await startTestDynamo({ now: () => clock.now() });
    store = dynamo.newStore(clock);
    budgets = dynamo.newBudgets(clock);
    handler = createHandler(sessionEventsDepsOf(dynamo, store, clock, adapters, { budgets }));
  });

  afterAll(async () => {
    await dynamo.close();
  });

  beforeEach(() => {
    sns.reset();
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    cursor = dynamo.dynamo.streams.read(dynamo.tables.sessions).at(-1)?.dynamodb?.SequenceNumber ?? cursor;
  });

  /** The records committed since the last call, as the event source mapping would deliver them. */
  const pending = (): DynamoDBRecord[] => {
    const records = dynamo.dynamo.streams.read(dynamo.tables.sessions, cursor);
    cursor = records.at(-1)?.dynamodb?.SequenceNumber ?? cursor;
    return records;
  };
  const deliver = async (records: DynamoDBRecord[]) => {
    const result = await handler({ Records: records }, lambdaContext('session-events'));
    expect(result.batchItemFailures).toEqual([]);
  };
  const budgetPages = () =>
    sns
      .commandCalls(PublishCommand)
      .map((call) => call.args[0].input)
      .filter((input) => input.MessageAttributes?.kind?.StringValue === 'account.budget_breach');

  /** A running live session claimed on the account, its first heartbeat at PnL 0. */
  const liveSessionOn = async (accountId: string): Promise<Session> => {
    const created = await store.createSession(newSessionInput('live'));
    if (!created.ok) throw new Error(created.message);
    const runId = created.session.run_id;
    await store.transition(runId, 'launching', { from: ['pending'] });
    const claimed = await store.claimSession({
      run_id: runId,
      agent_id: 'agent-1',
      strategy_version: '1',
      exchange: 'binance',
      pairs: [],
      account_id: accountId,
    });
    if (!claimed.ok) throw new Error(claimed.message);
    const beat = await store.recordHeartbeat(
      heartbeatOf(created.session, 1, isoAt(clock), { snapshot: { ...healthySnapshot, daily_pnl: 0 } }),
    );
    if (!beat.ok) throw new Error(beat.message);
    const running = await store.transition(runId, 'running', { from: ['launching'] });
    if (!running.ok) throw new Error(running.message);
    return running.session;
  };

  const budgetFor = (accountId: string, dailyLossMax: number) =>
    budgets.putBudget(
      accountId,
      {
        stake_currency: 'USDT',
        daily_loss_max: dailyLossMax,
        updated_at: isoAt(clock),
        updated_by: 'operator@example.com',
      },
      null,
    );

  const lossHeartbeat = (session: Session, step: number) =>
    store.recordHeartbeat(
      heartbeatOf(session, step + 1, isoAt(clock), {
        snapshot: { ...healthySnapshot, daily_pnl: -step * LOSS_PER_STEP },
      }),
    );

  it('puts 50 sessions’ account into reducing once, with one CRITICAL page, whatever order the losses arrive in (batches redelivered)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer(),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 25 }), fc.boolean()), { minLength: 40, maxLength: 40 }),
        async (seed, batching) => {
          // prepare: 50 sessions on one account, reported at PnL 0; a budget of 1,000 USDT a day
          sns.resetHistory();
          const accountId = newAccount();
          const sessions: Session[] = [];
          for (let index = 0; index < SESSIONS; index += 1) sessions.push(await liveSessionOn(accountId));
          await budgetFor(accountId, 1_000);
          await deliver(pending());
          // Every session's steps, interleaved at random (each session's own in order, as seq demands).
          const random = randomOf(seed);
          const arrivals = sessions.flatMap((session) => Array.from({ length: STEPS }, () => session));
          for (let index = arrivals.length - 1; index > 0; index -= 1) {
            const other = Math.floor(random() * (index + 1));
            [arrivals[index], arrivals[other]] = [arrivals[other] as Session, arrivals[index] as Session];
          }
          const stepOf = new Map<string, number>();
          for (const session of arrivals) {
            const step = (stepOf.get(session.run_id) ?? 0) + 1;
            stepOf.set(session.run_id, step);
            const beat = await lossHeartbeat(session, step);
            if (!beat.ok) throw new Error(beat.message);
          }

          // act: in batches of random size, some delivered twice (a retried invocation)
          const records = pending();
          let batch = 0;
          for (let start = 0; start < records.length; batch += 1) {
            const [size, redeliver] = batching[batch % batching.length] as [number, boolean];
            const slice = records.slice(start, start + size);
            await deliver(slice);
            if (redeliver) await deliver(slice);
            start += size;
          }

          // assess: exact totals, one change by the budget, one page naming the sessions, all paused
          const aggregate = await budgets.getAggregate(accountId);
          expect(aggregate.figures[pnlTotalKey('USDT', DAY)]).toBe(-SESSIONS * STEPS * LOSS_PER_STEP);
          const scope = await store.getTradingScope(accountScope(accountId));
          expect(scope).toMatchObject({ state: 'reducing', changed_by: BUDGET_ACTOR, generation: 1 });
          const pages = budgetPages();
          expect(pages).toHaveLength(1);
          expect(pages[0]?.MessageAttributes?.severity?.StringValue).toBe('CRITICAL');
          expect(pages[0]?.Message).toMatch(/loss by session: s-\S+ \(live-s-\S+\) \d+\.\d\d USDT = \d+%/);
          const after = await Promise.all(sessions.map((session) => store.get(session.run_id)));
          expect(after.filter((session) => session?.desired_state !== 'paused')).toEqual([]);
        },
      ),
      { numRuns: 2 },
    );
  }, 120_000);

  it('does not count a redelivered batch twice, nor breach on it', async () => {
    // prepare: two sessions at -400 each against a budget of 1,000
    const accountId = newAccount();
    const [a, b] = [await liveSessionOn(accountId), await liveSessionOn(accountId)] as [Session, Session];
    await budgetFor(accountId, 1_000);
    await deliver(pending());
    await store.recordHeartbeat(
      heartbeatOf(a, 2, isoAt(clock), { snapshot: { ...healthySnapshot, daily_pnl: -400 } }),
    );
    await store.recordHeartbeat(
      heartbeatOf(b, 2, isoAt(clock), { snapshot: { ...healthySnapshot, daily_pnl: -400 } }),
    );
    const batch = pending();
    // act
    await deliver(batch);
    await deliver(batch);
    await deliver(batch);
    // assess
    expect((await budgets.getAggregate(accountId)).figures[pnlTotalKey('USDT', DAY)]).toBe(-800);
    expect((await store.getTradingScope(accountScope(accountId))).state).toBe('active');
    expect(budgetPages()).toEqual([]);
  });

  it('applies a budget set below today’s loss at the next heartbeat, even when the figures stand still', async () => {
    // prepare: a session at -400, counted; then a budget of 300
    const accountId = newAccount();
    const session = await liveSessionOn(accountId);
    await lossHeartbeat(session, 1);
    await store.recordHeartbeat(
      heartbeatOf(session, 3, isoAt(clock), { snapshot: { ...healthySnapshot, daily_pnl: -400 } }),
    );
    await deliver(pending());
    await budgetFor(accountId, 300);
    // act: a heartbeat that moves no figure
    await store.recordHeartbeat(
      heartbeatOf(session, 4, isoAt(clock), { snapshot: { ...healthySnapshot, daily_pnl: -400 } }),
    );
    await deliver(pending());
    // assess
    expect((await store.getTradingScope(accountScope(accountId))).state).toBe('reducing');
    expect(budgetPages()).toHaveLength(1);
    expect((await store.get(session.run_id))?.desired_state).toBe('paused');
  });

  it('finishes a breach the invocation died in (scope changed, sessions not held, no page): holds them and pages once', async () => {
    // prepare: over budget, and the budget's change landed before the invocation died
    const accountId = newAccount();
    const session = await liveSessionOn(accountId);
    await budgetFor(accountId, 100);
    await deliver(pending());
    const changed = await store.changeTradingScope({
      scope: accountScope(accountId),
      to: 'reducing',
      expectedGeneration: 0,
      actor: BUDGET_ACTOR,
      reason: 'account budget: (the invocation died after this)',
    });
    expect(changed.ok).toBe(true);
    // act: the next heartbeats, a loss beyond the budget
    await lossHeartbeat(session, 10);
    await deliver(pending());
    await lossHeartbeat(session, 11);
    await deliver(pending());
    // assess
    expect((await store.get(session.run_id))?.scope_holds).toEqual([`scope#account#${accountId}`]);
    expect(budgetPages()).toHaveLength(1);
    expect(budgetPages()[0]?.Message).toContain('completed on a retry');
    expect((await store.getTradingScope(accountScope(accountId))).generation).toBe(1);
  });

  it('leaves an account an operator already halted alone (no second change, no page)', async () => {
    // prepare
    const accountId = newAccount();
    const session = await liveSessionOn(accountId);
    await budgetFor(accountId, 100);
    await deliver(pending());
    const halted = await store.changeTradingScope({
      scope: accountScope(accountId),
      to: 'halted',
      expectedGeneration: 0,
      actor: 'alice',
      reason: 'exchange incident',
    });
    expect(halted.ok).toBe(true);
    await lossHeartbeat(session, 20);
    // act
    await deliver(pending());
    // assess
    expect(await store.getTradingScope(accountScope(accountId))).toMatchObject({
      state: 'halted',
      changed_by: 'alice',
      generation: 1,
    });
    expect(budgetPages()).toEqual([]);
  });

  it('counts nothing and changes nothing for an account without a budget', async () => {
    const accountId = newAccount();
    const session = await liveSessionOn(accountId);
    await deliver(pending());
    await lossHeartbeat(session, 500);
    await deliver(pending());
    expect((await budgets.getAggregate(accountId)).figures[pnlTotalKey('USDT', DAY)]).toBe(
      -500 * LOSS_PER_STEP,
    );
    expect((await store.getTradingScope(accountScope(accountId))).state).toBe('active');
  });
});
