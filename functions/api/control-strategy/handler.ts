import { agentHoldOf, describeAgentHold } from '../../../shared/domain/agent-report';
import type { AuditAction } from '../../../shared/domain/audit';
import { isTerminal, type Session } from '../../../shared/domain/session';
import { accountScope, FLEET, type ScopedResumeResult } from '../../../shared/domain/trading-scope';
import { SCOPES } from '../../../shared/http/constants';
import { ConflictError } from '../../../shared/http/errors';
import { createHttpHandler, defineRoute } from '../../../shared/http/handler';
import type { ApiRequest, ApiResult, HttpLambdaHandler, Route } from '../../../shared/http/types';
import { type CommandDeps, defaultCommandDeps } from '../../../shared/runtime/api-command-deps';
import { auditStateOf, recordAudit } from '../shared/audit';
import { requireAuthority } from '../shared/authority';
import { StrategyParamsSchema } from '../shared/schemas';
import { PauseResumeBodySchema, StopBodySchema } from './schema';

export type { CommandDeps as ControlDeps } from '../../../shared/runtime/api-command-deps';

interface Command {
  action: Exclude<AuditAction, 'start'>;
  strategyId: string;
  reason: string | null;
}

/** The strategy's active session, by its lock; undefined when nothing is active. */
const activeSessionOf = async (deps: CommandDeps, strategyId: string): Promise<Session | undefined> => {
  const lock = await deps.store.getLock(strategyId);
  if (lock?.active_run_id === undefined || lock.active_run_id === null) return undefined;
  const session = await deps.store.get(lock.active_run_id);
  return session !== undefined && !isTerminal(session.status) ? session : undefined;
};

/**
 * Shared by pause, resume and stop: find the active session (409 if none), check the caller may run this
 * command on a session of its mode (resume on live needs the live trader; pause and stop any writer), apply, audit, answer 202 with the session's run id and desired state. The agent does the rest.
 */
