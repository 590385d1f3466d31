import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { AuditEntry } from '../../../shared/domain/audit';
import type { AlertPublisher } from '../../../shared/domain/ports';
import { scopeChangeAlert } from '../../../shared/domain/scope-alerts';
import type { SessionStore } from '../../../shared/domain/session-store';
import {
  accountScope,
  decideScopeCommand,
  FLEET,
  type ScopeCommand,
  type ScopeRef,
  scopeNameOf,
  type TradingScope,
  type TradingScopeStore,
} from '../../../shared/domain/trading-scope';
import { SCOPES } from '../../../shared/http/constants';
import { ConflictError } from '../../../shared/http/errors';
import { createHttpHandler, defineRoute } from '../../../shared/http/handler';
import type { ApiRequest, ApiResult, HttpLambdaHandler, Route } from '../../../shared/http/types';
import type { CommandDeps } from '../../../shared/runtime/api-command-deps';
import { defaultTradingScopeDeps } from '../../../shared/runtime/api-scope-deps';
import {
  applyScopeToSessions,
  awaitConfirmations,
  type ConfirmationReport,
  sessionsInScope,
} from '../../../shared/runtime/scope-fanout';
import { requireAuthority } from '../shared/authority';
import { type AccountBudgetRouteDeps, accountBudgetRoutes } from './account-budget';
import { AccountParamsSchema, HaltBodySchema, ScopeResumeBodySchema } from './schema';

export interface TradingScopeDeps extends Omit<CommandDeps, 'store'> {
  store: SessionStore & TradingScopeStore;
  alerts: AlertPublisher;
  /** How long a halt waits for every agent to confirm before listing the ones that did not. */
  confirmTimeoutMs: number;
  confirmPollMs?: number;
  /** Account budgets (PUT/GET /accounts/{accountId}/budget); the stream processor enforces them. */
  budgets: AccountBudgetRouteDeps['budgets'];
}

/** The scope as the API shows it: no table keys. */
export const scopeView = (scope: TradingScope) => ({
  scope: scope.scope,
  account_id: scope.account_id,
  state: scope.state,
  generation: scope.generation,
  previous_state: scope.previous_state,
  changed_by: scope.changed_by,
  reason: scope.reason,
  changed_at: scope.changed_at,
});

const recordScopeAudit = async (
  deps: TradingScopeDeps,
  request: ApiRequest,
  entry: {
    scope: TradingScope;
    action: 'halt' | 'scope_resume';
    outcome: AuditEntry['outcome'];
    reason: string;
    before: TradingScope['state'];
    after: TradingScope['state'];
    detail: string | null;
  },
) => {
  const record: AuditEntry = {
    strategy_id: entry.scope.run_id,
    run_id: `g${entry.scope.generation}`,
    at: new Date(deps.clock.now()).toISOString(),
    action: entry.action,
    outcome: entry.outcome,
    actor: request.principal.subject,
    reason: entry.reason,
    trading_mode: null,
    state_before: null,
    state_after: null,
    scope_state_before: entry.before,
    scope_state_after: entry.after,
    detail: entry.detail?.slice(0, 1024) ?? null,
    request_id: request.requestId.slice(0, 128),
  };
  deps.metrics.addMetric(`Command_${entry.action}_${entry.outcome}`, MetricUnit.Count, 1);
  try {
    await deps.audit.record(record);
  } catch (error) {
    deps.logger.error('audit record not written', { error: error as Error, audit: record });
    deps.metrics.addMetric('AuditWriteFailed', MetricUnit.Count, 1);
  }
};

const refuse = async (
  deps: TradingScopeDeps,
  request: ApiRequest,
  command: ScopeCommand,
  scope: TradingScope,
  reason: string,
  code: string,
  message: string,
): Promise<never> => {
  await recordScopeAudit(deps, request, {
    scope,
    action: command.kind === 'halt' ? 'halt' : 'scope_resume',
    outcome: 'refused',
    reason,
    before: scope.state,
    after: scope.state,
    detail: message,
  });
  throw new ConflictError(code, message, { scope: scopeView(scope) });
};

const noConfirmation = (): ConfirmationReport => ({ confirmed: [], unconfirmed: [], waited_ms: 0 });

/**
 * Halt or resume one scope: decide from the transition table, write the state (conditional on the
 * generation read), fan it out onto the sessions, wait (bounded) for their agents, page once, audit once.
 */
