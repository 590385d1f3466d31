import * as z from 'zod';
import { createDocumentClient } from '../adapters/dynamodb/client';
import { DynamoSessionStore } from '../adapters/dynamodb/session-store';
import type { AccountBudgetStore } from '../domain/account-budget';
import type { AlertPublisher } from '../domain/ports';
import type { SessionStore } from '../domain/session-store';
import type { TradingScopeStore } from '../domain/trading-scope';
import { budgetsFromEnv } from './account-budget-scopes';
import { type CommandDeps, defaultCommandDeps } from './api-command-deps';
import { parseEnv, TablesEnvSchema } from './env';
import { alertsFromEnv } from './workflow-alerts';

/** The trading-scope function (halt, resume, fleet state): the command deps, the scope store and paging. */
export interface TradingScopeRuntimeDeps extends Omit<CommandDeps, 'store'> {
  store: SessionStore & TradingScopeStore;
  alerts: AlertPublisher;
  confirmTimeoutMs: number;
  budgets: AccountBudgetStore;
}

/**
 * SCOPE_CONFIRM_TIMEOUT_S: how long a halt waits for every agent's confirmation before it lists the
 * ones that did not; above the agents' control poll (5 s) plus a heartbeat's round trip, and well inside
 * API Gateway's 30 s.
 */
export const ScopeEnvSchema = TablesEnvSchema.extend({
  SCOPE_CONFIRM_TIMEOUT_S: z.coerce.number().min(0.1).max(25).default(15),
});

export const defaultTradingScopeDeps = (env: NodeJS.ProcessEnv = process.env): TradingScopeRuntimeDeps => {
  const parsed = parseEnv(ScopeEnvSchema, env);
  const doc = createDocumentClient();
  return {
    ...defaultCommandDeps(env),
    budgets: budgetsFromEnv(doc, env),
    store: new DynamoSessionStore(doc, {
      sessionsTable: parsed.SESSIONS_TABLE,
      metricsTable: parsed.METRICS_TABLE,
    }),
    alerts: alertsFromEnv(env),
    confirmTimeoutMs: parsed.SCOPE_CONFIRM_TIMEOUT_S * 1000,
  };
};
