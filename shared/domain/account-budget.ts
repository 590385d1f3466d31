import * as z from 'zod';
import {
  type AccountId,
  AccountIdSchema,
  IsoTimestampSchema,
  isTerminal,
  RunIdSchema,
  type Session,
  StrategyIdSchema,
} from './session';

/**
 * Account budgets: a daily loss budget and a gross exposure cap per exchange account, over every live
 * session trading on it, enforced outside the bots. The figures are kept as a per-account aggregate that
 * the stream processor maintains from each session change (new image minus what was counted before), so
 * judging an account never reads its sessions: one aggregate read per account per stream batch.
 */

/** The control plane's own actor name on the scope changes and pages a budget makes. */
export const BUDGET_ACTOR = 'risk:account-budget';

const CurrencySchema = z
  .string()
  .regex(/^[A-Za-z0-9]{1,16}$/, 'must be 1-16 letters or digits (the stake currency, e.g. USDT)');

/** What an operator configures for an account; both limits optional (absent: not enforced). */
export const AccountBudgetSchema = z.strictObject({
  /** The account's stake currency: only sessions reporting it (or none yet) count. */
  stake_currency: CurrencySchema.transform((currency) => currency.toUpperCase()),
  /** Today's loss (UTC day, unrealised included) at which the account goes reducing: 500 means at -500. */
  daily_loss_max: z.number().positive().max(1e15).optional(),
  /** Open positions' notional, summed over the account's sessions, at which the account goes reducing. */
  gross_exposure_max: z.number().positive().max(1e15).optional(),
});
export type AccountBudget = z.infer<typeof AccountBudgetSchema>;

/**
 * The budget as stored: who set it and when. Not strict, unlike the request: a field a later release adds
 * must not make this release's stream processor refuse the account's aggregate (and stop enforcing it).
 */
export const StoredAccountBudgetSchema = z.object({
  ...AccountBudgetSchema.shape,
  updated_at: IsoTimestampSchema,
  updated_by: z.string().min(1).max(256),
});
export type StoredAccountBudget = z.infer<typeof StoredAccountBudgetSchema>;

const DaySchema = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a UTC day YYYY-MM-DD');

/**
 * What one session adds to its account's totals, as of one session image. `version` is the session
 * item's version it was taken from: a redelivered stream record carries a version already counted.
 */
export const BudgetContributionSchema = z.object({
  run_id: RunIdSchema,
  strategy_id: StrategyIdSchema,
  account_id: AccountIdSchema,
  /** The UTC day of the heartbeat the figures are from (the agent's pnl_today is of that day). */
  day: DaySchema,
  /** The stake currency the session reported; `?` while it reported none. */
  currency: z.string().min(1).max(16),
  pnl_today: z.number(),
  exposure: z.number().nonnegative(),
  version: z.number().int().positive(),
  /** The session is over: it adds no exposure, and its contribution may expire once its day is past. */
  finished: z.boolean(),
});
export type BudgetContribution = z.infer<typeof BudgetContributionSchema>;

/** The currency key of a session that has not reported one: counted in every budget's currency. */
export const UNKNOWN_CURRENCY = '?';

export const utcDayOf = (iso: string): string => iso.slice(0, 10);

const round8 = (value: number): number => Math.round(value * 1e8) / 1e8;

/**
 * Gross exposure of a session: the notional of its open positions (amount × current rate, long and short
 * alike). The item keeps at most 50 trades; when it holds fewer than the session has open, the agent's
 * stake in open positions times the highest leverage is used where it is larger, so an overflowing
 * snapshot never reads low.
 */
export const grossExposureOf = (session: Session): number => {
  if (isTerminal(session.status)) return 0;
  const listed = session.open_trades.reduce(
    (sum, trade) => sum + Math.abs(trade.amount * (trade.current_rate ?? trade.open_rate)),
    0,
  );
  const openCount = session.metrics?.open_trade_count ?? session.open_trades.length;
  const snapshot = session.risk?.snapshot ?? null;
  if (openCount <= session.open_trades.length || snapshot === null) return round8(listed);
  return round8(Math.max(listed, snapshot.exposure * Math.max(1, snapshot.max_leverage)));
};

