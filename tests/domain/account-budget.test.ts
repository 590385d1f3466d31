import { describe, expect, it } from 'vitest';
import {
  AccountBudgetSchema,
  BUDGET_ACTOR,
  type BudgetContribution,
  type BudgetScopeView,
  batchChangesOf,
  budgetBreachAlert,
  budgetLoosens,
  budgetSharesOf,
  contributionDelta,
  contributionOf,
  currenciesOf,
  decideBudget,
  evaluateBudget,
  exposureTotalKey,
  grossExposureOf,
  pnlTotalKey,
  priorityPausePlan,
  StoredAccountBudgetSchema,
  sumDeltas,
  totalsFor,
} from '../../shared/domain/account-budget';
import { buildSession, NewSessionSchema, type Session } from '../../shared/domain/session';

const ACCOUNT = 'a1b2c3d4e5f60718a1b2c3d4e5f60718';
const OTHER = 'ffffffffffffffffffffffffffffffff';
const DAY = '2026-03-02';

const sessionOf = (run: string, fields: Partial<Session> = {}): Session => ({
  ...buildSession(
    NewSessionSchema.parse({
      run_id: `live-${run}-20260302-x`,
      strategy_id: run,
      strategy_name: 'S',
      trading_mode: 'live',
      risk_limits: {
        max_drawdown_pct: 20,
        max_daily_loss: 1_000,
        max_open_trades: 5,
        max_leverage: 3,
        max_monitor_failures: 3,
      },
      requested_by: 'op',
      trace_id: 't',
    }),
    Date.parse(`${DAY}T09:00:00.000Z`),
  ),
  status: 'running',
  account_id: ACCOUNT,
  last_heartbeat: `${DAY}T10:00:00.000Z`,
  metrics: { total_trades: 1, win_rate: 0, pnl_today: -10, pnl_total: -10, stake_currency: 'USDT' },
  ...fields,
});

const contribution = (fields: Partial<BudgetContribution>): BudgetContribution => ({
  run_id: 'live-a-20260302-x',
  strategy_id: 'a',
  account_id: ACCOUNT,
  day: DAY,
  currency: 'USDT',
  pnl_today: 0,
  exposure: 0,
  version: 2,
  finished: false,
  ...fields,
});

const trade = (amount: number, rate: number | null, openRate = 100) => ({
  trade_id: 1,
  pair: 'BTC/USDT',
  is_short: false,
  amount,
  open_rate: openRate,
  current_rate: rate,
  stake_amount: amount * openRate,
  leverage: 1,
  profit_abs: 0,
  profit_ratio: 0,
  open_date: `${DAY}T08:00:00.000Z`,
});

