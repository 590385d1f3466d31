import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { validateDeploymentBounds } from '../../../shared/domain/risk';
import { isTerminal, newRunId, type Session, type SessionStatus } from '../../../shared/domain/session';
import { SCOPES } from '../../../shared/http/constants';
import { BadRequestError, ConflictError, ServiceUnavailableError } from '../../../shared/http/errors';
import { createHttpHandler, defineRoute } from '../../../shared/http/handler';
import type { HttpLambdaHandler } from '../../../shared/http/types';
import { defaultStartDeps, randomRunSuffix, type StartDeps } from '../../../shared/runtime/api-start-deps';
import { auditStateOf, recordAudit } from '../shared/audit';
import { requireAuthority } from '../shared/authority';
import { StrategyParamsSchema } from '../shared/schemas';
import { handoffRoutes } from './handoff-routes';
import { StartBodySchema } from './schema';

export type { StartDeps } from '../../../shared/runtime/api-start-deps';

type LaunchOutcome = { started: true } | { started: false; session: Session | undefined };

/** Statuses only the launch workflow moves a session into: seeing one means the execution exists. */
const LAUNCHED: readonly SessionStatus[] = ['launching', 'running', 'paused', 'stale'];

/**
 * StartExecution failed. Fail the pending session and free the lock, unless the session has already moved
 * on: in a launched status the execution did start (the call failed after Step Functions took it) and owns
 * the session; in `stopping` an operator stopped it meanwhile and the stop path frees the lock.
 */
const compensateFailedLaunch = async (
  deps: StartDeps,
  session: Session,
  error: unknown,
): Promise<LaunchOutcome> => {
  const reason = `launch workflow could not be started: ${error instanceof Error ? error.name : 'error'}`;
  const failed = await deps.store.transition(session.run_id, 'failed', {
    from: ['pending'],
    patch: { status_reason: reason },
  });
  if (!failed.ok && failed.current !== undefined && LAUNCHED.includes(failed.current))
    return { started: true };
  if (failed.ok || failed.current === undefined || isTerminal(failed.current)) {
    const released = await deps.store.releaseLock(session.strategy_id, session.run_id);
    if (!released.ok) deps.logger.warn('lock was not held by the failed run', { detail: released.message });
  }
  return { started: false, session: failed.ok ? failed.session : await deps.store.get(session.run_id) };
};

const startRoute = (deps: StartDeps) =>
  defineRoute({
    method: 'POST',
    path: '/strategies/{strategyId}/start',
    scope: SCOPES.write,
    params: StrategyParamsSchema,
    body: StartBodySchema,
    idempotent: true,
    handle: async (request) => {
      const { params, body } = request;
      requireAuthority(request.principal, 'start', body.mode);
      const bounds = validateDeploymentBounds(body.risk_limits, body.mode);
      if (!bounds.ok) {
        throw new BadRequestError(
          'The risk limits are outside the deployment bounds',
          bounds.violations,
          'risk_limits_out_of_bounds',
        );
      }
      const reason = body.reason ?? null;
      const audit = (
        outcome: 'accepted' | 'refused' | 'failed',
        runId: string,
        after: Session | undefined,
        detail?: string,
      ) =>
        recordAudit(deps, request, {
          action: 'start',
          outcome,
          strategyId: params.strategyId,
          runId,
          reason,
          mode: body.mode,
          before: null,
          after: auditStateOf(after),
          detail: detail ?? null,
          overrides: body.overrides ?? {},
          riskLimits: bounds.limits,
        });

      const runId = newRunId(
        body.mode,
        params.strategyId,
        deps.clock.now(),
        (deps.randomSuffix ?? randomRunSuffix)(),
      );
      const created = await deps.store.createSession({
        run_id: runId,
        strategy_id: params.strategyId,
        strategy_name: body.strategy,
        trading_mode: body.mode,
        risk_limits: bounds.limits,
        alias: body.alias ?? null,
        stage: body.stage ?? null,
        overrides: body.overrides ?? {},
        requested_by: request.principal.subject,
        trace_id: request.requestId.slice(0, 128),
        reason,
      });
      if (!created.ok) {
        if (created.reason === 'strategy_busy') {
          const message = `Strategy ${params.strategyId} already has an active session ${created.activeRunId}`;
          await audit('refused', created.activeRunId, undefined, message);
          throw new ConflictError('strategy_busy', message, { active_run_id: created.activeRunId });
        }
        if (created.reason === 'scope_not_active') {
          const message = `Strategy ${params.strategyId} cannot start: ${created.message}`;
          await audit('refused', 'none', undefined, message);
          throw new ConflictError('scope_not_active', message, {
            scope: created.scope.run_id.replace(/^scope#/, ''),
            state: created.scope.state,
            changed_by: created.scope.changed_by,
            reason: created.scope.reason,
            changed_at: created.scope.changed_at,
          });
        }
        // A run id is time plus 32 random bits: a collision is a fault, not the caller's doing.
        throw new Error(created.message);
      }
      const session = created.session;

      try {
        await deps.launchWorkflow.start(session);
      } catch (error) {
        deps.logger.error('StartExecution failed', { error: error as Error, run_id: runId });
        const outcome = await compensateFailedLaunch(deps, session, error).catch((compensation: unknown) => {
          deps.logger.error('compensation after a failed StartExecution failed', {
            error: compensation as Error,
            run_id: runId,
          });
          return { started: false, session: undefined } as const;
        });
        if (!outcome.started) {
          deps.metrics.addMetric('LaunchStartFailed', MetricUnit.Count, 1);
          await audit('failed', runId, outcome.session, 'the launch workflow could not be started');
          throw new ServiceUnavailableError(
            'launch_unavailable',
            `The launch workflow could not be started; session ${runId} was marked failed and nothing is running. Retry later.`,
            { cause: error },
          );
        }
      }

      await audit('accepted', runId, session);
      return {
        statusCode: 202,
        headers: { location: `/sessions/${runId}` },
        body: { run_id: runId, strategy_id: params.strategyId, status: 'pending' },
      };
    },
  });

export const createHandler = (deps: StartDeps): HttpLambdaHandler =>
  createHttpHandler([startRoute(deps), ...handoffRoutes(deps)], deps);

let lazy: HttpLambdaHandler | undefined;

/** Lambda entry point: AWS adapters built from the environment on the first invocation. */
export const handler: HttpLambdaHandler = (event, context) => {
  lazy ??= createHandler(defaultStartDeps());
  return lazy(event, context);
};