/**
 * A session's contribution, or null while it counts towards no account: not yet claimed with an account
 * (dry-run and one-shot runs never are), or no heartbeat figures yet. A finished session keeps today's
 * PnL in its account's day (realised losses stay spent) and no longer adds exposure.
 */
export const contributionOf = (session: Session | undefined): BudgetContribution | null => {
  if (session === undefined) return null;
  const accountId = session.account_id ?? null;
  if (accountId === null || session.metrics === null || session.last_heartbeat === null) return null;
  return {
    run_id: session.run_id,
    strategy_id: session.strategy_id,
    account_id: accountId,
    day: utcDayOf(session.last_heartbeat),
    currency: session.metrics.stake_currency?.toUpperCase() || UNKNOWN_CURRENCY,
    pnl_today: session.metrics.pnl_today,
    exposure: grossExposureOf(session),
    version: session.version,
    finished: isTerminal(session.status),
  };
};

const sameFigures = (a: BudgetContribution | null, b: BudgetContribution | null): boolean =>
  a === b ||
  (a !== null &&
    b !== null &&
    a.day === b.day &&
    a.currency === b.currency &&
    a.pnl_today === b.pnl_today &&
    a.exposure === b.exposure &&
    a.finished === b.finished);

/** Whether the aggregate must change at all: most heartbeats of an idle bot change nothing. */
export const contributionChanged = (
  counted: BudgetContribution | null,
  next: BudgetContribution | null,
): boolean => !sameFigures(counted, next);

/** Names of the aggregate's figures; one per currency (exposure) and per currency and day (PnL). */
export const exposureTotalKey = (currency: string): string => `exposure#${currency}`;
export const pnlTotalKey = (currency: string, day: string): string => `pnl#${currency}#${day}`;

/** Days of PnL totals the aggregate keeps: today and yesterday are read; older ones are dropped as it is written. */
const FORGET_FROM_DAYS = 2;
const FORGET_WINDOW_DAYS = 7;

/**
 * The PnL totals a write of `changes` drops, so the aggregate item stays a few hundred bytes (its write
 * cost) instead of growing by a figure a day: for each currency written, the days two to eight before the
 * latest day written, except any the write itself adds to.
 */
export const forgottenPnlKeys = (
  changes: readonly ContributionChange[],
  added: Iterable<string>,
): string[] => {
  if (changes.length === 0) return [];
  const latest =
    changes
      .map((change) => change.next.day)
      .sort()
      .at(-1) ?? '';
  const currencies = new Set(changes.map((change) => change.next.currency));
  const keep = new Set(added);
  const keys: string[] = [];
  for (let back = FORGET_FROM_DAYS; back < FORGET_FROM_DAYS + FORGET_WINDOW_DAYS; back += 1) {
    const day = new Date(Date.parse(`${latest}T00:00:00.000Z`) - back * 86_400_000)
      .toISOString()
      .slice(0, 10);
    for (const currency of currencies) {
      const key = pnlTotalKey(currency, day);
      if (!keep.has(key)) keys.push(key);
    }
  }
  return keys;
};

/**
 * How the account's totals move when a session's counted contribution is replaced by `next`. Exposure is
 * a level: the old one is taken out. PnL is today's: a session's first figures of a new UTC day start that
 * day's total and leave yesterday's as it ended; figures of an older day than the counted ones (never in
 * order, kept for safety) move no PnL.
 */
export const contributionDelta = (
  counted: BudgetContribution | null,
  next: BudgetContribution,
): Record<string, number> => {
  const delta: Record<string, number> = {};
  const add = (key: string, amount: number) => {
    delta[key] = round8((delta[key] ?? 0) + amount);
  };
  add(exposureTotalKey(next.currency), next.exposure);
  if (counted !== null) add(exposureTotalKey(counted.currency), -counted.exposure);
  if (counted === null || counted.day < next.day) {
    add(pnlTotalKey(next.currency, next.day), next.pnl_today);
  } else if (counted.day === next.day) {
    add(pnlTotalKey(next.currency, next.day), next.pnl_today);
    add(pnlTotalKey(counted.currency, counted.day), -counted.pnl_today);
  }
  for (const [key, amount] of Object.entries(delta)) if (amount === 0) delete delta[key];
  return delta;
};

