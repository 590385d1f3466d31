import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { DynamoAccountBudgetStore } from '../adapters/dynamodb/account-budget-store';
import { BUDGET_ACTOR, type BudgetScopePort } from '../domain/account-budget';
import { type Clock, systemClock } from '../domain/clock';
import { accountScope } from '../domain/trading-scope';
import { parseEnv } from './env';
import { applyScopeToSessions, type FanOutReport, type ScopeFanOutDeps } from './scope-fanout';

/**
 * The budgets' view of the trading scopes: the account's scope as stored, and a change to `reducing` by
 * the budget's own actor, conditional on the generation the budget read, then applied to every session in
 * the account by the scope's own fan-out (shared/runtime/scope-fanout.ts), as an operator's halt is. It
 * does not wait for the agents' confirmations (a stream batch must not): the page says what was written.
 */
export const budgetScopesOf = (deps: ScopeFanOutDeps): BudgetScopePort => ({
  accountScope: async (accountId) => {
    const scope = await deps.store.getTradingScope(accountScope(accountId));
    return { state: scope.state, generation: scope.generation, changed_by: scope.changed_by };
  },
  reduceAccount: async (accountId, expectedGeneration, reason) => {
    const changed = await deps.store.changeTradingScope({
      scope: accountScope(accountId),
      to: 'reducing',
      expectedGeneration,
      actor: BUDGET_ACTOR,
      reason: reason.slice(0, 1024),
    });
    if (!changed.ok) return { ok: false, reason: 'conflict', message: changed.message };
    return {
      ok: true,
      generation: changed.scope.generation,
      done: describe(await applyScopeToSessions(deps, changed.scope)),
    };
  },
  reapplyAccount: async (accountId) =>
    describe(await applyScopeToSessions(deps, await deps.store.getTradingScope(accountScope(accountId)))),
});

const describe = (report: FanOutReport): string[] => [
  `${report.acted.length} session(s) paused for the account (desired state paused: the agents stop new entries)`,
  ...(report.untouched.length > 0
    ? [`left as they were: ${report.untouched.map((item) => `${item.run_id} (${item.why})`).join(', ')}`]
    : []),
  ...(report.failed.length > 0
    ? [`NOT paused: ${report.failed.map((item) => `${item.run_id} (${item.error})`).join(', ')}`]
    : []),
];

export const BudgetsEnvSchema = z.object({ ACCOUNT_BUDGETS_TABLE: z.string().min(3).max(255) });

/** The account budgets table (ACCOUNT_BUDGETS_TABLE, set for every function by serverless.yml). */
export const budgetsFromEnv = (
  doc: DynamoDBDocumentClient,
  env: NodeJS.ProcessEnv = process.env,
  clock: Clock = systemClock,
): DynamoAccountBudgetStore =>
  new DynamoAccountBudgetStore(doc, {
    budgetsTable: parseEnv(BudgetsEnvSchema, env).ACCOUNT_BUDGETS_TABLE,
    clock,
  });
