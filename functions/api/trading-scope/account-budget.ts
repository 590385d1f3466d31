import { MetricUnit } from '@aws-lambda-powertools/metrics';
import * as z from 'zod';
import {
  AccountBudgetSchema,
  type AccountBudgetStore,
  budgetLoosens,
  currenciesOf,
  type StoredAccountBudget,
  totalsFor,
  utcDayOf,
} from '../../../shared/domain/account-budget';
import type { AuditEntry } from '../../../shared/domain/audit';
import { accountScope, scopeKeyOf } from '../../../shared/domain/trading-scope';
import { requireLiveTrader } from '../../../shared/http/auth';
import { SCOPES } from '../../../shared/http/constants';
import { ConflictError } from '../../../shared/http/errors';
import { defineRoute } from '../../../shared/http/handler';
import type { ApiRequest, Route } from '../../../shared/http/types';
import type { ApiDeps } from '../../../shared/runtime/api-deps';
import { ReasonSchema } from '../shared/schemas';
import { AccountParamsSchema } from './schema';

/** `PUT /accounts/{accountId}/budget`: the whole budget (a limit left out is not enforced), and why. */
export const BudgetBodySchema = z.strictObject({
  ...AccountBudgetSchema.shape,
  reason: ReasonSchema,
});

export const AccountBudgetViewSchema = z
  .strictObject({
    account_id: z.string(),
    budget: z
      .strictObject({
        stake_currency: z.string(),
        daily_loss_max: z.number().optional(),
        gross_exposure_max: z.number().optional(),
        updated_at: z.string(),
        updated_by: z.string(),
      })
      .nullable(),
    today: z.strictObject({ day: z.string(), pnl_today: z.number(), exposure: z.number() }).nullable().meta({
      description: "The account's totals in the budget's currency, as the stream processor keeps them",
    }),
    currencies_seen: z.array(z.string()).meta({
      description:
        "The stake currencies the account's sessions report: a budget in none of them never breaches",
    }),
  })
  .meta({ id: 'AccountBudget' });

export interface AccountBudgetRouteDeps extends Pick<ApiDeps, 'audit' | 'clock' | 'logger' | 'metrics'> {
  budgets: Pick<AccountBudgetStore, 'getAggregate' | 'putBudget'>;
}

const describe = (budget: StoredAccountBudget | undefined) =>
  budget === undefined
    ? 'none'
    : `loss ${budget.daily_loss_max ?? 'unlimited'}, exposure ${budget.gross_exposure_max ?? 'unlimited'} ${budget.stake_currency}`;

const viewOf = async (deps: AccountBudgetRouteDeps, accountId: string) => {
  const aggregate = await deps.budgets.getAggregate(accountId);
  const day = utcDayOf(new Date(deps.clock.now()).toISOString());
  const budget = aggregate.budget ?? null;
  return {
    account_id: accountId,
    budget,
    today: budget === null ? null : { day, ...totalsFor(aggregate.figures, budget.stake_currency, day) },
    currencies_seen: currenciesOf(aggregate.figures),
  };
};

const audit = async (
  deps: AccountBudgetRouteDeps,
  request: ApiRequest,
  accountId: string,
  outcome: AuditEntry['outcome'],
  reason: string,
  detail: string,
) => {
  const record: AuditEntry = {
    // The account's audit trail is its scope's: budget changes sit beside its halts and resumes.
    strategy_id: scopeKeyOf(accountScope(accountId)),
    run_id: 'budget',
    at: new Date(deps.clock.now()).toISOString(),
    action: 'budget',
    outcome,
    actor: request.principal.subject,
    reason,
    trading_mode: null,
    state_before: null,
    state_after: null,
    detail: detail.slice(0, 1024),
    request_id: request.requestId.slice(0, 128),
  };
  deps.metrics.addMetric(`Command_budget_${outcome}`, MetricUnit.Count, 1);
  try {
    await deps.audit.record(record);
  } catch (error) {
    deps.logger.error('audit record not written', { error: error as Error, audit: record });
    deps.metrics.addMetric('AuditWriteFailed', MetricUnit.Count, 1);
  }
};

/** An account's budget: read it with today's totals, or replace it (tightening: write; loosening: live). */
export const accountBudgetRoutes = (deps: AccountBudgetRouteDeps): Route[] => [
  defineRoute({
    method: 'GET',
    path: '/accounts/{accountId}/budget',
    scope: SCOPES.read,
    params: AccountParamsSchema,
    handle: async (request) => ({ statusCode: 200, body: await viewOf(deps, request.params.accountId) }),
  }),
  defineRoute({
    method: 'PUT',
    path: '/accounts/{accountId}/budget',
    scope: SCOPES.write,
    params: AccountParamsSchema,
    body: BudgetBodySchema,
    idempotent: true,
    handle: async (request) => {
      const { accountId } = request.params;
      const { reason, ...given } = request.body;
      const current = (await deps.budgets.getAggregate(accountId)).budget;
      const next: StoredAccountBudget = {
        ...AccountBudgetSchema.parse(given),
        updated_at: new Date(deps.clock.now()).toISOString(),
        updated_by: request.principal.subject,
      };
      // More room to lose on a live account is a risk-increasing change, as a resume is.
      if (budgetLoosens(current, next)) requireLiveTrader(request.principal);
      const written = await deps.budgets.putBudget(accountId, next, current?.updated_at ?? null);
      if (!written.ok) {
        await audit(deps, request, accountId, 'refused', reason, written.message);
        throw new ConflictError('budget_changed', written.message, { current: written.current ?? null });
      }
      await audit(deps, request, accountId, 'accepted', reason, `${describe(current)} -> ${describe(next)}`);
      return { statusCode: 200, body: await viewOf(deps, accountId) };
    },
  }),
];