describe('Domain: account budgets', () => {
  describe('contributionOf', () => {
    it.each([
      ['a session without an account (dry-run, or not yet claimed)', { account_id: null }],
      ['a session without heartbeat figures yet', { metrics: null }],
      ['a session that never sent a heartbeat', { last_heartbeat: null }],
    ])('counts nothing for %s', (_name, fields) => {
      expect(contributionOf(sessionOf('a', fields as Partial<Session>))).toBeNull();
    });

    it('counts today (the heartbeat’s UTC day), the stake currency and the version of the image', () => {
      const counted = contributionOf(sessionOf('a', { version: 7 }));
      expect(counted).toMatchObject({
        day: DAY,
        currency: 'USDT',
        pnl_today: -10,
        version: 7,
        finished: false,
      });
    });

    it('keeps a finished session’s PnL for its day but no exposure', () => {
      const counted = contributionOf(sessionOf('a', { status: 'stopped', open_trades: [trade(1, 110)] }));
      expect(counted).toMatchObject({ pnl_today: -10, exposure: 0, finished: true });
    });
  });

  describe('grossExposureOf', () => {
    it('is the notional of the open positions at the current rate (the entry rate while none is known)', () => {
      expect(grossExposureOf(sessionOf('a', { open_trades: [trade(2, 110), trade(1, null, 50)] }))).toBe(270);
    });

    it('does not read low when the item lists fewer trades than are open (stake × leverage instead)', () => {
      const session = sessionOf('a', {
        open_trades: [trade(1, 100)],
        metrics: { total_trades: 1, win_rate: 0, pnl_today: 0, pnl_total: 0, open_trade_count: 60 },
        risk: {
          state: 'ok',
          snapshot: {
            equity: 1,
            peak_equity: 1,
            drawdown_pct: 0,
            daily_pnl: 0,
            open_trades: 60,
            max_leverage: 2,
            exposure: 6_000,
            monitor_failures: 0,
          },
          breaches: [],
          response: null,
          breached_at: null,
        },
      });
      expect(grossExposureOf(session)).toBe(12_000);
    });
  });

  describe('contributionDelta', () => {
    it.each<[string, BudgetContribution | null, Partial<BudgetContribution>, Record<string, number>]>([
      [
        'a first contribution adds its figures',
        null,
        { pnl_today: -5, exposure: 100 },
        { [pnlTotalKey('USDT', DAY)]: -5, [exposureTotalKey('USDT')]: 100 },
      ],
      [
        'a later one of the same day adds the difference',
        contribution({ pnl_today: -5, exposure: 100 }),
        { pnl_today: -7.5, exposure: 100, version: 3 },
        { [pnlTotalKey('USDT', DAY)]: -2.5 },
      ],
      [
        'the first of a new UTC day starts that day and leaves yesterday as it ended',
        contribution({ day: '2026-03-01', pnl_today: -40, exposure: 100 }),
        { pnl_today: -3, exposure: 120, version: 3 },
        { [pnlTotalKey('USDT', DAY)]: -3, [exposureTotalKey('USDT')]: 20 },
      ],
      [
        'figures of an older day than counted move no PnL',
        contribution({ day: '2026-03-03', pnl_today: -1, exposure: 10 }),
        { pnl_today: -9, exposure: 10, version: 3 },
        {},
      ],
      [
        'a finished session takes its exposure out',
        contribution({ pnl_today: -5, exposure: 100 }),
        { pnl_today: -5, exposure: 0, finished: true, version: 3 },
        { [exposureTotalKey('USDT')]: -100 },
      ],
      [
        'decimals stay exact (no 0.30000000000000004 in the running total)',
        contribution({ pnl_today: -0.1 }),
        { pnl_today: -0.3, version: 3 },
        { [pnlTotalKey('USDT', DAY)]: -0.2 },
      ],
    ])('%s', (_name, counted, next, expected) => {
      expect(contributionDelta(counted, contribution(next))).toEqual(expected);
    });

    it('sums to the figures of the latest contributions, in any order of arrival', () => {
      const steps = [-1.25, -3.5, 2, -10.75, -0.1];
      let counted: BudgetContribution | null = null;
      const deltas = steps.map((pnl, index) => {
        const next = contribution({ pnl_today: pnl, version: index + 2 });
        const delta = contributionDelta(counted, next);
        counted = next;
        return delta;
      });
      expect(sumDeltas(deltas)).toEqual({ [pnlTotalKey('USDT', DAY)]: -0.1 });
    });
  });

  describe('totalsFor', () => {
    it('reads the budget’s currency and the day, counting sessions that reported no currency too', () => {
      const figures = {
        [pnlTotalKey('USDT', DAY)]: -300,
        [pnlTotalKey('?', DAY)]: -20,
        [pnlTotalKey('USDT', '2026-03-01')]: -900,
        [pnlTotalKey('BTC', DAY)]: -1,
        [exposureTotalKey('USDT')]: 5_000,
        [exposureTotalKey('BTC')]: 2,
      };
      expect(totalsFor(figures, 'USDT', DAY)).toEqual({ pnl_today: -320, exposure: 5_000 });
    });
  });

  describe('currenciesOf', () => {
    it('lists the currencies the sessions report, leaving out the unknown one', () => {
      const figures = {
        [pnlTotalKey('USDT', DAY)]: -1,
        [exposureTotalKey('BTC')]: 2,
        [exposureTotalKey('USDT')]: 0,
        [pnlTotalKey('?', DAY)]: -3,
      };
      expect(currenciesOf(figures)).toEqual(['BTC', 'USDT']);
    });
  });

  describe('evaluateBudget and decideBudget', () => {
    const budget = AccountBudgetSchema.parse({
      stake_currency: 'usdt',
      daily_loss_max: 500,
      gross_exposure_max: 10_000,
    });

    it.each<[string, { pnl_today: number; exposure: number }, string[]]>([
      ['within both limits', { pnl_today: -499.99, exposure: 9_999 }, []],
      ['a loss at the budget breaches it', { pnl_today: -500, exposure: 0 }, ['daily_loss']],
      ['a profit never breaches the loss budget', { pnl_today: 5_000, exposure: 0 }, []],
      ['exposure at the cap breaches it', { pnl_today: 0, exposure: 10_000 }, ['gross_exposure']],
      ['both at once name both', { pnl_today: -600, exposure: 20_000 }, ['daily_loss', 'gross_exposure']],
    ])('%s', (_name, totals, rules) => {
      expect(evaluateBudget(budget, totals).map((breach) => breach.rule)).toEqual(rules);
    });

    it('enforces nothing it was not given (both limits optional)', () => {
      const none = AccountBudgetSchema.parse({ stake_currency: 'USDT' });
      expect(evaluateBudget(none, { pnl_today: -1e9, exposure: 1e12 })).toEqual([]);
    });

    it('says what was reached in the account’s currency', () => {
      const [breach] = evaluateBudget(budget, { pnl_today: -512.345, exposure: 0 });
      expect(breach?.message).toBe(
        "today's loss 512.35 USDT reached the account's daily loss budget of 500.00",
      );
    });

    const scope = (state: BudgetScopeView['state'], changedBy = 'alice'): BudgetScopeView => ({
      state,
      generation: 4,
      changed_by: changedBy,
    });
    const breached = evaluateBudget(budget, { pnl_today: -600, exposure: 0 });

    it('reduces an active account, on the generation it read', () => {
      expect(decideBudget(breached, scope('active'))).toEqual({
        type: 'reduce',
        breaches: breached,
        expectedGeneration: 4,
      });
    });

    it.each(['reducing', 'halted'] as const)('leaves an account an operator made %s alone', (state) => {
      expect(decideBudget(breached, scope(state))).toEqual({
        type: 'already_restricted',
        state,
        by: 'alice',
      });
    });

    it('owes the page of its own change (a crash between the change and the page must not lose it)', () => {
      expect(decideBudget(breached, scope('reducing', BUDGET_ACTOR))).toEqual({
        type: 'page_owed',
        breaches: breached,
        generation: 4,
      });
    });

    it('does nothing without a breach, whatever the account’s state', () => {
      expect(decideBudget([], scope('active'))).toEqual({ type: 'none' });
      expect(decideBudget([], scope('reducing', BUDGET_ACTOR))).toEqual({ type: 'none' });
    });

    it('reads a stored budget a later release wrote with a field this one does not know (schema evolution)', () => {
      const stored = StoredAccountBudgetSchema.safeParse({
        stake_currency: 'USDT',
        daily_loss_max: 500,
        strategy_priorities: { a: 1 },
        updated_at: `${DAY}T10:00:00.000Z`,
        updated_by: 'op',
      });
      expect(stored.success).toBe(true);
      expect(stored.data?.daily_loss_max).toBe(500);
    });

    it('refuses a budget in an unknown shape, naming the field', () => {
      const parsed = AccountBudgetSchema.safeParse({ stake_currency: 'USDT', daily_loss_max: -1, extra: 1 });
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues.map((issue) => issue.path.join('.') || issue.code).sort()).toEqual([
        'daily_loss_max',
        'unrecognized_keys',
      ]);
    });
  });

  describe('budgetSharesOf', () => {
    const items = [
      contribution({ run_id: 'live-a-20260302-x', strategy_id: 'a', pnl_today: -300, exposure: 1_000 }),
      contribution({ run_id: 'live-b-20260302-x', strategy_id: 'b', pnl_today: -100, exposure: 3_000 }),
      contribution({ run_id: 'live-c-20260302-x', strategy_id: 'c', pnl_today: 250, exposure: 0 }),
      contribution({ run_id: 'live-d-20260302-x', strategy_id: 'd', pnl_today: -999, day: '2026-03-01' }),
      contribution({ run_id: 'live-e-20260302-x', strategy_id: 'e', pnl_today: -50, currency: 'BTC' }),
    ];

    it('names the losing sessions of today, largest loss first, as shares of the losses', () => {
      expect(budgetSharesOf(items, 'daily_loss', 'USDT', DAY)).toEqual([
        { run_id: 'live-a-20260302-x', strategy_id: 'a', amount: 300, share: 0.75 },
        { run_id: 'live-b-20260302-x', strategy_id: 'b', amount: 100, share: 0.25 },
      ]);
    });

    it('names the sessions holding exposure as shares of the account’s exposure', () => {
      expect(
        budgetSharesOf(items, 'gross_exposure', 'USDT', DAY).map((s) => [s.strategy_id, s.share]),
      ).toEqual([
        ['b', 0.75],
        ['a', 0.25],
      ]);
    });
  });

  describe('budgetLoosens', () => {
    const was = AccountBudgetSchema.parse({
      stake_currency: 'USDT',
      daily_loss_max: 500,
      gross_exposure_max: 9_000,
    });
    it.each<[string, Record<string, unknown>, boolean]>([
      [
        'a lower loss budget',
        { stake_currency: 'USDT', daily_loss_max: 400, gross_exposure_max: 9_000 },
        false,
      ],
      [
        'the same budget again',
        { stake_currency: 'USDT', daily_loss_max: 500, gross_exposure_max: 9_000 },
        false,
      ],
      [
        'a higher loss budget',
        { stake_currency: 'USDT', daily_loss_max: 501, gross_exposure_max: 9_000 },
        true,
      ],
      ['the exposure cap removed', { stake_currency: 'USDT', daily_loss_max: 500 }, true],
      ['another currency', { stake_currency: 'BTC', daily_loss_max: 1, gross_exposure_max: 1 }, true],
    ])('%s: %s', (_name, next, loosens) => {
      expect(budgetLoosens(was, AccountBudgetSchema.parse(next))).toBe(loosens);
    });

    it('a first budget only tightens', () => {
      expect(budgetLoosens(undefined, was)).toBe(false);
    });
  });

  describe('priorityPausePlan', () => {
    const budget = AccountBudgetSchema.parse({
      stake_currency: 'USDT',
      daily_loss_max: 100,
      gross_exposure_max: 1_000,
    });
    const at = (
      run: string,
      priority: number,
      pnl: number,
      exposure = 0,
      fields: Partial<BudgetContribution> = {},
    ) => ({
      priority,
      contribution: contribution({
        run_id: `live-${run}-20260302-x`,
        strategy_id: run,
        pnl_today: pnl,
        exposure,
        ...fields,
      }),
    });

    it.each<[string, ReturnType<typeof at>[], string[]]>([
      ['nothing while the budget holds', [at('a', 1, -50), at('b', 2, -49)], []],
      [
        'the lowest priority first, then the next, until the rest fit',
        [at('a', 3, -90), at('b', 1, -5), at('c', 2, -10)],
        ['b', 'c'],
      ],
      [
        'among equals, the one carrying most of the breach first',
        [at('a', 1, -20), at('b', 1, -90), at('c', 5, -5)],
        ['b'],
      ],
      ['exposure counts too', [at('a', 1, 0, 900), at('b', 2, 0, 200)], ['a']],
      [
        'yesterday’s figures of a session do not count today',
        [at('a', 1, -500, 0, { day: '2026-03-01' }), at('b', 2, -99)],
        [],
      ],
      [
        'sessions in another currency are not this budget’s',
        [at('a', 1, -500, 0, { currency: 'BTC' }), at('b', 2, -99)],
        [],
      ],
    ])('%s', (_name, trading, paused) => {
      const plan = priorityPausePlan(budget, trading, DAY);
      expect(plan.pause).toEqual(paused.map((run) => `live-${run}-20260302-x`));
      expect(evaluateBudget(budget, plan.remaining)).toEqual([]);
    });
  });

  describe('budgetBreachAlert', () => {
    it('is one CRITICAL page per change, naming the account, the limits, the sessions and their shares', () => {
      const budget = AccountBudgetSchema.parse({ stake_currency: 'USDT', daily_loss_max: 100 });
      const totals = { pnl_today: -120, exposure: 900 };
      const shares = Array.from({ length: 12 }, (_, index) => ({
        run_id: `live-s${index}-20260302-x`,
        strategy_id: `s${index}`,
        amount: 10,
        share: 1 / 12,
      }));
      const alert = budgetBreachAlert({
        accountId: ACCOUNT,
        budget,
        breaches: evaluateBudget(budget, totals),
        totals,
        shares: { daily_loss: shares },
        generation: 3,
        nowMs: Date.parse(`${DAY}T10:00:00.000Z`),
        done: ['account reducing'],
      });
      expect(alert).toMatchObject({
        severity: 'CRITICAL',
        kind: 'account.budget_breach',
        dedup_id: `account-budget:${ACCOUNT}:g3`,
        strategy_id: `account-${ACCOUNT}`,
      });
      expect(alert.subject.length).toBeLessThanOrEqual(100);
      expect(alert.message).toContain('s0 (live-s0-20260302-x) 10.00 USDT = 8%');
      expect(alert.message).toContain('and 2 more');
      expect(alert.message).toContain(
        "today's loss 120.00 USDT reached the account's daily loss budget of 100.00",
      );
    });
  });

  describe('batchChangesOf', () => {
    it('collapses a session’s records of one batch into one change, from the first old to the last new image', () => {
      const v1 = sessionOf('a', { version: 1, metrics: { ...sessionOf('a').metrics!, pnl_today: -1 } });
      const v2 = { ...v1, version: 2, metrics: { ...v1.metrics!, pnl_today: -2 } };
      const v3 = { ...v1, version: 3, metrics: { ...v1.metrics!, pnl_today: -3 } };
      const changes = batchChangesOf([
        { previous: v1, current: v2 },
        { previous: v2, current: v3 },
      ]);
      expect([...changes.keys()]).toEqual([ACCOUNT]);
      expect(changes.get(ACCOUNT)).toEqual([{ counted: contributionOf(v1), next: contributionOf(v3) }]);
    });

    it('groups by account and leaves out changes that move no figure (an idle bot’s heartbeat), still naming its account', () => {
      const idle = sessionOf('a', { version: 4 });
      const other = sessionOf('b', { account_id: OTHER, version: 2 });
      const changes = batchChangesOf([
        { previous: { ...idle, version: 3, heartbeat_seq: 1 }, current: idle },
        { previous: undefined, current: other },
        { previous: undefined, current: sessionOf('c', { account_id: null }) },
      ]);
      expect([...changes.entries()].map(([account, list]) => [account, list.length])).toEqual([
        [ACCOUNT, 0],
        [OTHER, 1],
      ]);
    });
  });
});
