import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoAccountBudgetStore } from '../../shared/adapters/dynamodb/account-budget-store';
import { type BudgetContribution, exposureTotalKey, pnlTotalKey } from '../../shared/domain/account-budget';
import { ManualClock } from '../../shared/domain/clock';
import { startTestDynamo, type TestDynamo } from '../support/dynamo';

const DAY = '2026-03-02';
let accountSeq = 0;
const newAccount = () => {
  accountSeq += 1;
  return `${accountSeq.toString(16).padStart(4, '0')}${'ab'.repeat(14)}`;
};

const contribution = (
  accountId: string,
  run: string,
  fields: Partial<BudgetContribution> = {},
): BudgetContribution => ({
  run_id: `live-${run}-20260302-x`,
  strategy_id: run,
  account_id: accountId,
  day: DAY,
  currency: 'USDT',
  pnl_today: 0,
  exposure: 0,
  version: 2,
  finished: false,
  ...fields,
});

describe('Adapter: DynamoAccountBudgetStore', () => {
  let dynamo: TestDynamo;
  let budgets: DynamoAccountBudgetStore;
  const clock = new ManualClock(`${DAY}T10:00:00.000Z`);

  beforeAll(async () => {
    dynamo = await startTestDynamo({ now: () => clock.now() });
    budgets = dynamo.newBudgets(clock);
  });

  afterAll(async () => {
    await dynamo.close();
  });

  it('adds a batch’s changes to the aggregate and answers the totals after them', async () => {
    // prepare
    const account = newAccount();
    // act
    const after = await budgets.applyChanges(account, [
      { counted: null, next: contribution(account, 'a', { pnl_today: -10.5, exposure: 100 }) },
      { counted: null, next: contribution(account, 'b', { pnl_today: 4, exposure: 50 }) },
    ]);
    // assess
    expect(after.figures).toEqual({ [pnlTotalKey('USDT', DAY)]: -6.5, [exposureTotalKey('USDT')]: 150 });
    expect((await budgets.contributionsOf(account)).map((item) => item.strategy_id).sort()).toEqual([
      'a',
      'b',
    ]);
  });

  it('does not count a redelivered batch twice (its versions are already counted)', async () => {
    // prepare
    const account = newAccount();
    const first = contribution(account, 'a', { pnl_today: -10, exposure: 100, version: 2 });
    const second = contribution(account, 'a', { pnl_today: -25, exposure: 80, version: 3 });
    await budgets.applyChanges(account, [{ counted: null, next: first }]);
    await budgets.applyChanges(account, [{ counted: first, next: second }]);
    // act: both batches again, as a Lambda retry after a timeout would deliver them
    await budgets.applyChanges(account, [{ counted: null, next: first }]);
    const after = await budgets.applyChanges(account, [{ counted: first, next: second }]);
    // assess
    expect(after.figures).toEqual({ [pnlTotalKey('USDT', DAY)]: -25, [exposureTotalKey('USDT')]: 80 });
  });

  it('starts from what is stored when an old image says otherwise (a record lost upstream)', async () => {
    // prepare: the aggregate counted v2; v3 never arrived; v4's old image is v3
    const account = newAccount();
    await budgets.applyChanges(account, [
      { counted: null, next: contribution(account, 'a', { pnl_today: -10, version: 2 }) },
    ]);
    const lost = contribution(account, 'a', { pnl_today: -30, version: 3 });
    // act
    const after = await budgets.applyChanges(account, [
      { counted: lost, next: contribution(account, 'a', { pnl_today: -40, version: 4 }) },
      { counted: null, next: contribution(account, 'b', { pnl_today: -1, version: 2 }) },
    ]);
    // assess
    expect(after.figures[pnlTotalKey('USDT', DAY)]).toBe(-41);
  });

  it('drops PnL totals older than yesterday as it writes, so the aggregate does not grow by a figure a day', async () => {
    // prepare: figures on five consecutive days
    const account = newAccount();
    const days = ['2026-02-26', '2026-02-27', '2026-02-28', '2026-03-01', DAY];
    let counted: BudgetContribution | null = null;
    // act
    for (const [index, day] of days.entries()) {
      const next = contribution(account, 'a', { day, pnl_today: -(index + 1), version: index + 2 });
      await budgets.applyChanges(account, [{ counted, next }]);
      counted = next;
    }
    // assess
    const { figures } = await budgets.getAggregate(account);
    expect(
      Object.keys(figures)
        .filter((key) => key.startsWith('pnl#'))
        .sort(),
    ).toEqual([pnlTotalKey('USDT', '2026-03-01'), pnlTotalKey('USDT', DAY)]);
    expect(figures[pnlTotalKey('USDT', DAY)]).toBe(-5);
  });

  it('stays exact when batches of two shards update one account at once', async () => {
    // prepare
    const account = newAccount();
    const runs = Array.from({ length: 20 }, (_, index) => `r${index}`);
    // act: two concurrent writers, each with its own sessions, three rounds each
    const writer = async (mine: string[]) => {
      for (let round = 1; round <= 3; round += 1) {
        await budgets.applyChanges(
          account,
          mine.map((run) => ({
            counted:
              round === 1 ? null : contribution(account, run, { pnl_today: -(round - 1), version: round }),
            next: contribution(account, run, { pnl_today: -round, version: round + 1 }),
          })),
        );
      }
    };
    await Promise.all([writer(runs.slice(0, 10)), writer(runs.slice(10))]);
    // assess
    expect((await budgets.getAggregate(account)).figures[pnlTotalKey('USDT', DAY)]).toBe(-60);
  });

  it('keeps the budget beside the totals, replacing only the one the caller read', async () => {
    // prepare
    const account = newAccount();
    const budget = {
      stake_currency: 'USDT',
      daily_loss_max: 500,
      updated_at: `${DAY}T10:00:00.000Z`,
      updated_by: 'operator@example.com',
    };
    // act
    const first = await budgets.putBudget(account, budget, null);
    const second = await budgets.putBudget(
      account,
      { ...budget, daily_loss_max: 300, updated_at: `${DAY}T10:05:00.000Z` },
      budget.updated_at,
    );
    const stale = await budgets.putBudget(account, { ...budget, daily_loss_max: 9_000 }, budget.updated_at);
    // assess
    expect(first).toEqual({ ok: true, previous: undefined });
    expect(second).toMatchObject({ ok: true, previous: { daily_loss_max: 500 } });
    expect(stale).toMatchObject({ ok: false, reason: 'conflict', current: { daily_loss_max: 300 } });
    expect((await budgets.getAggregate(account)).budget?.daily_loss_max).toBe(300);
  });
});