/** Sums deltas of several sessions into one write of the account's aggregate. */
export const sumDeltas = (deltas: readonly Record<string, number>[]): Record<string, number> => {
  const total: Record<string, number> = {};
  for (const delta of deltas)
    for (const [key, amount] of Object.entries(delta)) total[key] = round8((total[key] ?? 0) + amount);
  for (const [key, amount] of Object.entries(total)) if (amount === 0) delete total[key];
  return total;
};

export interface AccountTotals {
  /** Today's PnL summed over the account's sessions, unrealised included. */
  pnl_today: number;
  /** Gross exposure (notional of open positions) summed over the account's sessions. */
  exposure: number;
}

/** The totals a budget judges, read from the aggregate's figures: its currency plus sessions without one. */
export const totalsFor = (
  figures: Readonly<Record<string, number>>,
  currency: string,
  day: string,
): AccountTotals => {
  const figure = (key: string) => figures[key] ?? 0;
  return {
    pnl_today: round8(figure(pnlTotalKey(currency, day)) + figure(pnlTotalKey(UNKNOWN_CURRENCY, day))),
    exposure: round8(figure(exposureTotalKey(currency)) + figure(exposureTotalKey(UNKNOWN_CURRENCY))),
  };
};

/**
 * The stake currencies the account's sessions report (from the aggregate's figures), so an operator sees a
 * budget set in a currency none of them trades (it would never breach) before relying on it.
 */
export const currenciesOf = (figures: Readonly<Record<string, number>>): string[] =>
  [...new Set(Object.keys(figures).map((key) => key.split('#')[1] ?? ''))]
    .filter((currency) => currency !== '' && currency !== UNKNOWN_CURRENCY)
    .sort();

export const BudgetRuleSchema = z.enum(['daily_loss', 'gross_exposure']);
export type BudgetRule = z.infer<typeof BudgetRuleSchema>;

export interface BudgetBreach {
  rule: BudgetRule;
  limit: number;
  observed: number;
  message: string;
}

const fmt = (value: number): string => (Math.round(value * 100) / 100).toFixed(2);

/** The limits the totals reach (at the limit counts, as the session rules do); pure, table-tested. */
export const evaluateBudget = (budget: AccountBudget, totals: AccountTotals): BudgetBreach[] => {
  const breaches: BudgetBreach[] = [];
  const loss = -totals.pnl_today;
  if (budget.daily_loss_max !== undefined && loss >= budget.daily_loss_max) {
    breaches.push({
      rule: 'daily_loss',
      limit: budget.daily_loss_max,
      observed: round8(loss),
      message: `today's loss ${fmt(loss)} ${budget.stake_currency} reached the account's daily loss budget of ${fmt(budget.daily_loss_max)}`,
    });
  }
  if (budget.gross_exposure_max !== undefined && totals.exposure >= budget.gross_exposure_max) {
    breaches.push({
      rule: 'gross_exposure',
      limit: budget.gross_exposure_max,
      observed: round8(totals.exposure),
      message: `gross exposure ${fmt(totals.exposure)} ${budget.stake_currency} reached the account's cap of ${fmt(budget.gross_exposure_max)}`,
    });
  }
  return breaches;
};

/** What a budget needs to know of its account's trading scope (shared/domain/trading-scope.ts). */
export interface BudgetScopeView {
  state: 'active' | 'reducing' | 'halted';
  generation: number;
  changed_by: string;
}

export type BudgetDecision =
  | { type: 'none' }
  /** Breached while the account trades: one conditional write to reducing (on the generation read). */
  | { type: 'reduce'; breaches: BudgetBreach[]; expectedGeneration: number }
  /**
   * Breached, and this budget already reduced the account: its page is owed if the change landed and the
   * page did not (a crash in between); the ledger says which, so a page may repeat but is never lost.
   */
  | { type: 'page_owed'; breaches: BudgetBreach[]; generation: number }
  /** Breached, and an operator (or the fleet's state) already restricts the account: nothing to do. */
  | { type: 'already_restricted'; state: 'reducing' | 'halted'; by: string };