const changeScope = async (
  deps: TradingScopeDeps,
  request: ApiRequest,
  ref: ScopeRef,
  command: ScopeCommand,
  reason: string,
): Promise<ApiResult> => {
  const current = await deps.store.getTradingScope(ref);
  if (command.kind === 'resume') {
    // Resuming puts money back at risk: with a live session in the scope it needs the live permission.
    const inScope = await sessionsInScope(deps.store, current);
    requireAuthority(
      request.principal,
      'scope_resume',
      inScope.some((session) => session.trading_mode === 'live') ? 'live' : 'dry-run',
    );
  } else {
    requireAuthority(request.principal, 'halt', 'live');
  }
  const decision = decideScopeCommand(current, command);
  if (decision.type === 'refused')
    return refuse(deps, request, command, current, reason, 'scope_less_restrictive', decision.message);

  let scope = current;
  if (decision.type === 'change') {
    const changed = await deps.store.changeTradingScope({
      scope: ref,
      to: decision.to,
      expectedGeneration: current.generation,
      actor: request.principal.subject,
      reason,
    });
    if (!changed.ok)
      return refuse(deps, request, command, changed.current, reason, 'scope_changed', changed.message);
    scope = changed.scope;
  }

  const fanOut = await applyScopeToSessions(deps, scope);
  const awaited =
    scope.state === 'active'
      ? noConfirmation()
      : await awaitConfirmations(
          deps,
          scope.state,
          [...fanOut.acted, ...fanOut.untouched].filter(
            // An operator's pause already took the bot's entries off; it is waited for like the others.
            (ref) => ref.trading_mode === 'live' || ref.trading_mode === 'dry-run',
          ),
          { timeoutMs: deps.confirmTimeoutMs, pollMs: deps.confirmPollMs ?? 250 },
        );
  if (scope.state !== 'active') {
    // The status index is eventually consistent: a session created just before the scope was written may
    // have been missing from the first listing. A second pass catches it; whatever it acts on now is waited
    // for briefly and otherwise listed as unconfirmed, never counted as done.
    const late = await applyScopeToSessions(deps, scope);
    if (late.acted.length > 0) {
      const lateAwaited = await awaitConfirmations(deps, scope.state, late.acted, {
        timeoutMs: Math.min(deps.confirmTimeoutMs, 2_000),
        pollMs: deps.confirmPollMs ?? 250,
      });
      fanOut.acted.push(...late.acted);
      awaited.confirmed.push(...lateAwaited.confirmed);
      awaited.unconfirmed.push(...lateAwaited.unconfirmed);
    }
    fanOut.failed.push(
      ...late.failed.filter((item) => !fanOut.failed.some((seen) => seen.run_id === item.run_id)),
    );
  }

  if (decision.type === 'change') {
    const alert = scopeChangeAlert({
      scope,
      acted: fanOut.acted.length,
      confirmed: awaited.confirmed.length,
      unconfirmed: awaited.unconfirmed,
      failed: fanOut.failed,
      untouched: fanOut.untouched,
      waitedS: awaited.waited_ms / 1000,
    });
    try {
      await deps.alerts.publish(alert);
      deps.metrics.addMetric('AlertsPublished', MetricUnit.Count, 1);
    } catch (error) {
      // The state changed and reached the sessions: a failed page must not make the caller retry that.
      deps.logger.error('scope page not published', { error: error as Error, dedup_id: alert.dedup_id });
      deps.metrics.addMetric('ScopePageFailed', MetricUnit.Count, 1);
    }
  }
  await recordScopeAudit(deps, request, {
    scope,
    action: command.kind === 'halt' ? 'halt' : 'scope_resume',
    outcome: 'accepted',
    reason,
    before: current.state,
    after: scope.state,
    detail: `${scopeNameOf(ref)}: ${fanOut.acted.length} session(s) acted on, ${awaited.confirmed.length} confirmed, ${awaited.unconfirmed.length} unconfirmed (${awaited.unconfirmed.map((item) => item.run_id).join(', ')}), ${fanOut.failed.length} not written`,
  });
  return {
    statusCode: 200,
    body: {
      ...scopeView(scope),
      changed: decision.type === 'change',
      sessions: {
        acted: fanOut.acted,
        untouched: fanOut.untouched,
        held: fanOut.held,
        failed: fanOut.failed,
        confirmed: awaited.confirmed.map((item) => item.run_id),
        unconfirmed: awaited.unconfirmed,
      },
      confirm_timeout_s: deps.confirmTimeoutMs / 1000,
    },
  };
};

const routes = (deps: TradingScopeDeps): Route[] => [
  ...accountBudgetRoutes(deps),
  defineRoute({
    method: 'POST',
    path: '/fleet/halt',
    scope: SCOPES.write,
    body: HaltBodySchema,
    idempotent: true,
    handle: (request) =>
      changeScope(deps, request, FLEET, { kind: 'halt', mode: request.body.mode }, request.body.reason),
  }),
  defineRoute({
    method: 'POST',
    path: '/accounts/{accountId}/halt',
    scope: SCOPES.write,
    params: AccountParamsSchema,
    body: HaltBodySchema,
    idempotent: true,
    handle: (request) =>
      changeScope(
        deps,
        request,
        accountScope(request.params.accountId),
        { kind: 'halt', mode: request.body.mode },
        request.body.reason,
      ),
  }),
  defineRoute({
    method: 'POST',
    path: '/fleet/resume',
    scope: SCOPES.write,
    body: ScopeResumeBodySchema,
    idempotent: true,
    handle: (request) => changeScope(deps, request, FLEET, { kind: 'resume' }, request.body.reason),
  }),
  defineRoute({
    method: 'POST',
    path: '/accounts/{accountId}/resume',
    scope: SCOPES.write,
    params: AccountParamsSchema,
    body: ScopeResumeBodySchema,
    idempotent: true,
    handle: (request) =>
      changeScope(
        deps,
        request,
        accountScope(request.params.accountId),
        { kind: 'resume' },
        request.body.reason,
      ),
  }),
  defineRoute({
    method: 'GET',
    path: '/fleet/state',
    scope: SCOPES.read,
    handle: async () => {
      const scopes = await deps.store.listTradingScopes();
      const fleet =
        scopes.find((scope) => scope.scope === 'fleet') ?? (await deps.store.getTradingScope(FLEET));
      return {
        statusCode: 200,
        body: {
          fleet: scopeView(fleet),
          accounts: scopes.filter((scope) => scope.scope === 'account').map(scopeView),
        },
      };
    },
  }),
];

export const createHandler = (deps: TradingScopeDeps): HttpLambdaHandler =>
  createHttpHandler(routes(deps), deps);

let lazy: HttpLambdaHandler | undefined;

/** Lambda entry point: AWS adapters built from the environment on the first invocation. */
export const handler: HttpLambdaHandler = (event, context) => {
  lazy ??= createHandler(defaultTradingScopeDeps());
  return lazy(event, context);
};