const runCommand = async (
  deps: CommandDeps,
  request: ApiRequest,
  command: Command,
  apply: (session: Session) => Promise<ScopedResumeResult>,
): Promise<ApiResult> => {
  const audit = (
    outcome: 'accepted' | 'refused',
    session: Session | undefined,
    after: Session | undefined,
    detail?: string,
  ) =>
    recordAudit(deps, request, {
      action: command.action,
      outcome,
      strategyId: command.strategyId,
      runId: session?.run_id ?? 'none',
      reason: command.reason,
      mode: session?.trading_mode ?? null,
      before: auditStateOf(session),
      after: auditStateOf(after),
      detail: detail ?? null,
    });

  const session = await activeSessionOf(deps, command.strategyId);
  if (session === undefined) {
    const message = `Strategy ${command.strategyId} has no active session to ${command.action}`;
    await audit('refused', undefined, undefined, message);
    throw new ConflictError('no_active_session', message);
  }
  requireAuthority(request.principal, command.action, session.trading_mode);
  // A held agent never restarts Freqtrade in its task: a resume it "accepted" would show running intent
  // over a stopped bot. A new task (stop, then start) goes through the start-up and takeover guards.
  const hold = command.action === 'resume' ? agentHoldOf(session.health) : null;
  if (hold !== null) {
    const message = `Session ${session.run_id} cannot resume: its agent holds Freqtrade stopped (${describeAgentHold(hold)}) and will not trade again in this task. Check the positions on the exchange, then stop it (POST /strategies/${command.strategyId}/stop) and start it again.`;
    await audit('refused', session, session, message);
    throw new ConflictError('agent_held', message, { run_id: session.run_id, held_by: hold.held_by });
  }

  const result = await apply(session);
  if (!result.ok && result.reason === 'scope_not_active') {
    const message = `Session ${session.run_id} cannot ${command.action}: ${result.message}`;
    await audit('refused', session, session, message);
    throw new ConflictError('scope_not_active', message, {
      run_id: session.run_id,
      scope: result.scope.run_id.replace(/^scope#/, ''),
      state: result.scope.state,
      changed_by: result.scope.changed_by,
      reason: result.scope.reason,
      changed_at: result.scope.changed_at,
    });
  }
  if (!result.ok) {
    const message = `Session ${session.run_id} cannot ${command.action}: ${result.message}`;
    const current = result.reason === 'not_found' ? undefined : await deps.store.get(session.run_id);
    await audit('refused', session, current, message);
    throw new ConflictError('not_allowed', message, {
      run_id: session.run_id,
      status: result.current ?? null,
    });
  }
  await audit('accepted', session, result.session);
  return {
    statusCode: 202,
    body: {
      run_id: result.session.run_id,
      strategy_id: result.session.strategy_id,
      status: result.session.status,
      desired_state: result.session.desired_state,
      flatten_on_stop: result.session.flatten_on_stop,
    },
  };
};

/**
 * A stop that finds the session already stopping succeeds: a stop is the emergency brake and pressing it
 * twice must not look like a failure. But the agent reads `flatten_on_stop` once, when its stop begins: a
 * second stop that adds flatten to a stop already under way without it would be recorded and never done,
 * so it is refused (409) with what to do instead.
 */
const stopSession = async (
  deps: CommandDeps,
  session: Session,
  flatten: boolean | undefined,
  reason: string,
) => {
  const result = await deps.store.transition(session.run_id, 'stopping', {
    patch: {
      desired_state: 'stopped',
      status_reason: reason,
      ...(flatten === undefined ? {} : { flatten_on_stop: flatten }),
    },
  });
  if (result.ok) {
    await stopSuccessorOf(deps, result.session, reason);
    return { ok: true as const, session: result.session };
  }
  if (result.reason === 'not_allowed' && result.current === 'stopping') {
    const current = await deps.store.get(session.run_id);
    if (current !== undefined) await stopSuccessorOf(deps, current, reason);
    if (current !== undefined && flatten === true && !current.flatten_on_stop) {
      return {
        ok: false as const,
        reason: 'not_allowed' as const,
        current: current.status,
        message:
          'a stop without flatten is already under way and the agent will not flatten now; close the open positions on the exchange (the stop page names them)',
      };
    }
    if (current !== undefined) return { ok: true as const, session: current };
  }
  return result;
};

/**
 * A stop of a strategy whose session is being handed off stops the successor too: the operator wants the
 * strategy stopped, not the new version started once the old one is gone. Its launch then compensates as
 * stopped during launch, with no rollback (decideLaunchFailure).
 */
const stopSuccessorOf = async (deps: CommandDeps, session: Session, reason: string) => {
  const successorRunId = session.superseded_by ?? null;
  if (successorRunId === null) return;
  const moved = await deps.store.transition(successorRunId, 'stopping', {
    from: ['pending', 'launching', 'running', 'paused', 'stale'],
    patch: {
      desired_state: 'stopped',
      status_reason: `${reason} (stopped during its handoff)`.slice(0, 1024),
    },
  });
  if (!moved.ok) deps.logger.info('successor not stopped', { run_id: successorRunId, detail: moved.message });
};

/** Pause and resume differ only in the intent they write. */
const intentRoute = (deps: CommandDeps, action: 'pause' | 'resume', desired: 'paused' | 'running') =>
  defineRoute({
    method: 'POST',
    path: `/strategies/{strategyId}/${action}`,
    scope: SCOPES.write,
    params: StrategyParamsSchema,
    body: PauseResumeBodySchema,
    idempotent: true,
    handle: (request) => {
      const reason = request.body.reason ?? null;
      return runCommand(
        deps,
        request,
        { action, strategyId: request.params.strategyId, reason },
        async (session) => {
          // A resume is refused while the fleet or the session's account is not active, in the same write.
          const apply = (target: Session) =>
            desired === 'running'
              ? deps.store.resumeIfScopesActive(target.run_id, reason, [
                  FLEET,
                  ...(target.account_id ? [accountScope(target.account_id)] : []),
                ])
              : deps.store.setDesiredState(target.run_id, desired, reason);
          const result = await apply(session);
          // During a handoff the successor starts in the state asked for now, not the one at the deploy.
          const successor =
            result.ok && session.superseded_by ? await deps.store.get(session.superseded_by) : undefined;
          if (successor !== undefined && !isTerminal(successor.status) && successor.status !== 'stopping') {
            const moved = await apply(successor);
            if (!moved.ok)
              deps.logger.info('successor intent not changed', {
                run_id: successor.run_id,
                detail: moved.message,
              });
          }
          return result;
        },
      );
    },
  });

const routes = (deps: CommandDeps): Route[] => [
  intentRoute(deps, 'pause', 'paused'),
  intentRoute(deps, 'resume', 'running'),
  defineRoute({
    method: 'POST',
    path: '/strategies/{strategyId}/stop',
    scope: SCOPES.write,
    params: StrategyParamsSchema,
    body: StopBodySchema,
    idempotent: true,
    handle: (request) => {
      const reason = request.body.reason ?? null;
      return runCommand(
        deps,
        request,
        { action: 'stop', strategyId: request.params.strategyId, reason },
        (session) =>
          stopSession(
            deps,
            session,
            request.body.flatten,
            reason ?? `stop requested by ${request.principal.subject}`,
          ),
      );
    },
  }),
];

export const createHandler = (deps: CommandDeps): HttpLambdaHandler => createHttpHandler(routes(deps), deps);

let lazy: HttpLambdaHandler | undefined;

/** Lambda entry point: AWS adapters built from the environment on the first invocation. */
export const handler: HttpLambdaHandler = (event, context) => {
  lazy ??= createHandler(defaultCommandDeps());
  return lazy(event, context);
};
