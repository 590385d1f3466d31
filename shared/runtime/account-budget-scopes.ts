import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { DynamoAccountBudgetStore } from '../adapters/dynamodb/account-budget-store';
import { type AccountBudgetStore, BUDGET_ACTOR, type BudgetScopePort } from '../domain/account-budget';
import { type Clock, systemClock } from '../domain/clock';
import type { SessionStore } from '../domain/session-store';
import { accountScope, scopeActionFor, scopeKeyOf, type TradingScopeStore } from '../domain/trading-scope';
import { parseEnv } from './env';

/**
 * The budgets' view of the trading scopes: the account's scope as stored, and a change to `reducing` by
 * the budget's own actor, conditional on the generation the budget read. The sessions the change acts on
 * are the account's contributions (every live session that has reported on it; one that has not yet
 * claimed is refused by its account's state at its claim), each held by the scope's own rule.
 */
export const budgetScopesOf = (
  store: Pick<SessionStore, 'get'> &
    Pick<TradingScopeStore, 'getTradingScope' | 'changeTradingScope' | 'holdForScope'>,
  budgets: Pick<AccountBudgetStore, 'contributionsOf'>,
): BudgetScopePort => ({
  accountScope: async (accountId) => {
    const scope = await store.getTradingScope(accountScope(accountId));
    return { state: scope.state, generation: scope.generation, changed_by: scope.changed_by };
  },
  reduceAccount: async (accountId, expectedGeneration, reason) => {
    const scope = accountScope(accountId);
    const changed = await store.changeTradingScope({
      scope,
      to: 'reducing',
      expectedGeneration,
      actor: BUDGET_ACTOR,
      reason,
    });
    if (!changed.ok) return { ok: false, reason: 'conflict', message: changed.message };
    const key = scopeKeyOf(scope);
    let held = 0;
    const notHeld: string[] = [];
    for (const contribution of await budgets.contributionsOf(accountId)) {
      if (contribution.finished) continue;
      const session = await store.get(contribution.run_id);
      if (session === undefined || scopeActionFor(session, key, 'reducing').type !== 'hold') continue;
      const result = await store.holdForScope(session.run_id, key);
      if (result.ok) held += 1;
      else notHeld.push(`${session.run_id} (${result.message})`);
    }
    return {
      ok: true,
      generation: changed.scope.generation,
      done: [
        `${held} session(s) paused for the account (desired state paused: the agents stop new entries)`,
        ...(notHeld.length > 0 ? [`NOT paused: ${notHeld.join(', ')}`] : []),
      ],
    };
  },
});

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