/**
 * What a budget does to its account. The scope state is read only when the totals breach, and the write
 * to `reducing` names the generation it read, so of several stream batches racing on one breach exactly
 * one changes the account. An operator's resume while still over budget is undone at the next change of
 * the totals: the budget holds until it is raised.
 */
export const decideBudget = (breaches: readonly BudgetBreach[], scope: BudgetScopeView): BudgetDecision => {
  if (breaches.length === 0) return { type: 'none' };
  if (scope.state === 'active')
    return { type: 'reduce', breaches: [...breaches], expectedGeneration: scope.generation };
  if (scope.changed_by === BUDGET_ACTOR)
    return { type: 'page_owed', breaches: [...breaches], generation: scope.generation };
  return { type: 'already_restricted', state: scope.state, by: scope.changed_by };
};

export interface BudgetShare {
  run_id: string;
  strategy_id: string;
  /** The session's own figure: its loss today (for daily_loss) or its exposure. */
  amount: number;
  /** Its part of the account's losing sessions' losses, or of the exposure, 0..1. */
  share: number;
}

/**
 * Who carries a breach: the sessions' shares, largest first. For the loss, shares are of the losses of
 * the losing sessions (winners offset the total, but did not cause it); for exposure, of the total.
 */
export const budgetSharesOf = (
  contributions: readonly BudgetContribution[],
  rule: BudgetRule,
  currency: string,
  day: string,
): BudgetShare[] => {
  const counted = contributions.filter(
    (item) => item.currency === currency || item.currency === UNKNOWN_CURRENCY,
  );
  const amounts = counted
    .map((item) => ({
      item,
      amount: rule === 'daily_loss' ? (item.day === day ? Math.max(0, -item.pnl_today) : 0) : item.exposure,
    }))
    .filter(({ amount }) => amount > 0);
  const total = amounts.reduce((sum, { amount }) => sum + amount, 0);
  return amounts
    .map(({ item, amount }) => ({
      run_id: item.run_id,
      strategy_id: item.strategy_id,
      amount: round8(amount),
      share: total > 0 ? amount / total : 0,
    }))
    .sort((a, b) => b.amount - a.amount || a.run_id.localeCompare(b.run_id));
};

/** The incident a breach pages under: one per account and state change, so a redelivery never pages twice. */
export const budgetIncidentOf = (accountId: AccountId, generation: number): string =>
  `account-budget:${accountId}:g${generation}`;

/** One session's change within a stream batch: what its previous image counted, and its latest. */
export interface ContributionChange {
  /** The contribution of the first record's old image: what the aggregate should hold for it now. */
  counted: BudgetContribution | null;
  next: BudgetContribution;
}

/** An account's aggregate as stored: its budget (if any) and its running figures. */
export interface AccountAggregate {
  account_id: AccountId;
  budget: StoredAccountBudget | undefined;
  /** Running totals by `exposureTotalKey` / `pnlTotalKey`. */
  figures: Record<string, number>;
}

/**
 * The port of the per-account aggregate. `applyChanges` is idempotent under redelivery: a change whose
 * version the aggregate already counted is skipped, and the aggregate and the contributions move in one
 * all-or-nothing write, so a crash in between can neither lose nor double a delta.
 */
export interface AccountBudgetStore {
  getAggregate(accountId: AccountId): Promise<AccountAggregate>;
  /** Applies one batch's changes of one account and answers the aggregate after them. */
  applyChanges(accountId: AccountId, changes: readonly ContributionChange[]): Promise<AccountAggregate>;
  /** Every session's contribution on the account (read on a breach only, to name who carries it). */
  contributionsOf(accountId: AccountId): Promise<BudgetContribution[]>;
  /** Replaces the account's budget, only if it is still the one read (`expectedUpdatedAt`, null: none). */
  putBudget(
    accountId: AccountId,
    budget: StoredAccountBudget,
    expectedUpdatedAt: string | null,
  ): Promise<PutBudgetResult>;
}

