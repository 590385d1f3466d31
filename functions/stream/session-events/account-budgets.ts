import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  type AccountAggregate,
  type AccountBudgetStore,
  type BudgetBreach,
  type BudgetRule,
  type BudgetScopePort,
  type BudgetShare,
  batchChangesOf,
  budgetBreachAlert,
  budgetIncidentOf,
  budgetSharesOf,
  type ContributionChange,
  contributionOf,
  decideBudget,
  evaluateBudget,
  totalsFor,
  utcDayOf,
} from '../../../shared/domain/account-budget';
import type { Clock } from '../../../shared/domain/clock';
import type { AlertPublisher } from '../../../shared/domain/ports';
import type { AccountId, Session } from '../../../shared/domain/session';
import { type DedupLedger, once } from '../../../shared/runtime/events-dedup';

export interface AccountBudgetDeps {
  budgets: AccountBudgetStore;
  scopes: BudgetScopePort;
  alerts: AlertPublisher;
  ledger: DedupLedger;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
}

export interface BatchImages {
  /** The record's SequenceNumber: what a partial batch failure names. */
  sequence: string;
  previous: Session | undefined;
  current: Session;
}

/**
 * The budgets' part of one stream batch: each account's aggregate moved once by the batch's changes, and
 * judged after it. Answers the sequence numbers of the records of accounts that failed, so only those are
 * retried (the aggregate's write is idempotent, so a retry of the others would be harmless too).
 */
export const enforceAccountBudgets = async (
  deps: AccountBudgetDeps,
  images: readonly BatchImages[],
): Promise<string[]> => {
  const byAccount = batchChangesOf(images);
  const failed: string[] = [];
  for (const [accountId, changes] of byAccount) {
    try {
      await enforceOne(deps, accountId, changes);
    } catch (error) {
      deps.logger.error('account budget not applied', { account_id: accountId, error });
      for (const record of images)
        if (contributionOf(record.current)?.account_id === accountId) failed.push(record.sequence);
    }
  }
  return failed;
};

const enforceOne = async (deps: AccountBudgetDeps, accountId: AccountId, changes: ContributionChange[]) => {
  const { budgets, scopes, logger, metrics, clock } = deps;
  const aggregate =
    changes.length === 0
      ? await budgets.getAggregate(accountId)
      : await budgets.applyChanges(accountId, changes);
  if (changes.length > 0) metrics.addMetric('AccountAggregateWrites', MetricUnit.Count, 1);
  const budget = aggregate.budget;
  if (budget === undefined) return;
  const day = utcDayOf(new Date(clock.now()).toISOString());
  const totals = totalsFor(aggregate.figures, budget.stake_currency, day);
  const breaches = evaluateBudget(budget, totals);
  if (breaches.length === 0) return;

  const scope = await scopes.accountScope(accountId);
  const decision = decideBudget(breaches, scope);
  if (decision.type === 'none') return;
  if (decision.type === 'already_restricted') {
    logger.info('account budget breached; account already restricted', {
      account_id: accountId,
      state: decision.state,
      by: decision.by,
    });
    return;
  }
  let generation: number;
  let done: () => Promise<string[]>;
  if (decision.type === 'reduce') {
    const reason = `account budget: ${decision.breaches.map((breach) => breach.message).join('; ')}`;
    const reduced = await scopes.reduceAccount(accountId, decision.expectedGeneration, reason);
    if (!reduced.ok) {
      // Another batch (or an operator) changed the account first; its own decision covers it.
      logger.info('account budget: scope changed meanwhile', {
        account_id: accountId,
        detail: reduced.message,
      });
      return;
    }
    generation = reduced.generation;
    const lines = [
      'account set to reducing: no new entries in any of its sessions, exits continue',
      ...reduced.done,
    ];
    done = async () => lines;
    metrics.addMetric('AccountBudgetBreaches', MetricUnit.Count, 1);
    logger.warn('account budget breached: account reducing', { account_id: accountId, breaches });
  } else {
    generation = decision.generation;
    // The change landed and its page did not (the invocation died in between, maybe in the fan-out): the
    // fan-out is applied again (idempotent: a session already held stays as it is), then the page goes.
    done = async () => [
      'account set to reducing by its budget (completed on a retry)',
      ...(await scopes.reapplyAccount(accountId)),
    ];
  }
  await pageBreach(deps, { ...aggregate, budget }, breaches, totals, generation, done, day);
};

const pageBreach = async (
  deps: AccountBudgetDeps,
  aggregate: AccountAggregate & { budget: NonNullable<AccountAggregate['budget']> },
  breaches: readonly BudgetBreach[],
  totals: ReturnType<typeof totalsFor>,
  generation: number,
  done: () => Promise<string[]>,
  day: string,
) => {
  const { budgets, alerts, ledger, clock, metrics } = deps;
  const sent = await once(ledger, `alert:${budgetIncidentOf(aggregate.account_id, generation)}`, async () => {
    const lines = await done();
    // Read only now that a page is due: who carries the breach is one Query of the account's contributions.
    const contributions = await budgets.contributionsOf(aggregate.account_id);
    const shares: Partial<Record<BudgetRule, BudgetShare[]>> = {};
    for (const breach of breaches)
      shares[breach.rule] = budgetSharesOf(contributions, breach.rule, aggregate.budget.stake_currency, day);
    await alerts.publish(
      budgetBreachAlert({
        accountId: aggregate.account_id,
        budget: aggregate.budget,
        breaches,
        totals,
        shares,
        generation,
        nowMs: clock.now(),
        done: lines,
      }),
    );
  });
  if (sent) metrics.addMetric('AlertsPublished', MetricUnit.Count, 1);
};