/**
 * One stream batch's changes, per account: each session once, from what its first record's old image
 * counted to its last record's new image (records of one item arrive in order), and only where the
 * figures moved. A batch thus writes each account's aggregate once, whatever number of heartbeats it holds.
 * Every account the batch touched is listed, with no changes where no figure moved: its budget is judged
 * again all the same (one read), so a new or lower budget, or an operator's resume while still over it,
 * takes effect within a heartbeat even when the figures stand still.
 */
export const batchChangesOf = (
  records: readonly { previous: Session | undefined; current: Session }[],
): Map<AccountId, ContributionChange[]> => {
  const bySession = new Map<
    string,
    { counted: BudgetContribution | null; next: BudgetContribution | null }
  >();
  for (const { previous, current } of records) {
    const seen = bySession.get(current.run_id);
    const next = contributionOf(current);
    if (seen === undefined) bySession.set(current.run_id, { counted: contributionOf(previous), next });
    else if (next !== null && (seen.next === null || next.version > seen.next.version)) seen.next = next;
  }
  const byAccount = new Map<AccountId, ContributionChange[]>();
  for (const { counted, next } of bySession.values()) {
    if (next === null) continue;
    const changes = byAccount.get(next.account_id) ?? [];
    byAccount.set(next.account_id, changes);
    if (!contributionChanged(counted, next)) continue;
    // An account never changes under a run; were it to, the new account starts from nothing.
    changes.push({ counted: counted?.account_id === next.account_id ? counted : null, next });
  }
  return byAccount;
};

/** At most this many sessions are named per rule; the rest are counted. */
const NAMED_SHARES = 10;

const sharesLine = (rule: BudgetRule, shares: readonly BudgetShare[], currency: string): string => {
  if (shares.length === 0) return `${rule}: no session carries any (sessions finished earlier today)`;
  const named = shares
    .slice(0, NAMED_SHARES)
    .map(
      (share) =>
        `${share.strategy_id} (${share.run_id}) ${fmt(share.amount)} ${currency} = ${Math.round(share.share * 100)}%`,
    );
  const rest = shares.length - named.length;
  return `${rule === 'daily_loss' ? 'loss' : 'exposure'} by session: ${named.join(', ')}${rest > 0 ? `, and ${rest} more` : ''}`;
};

/** Account pages are routed as the account: a valid strategy id (`account-<32 hex>`), never a strategy's. */
export const accountAlertIdOf = (accountId: AccountId): string => `account-${accountId.slice(0, 32)}`;

export interface BudgetBreachPage {
  accountId: AccountId;
  budget: AccountBudget;
  breaches: readonly BudgetBreach[];
  totals: AccountTotals;
  shares: Partial<Record<BudgetRule, readonly BudgetShare[]>>;
  /** The account scope's generation after the change to reducing: one page per change. */
  generation: number;
  nowMs: number;
  done: readonly string[];
}

/** The one CRITICAL page of a budget breach: the account, the limits reached, who carries them, what was done. */
export const budgetBreachAlert = (page: BudgetBreachPage) => {
  const { accountId, budget, breaches } = page;
  const currency = budget.stake_currency;
  const rules = breaches.map((breach) => breach.rule).join(', ');
  const lines = [
    `Account:    ${accountId}`,
    `What:       account budget breached: ${breaches.map((breach) => breach.message).join('; ')}`,
    `Totals:     today ${fmt(page.totals.pnl_today)} ${currency}, gross exposure ${fmt(page.totals.exposure)} ${currency}`,
    ...breaches.map(
      (breach) => `Sessions:   ${sharesLine(breach.rule, page.shares[breach.rule] ?? [], currency)}`,
    ),
    `Done:       ${page.done.join('; ')}`,
    `To do:      Positions stay open while the account is reducing (exits and stop-losses go on): check them on the exchange. Nothing resumes by itself; raise the budget (PUT /accounts/${accountId}/budget) before POST /accounts/${accountId}/resume, or it is reduced again.`,
  ];
  return {
    severity: 'CRITICAL' as const,
    subject: `[CRITICAL] account ${accountId.slice(0, 12)}: budget breached (${rules}), reducing`.slice(
      0,
      100,
    ),
    message: lines.join('\n'),
    strategy_id: accountAlertIdOf(accountId),
    run_id: accountAlertIdOf(accountId),
    kind: 'account.budget_breach',
    dedup_id: budgetIncidentOf(accountId, page.generation),
  };
};

export type ReduceAccountResult =
  | { ok: true; generation: number; done: string[] }
  /** Another writer changed the account's scope since it was read: nothing was written by this call. */
  | { ok: false; reason: 'conflict'; message: string };

/**
 * What a budget may do to its account's trading scope: read it, and move it to `reducing` on the
 * generation it read (the scope's own store and fan-out do the rest, see shared/domain/trading-scope.ts).
 */
export interface BudgetScopePort {
  accountScope(accountId: AccountId): Promise<BudgetScopeView>;
  reduceAccount(
    accountId: AccountId,
    expectedGeneration: number,
    reason: string,
  ): Promise<ReduceAccountResult>;
  /** Applies the account's current scope to its sessions again (a retry after a crash): what it did. */
  reapplyAccount(accountId: AccountId): Promise<string[]>;
}

/**
 * Whether a new budget lets the account lose or hold more than the one it replaces: a limit raised or
 * removed, or another currency (its figures are other figures). That puts more money at risk, so it needs
 * the live permission; a first budget, or a lower limit, only reduces risk.
 */
export const budgetLoosens = (before: AccountBudget | undefined, after: AccountBudget): boolean => {
  if (before === undefined) return false;
  if (before.stake_currency !== after.stake_currency) return true;
  const raised = (was: number | undefined, now: number | undefined) =>
    was !== undefined && (now === undefined || now > was);
  return (
    raised(before.daily_loss_max, after.daily_loss_max) ||
    raised(before.gross_exposure_max, after.gross_exposure_max)
  );
};

export type PutBudgetResult =
  | { ok: true; previous: StoredAccountBudget | undefined }
  /** Another change landed since the caller read the budget: nothing written. */
  | { ok: false; reason: 'conflict'; current: StoredAccountBudget | undefined; message: string };

/** A session that trades on the account now, with its strategy's priority (higher keeps trading longer). */
export interface PrioritisedContribution {
  contribution: BudgetContribution;
  priority: number;
}

export interface PriorityPausePlan {
  /** Sessions to pause, in the order chosen: lowest priority first, the largest part of the breach first among equals. */
  pause: string[];
  /** The totals of the sessions left trading once those are paused: within the budget. */
  remaining: AccountTotals;
}

/**
 * The priority ladder of a breached budget: pause the lowest-priority sessions first, one at a time, until
 * the sessions still trading fit the budget (their loss today and their exposure below the limits). Paused
 * sessions' figures do not count as still trading: they open nothing new, and their exits go on.
 */
export const priorityPausePlan = (
  budget: AccountBudget,
  trading: readonly PrioritisedContribution[],
  day: string,
): PriorityPausePlan => {
  const counted = trading.filter(
    ({ contribution }) =>
      contribution.currency === budget.stake_currency || contribution.currency === UNKNOWN_CURRENCY,
  );
  const totalsOf = (items: readonly PrioritisedContribution[]): AccountTotals => ({
    pnl_today: round8(
      items.reduce(
        (sum, { contribution }) => sum + (contribution.day === day ? contribution.pnl_today : 0),
        0,
      ),
    ),
    exposure: round8(items.reduce((sum, { contribution }) => sum + contribution.exposure, 0)),
  });
  const weight = ({ contribution }: PrioritisedContribution) =>
    Math.max(0, contribution.day === day ? -contribution.pnl_today : 0) + contribution.exposure;
  const order = [...counted].sort(
    (a, b) =>
      a.priority - b.priority ||
      weight(b) - weight(a) ||
      a.contribution.run_id.localeCompare(b.contribution.run_id),
  );
  const pause: string[] = [];
  let left = order;
  while (left.length > 0 && evaluateBudget(budget, totalsOf(left)).length > 0) {
    pause.push((left[0] as PrioritisedContribution).contribution.run_id);
    left = left.slice(1);
  }
  return { pause, remaining: totalsOf(left) };
};
