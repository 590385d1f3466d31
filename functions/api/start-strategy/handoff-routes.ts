import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { decideHandoffStart, selectionOf } from '../../../shared/domain/deploy';
import type { HandoffKind, HandoffMode, VersionSelection } from '../../../shared/domain/handoff';
import { isTerminal, newRunId, type Session } from '../../../shared/domain/session';
import { SCOPES } from '../../../shared/http/constants';
import { ConflictError, ServiceUnavailableError } from '../../../shared/http/errors';
import { defineRoute } from '../../../shared/http/handler';
import type { ApiRequest, Route } from '../../../shared/http/types';
import { randomRunSuffix, type StartDeps } from '../../../shared/runtime/api-start-deps';
import { auditStateOf, recordAudit } from '../shared/audit';
import { requireAuthority } from '../shared/authority';
import { StrategyParamsSchema } from '../shared/schemas';
import { DeployBodySchema, RestartBodySchema } from './schema';

/** wait_flat's bound when the request names none. */
export const DEFAULT_WAIT_FLAT_S = 300;

interface Roll {
  kind: Extract<HandoffKind, 'deploy' | 'restart'>;
  strategyId: string;
  selection: (active: Session) => VersionSelection;
  mode: HandoffMode;
  waitFlatS: number;
  reason: string;
}

/**
 * Deploy and restart: a successor session of the strategy's active one, created with the predecessor marked
 * superseded in one transaction, then its launch workflow, which retires the predecessor, waits until it is
 * gone and starts the successor on the same trade store (statemachines/README.md, "Handoff").
 */
const roll = async (deps: StartDeps, request: ApiRequest, command: Roll) => {
  const audit = (
    outcome: 'accepted' | 'refused' | 'failed',
    before: Session | undefined,
    after: Session | undefined,
    detail: string | null,
  ) =>
    recordAudit(deps, request, {
      action: command.kind,
      outcome,
      strategyId: command.strategyId,
      runId: after?.run_id ?? before?.run_id ?? 'none',
      reason: command.reason,
      mode: before?.trading_mode ?? null,
      before: auditStateOf(before),
      after: auditStateOf(after),
      detail,
    });
  const lock = await deps.store.getLock(command.strategyId);
  const active =
    lock?.active_run_id === null || lock?.active_run_id === undefined
      ? undefined
      : await deps.store.get(lock.active_run_id);
  // A handoff whose successor ended (failed, no rollback) leaves the predecessor rollable again.
  const previousSuccessor =
    active?.superseded_by === null || active?.superseded_by === undefined
      ? undefined
      : await deps.store.get(active.superseded_by);
  const successorOver = previousSuccessor === undefined || isTerminal(previousSuccessor.status);
  const decision = decideHandoffStart(
    active !== undefined && successorOver ? { ...active, superseded_by: null } : active,
  );
  if (!decision.ok) {
    const message = `Strategy ${command.strategyId} cannot ${command.kind}: ${decision.message}`;
    await audit('refused', active, undefined, message);
    throw new ConflictError(decision.reason, message, {
      ...(active === undefined ? {} : { run_id: active.run_id, status: active.status }),
      ...(decision.reason === 'handoff_in_progress' ? { successor_run_id: decision.successorRunId } : {}),
    });
  }
  const predecessor = active as Session;
  requireAuthority(request.principal, command.kind, predecessor.trading_mode);

  const selection = command.selection(predecessor);
  const runId = newRunId(
    predecessor.trading_mode,
    command.strategyId,
    deps.clock.now(),
    (deps.randomSuffix ?? randomRunSuffix)(),
  );
  const created = await deps.store.createSuccessor(
    {
      run_id: runId,
      strategy_id: predecessor.strategy_id,
      strategy_name: predecessor.strategy_name,
      trading_mode: predecessor.trading_mode,
      risk_limits: predecessor.risk_limits,
      alias: selection.alias,
      stage: selection.stage,
      model_version: selection.model_version,
      overrides: predecessor.overrides,
      requested_by: request.principal.subject,
      trace_id: request.requestId.slice(0, 128),
      reason: `${command.kind}: ${command.reason}`.slice(0, 1024),
    },
    {
      lockHolder: predecessor.run_id,
      desiredState: predecessor.desired_state === 'paused' ? 'paused' : 'running',
      superseded: [
        {
          run_id: predecessor.run_id,
          statuses: ['running', 'paused'],
          supersededBy: predecessor.superseded_by ?? null,
        },
      ],
      handoff: {
        kind: command.kind,
        mode: command.mode,
        wait_flat_s: command.mode === 'wait_flat' ? command.waitFlatS : 0,
        phase: 'requested',
        from_run_id: predecessor.run_id,
        to_run_id: runId,
        rollback_of: null,
        requested_at: new Date(deps.clock.now()).toISOString(),
        reason: command.reason,
      },
    },
  );
  if (!created.ok) {
    const message = `Strategy ${command.strategyId} cannot ${command.kind}: ${created.message}`;
    await audit('refused', predecessor, undefined, message);
    if (created.reason === 'duplicate_run_id') throw new Error(created.message);
    throw new ConflictError('handoff_refused', message, { run_id: predecessor.run_id });
  }
  const session = created.session;
  try {
    await deps.launchWorkflow.start(session);
  } catch (error) {
    // Nothing was retired yet (that is the workflow's first step): the predecessor trades on, unsuperseded
    // in effect (its successor is over), and may be rolled again.
    deps.logger.error('StartExecution failed for a handoff', { error: error as Error, run_id: runId });
    await deps.store
      .transition(runId, 'failed', {
        from: ['pending'],
        patch: { status_reason: 'launch workflow could not be started' },
      })
      .catch(() => undefined);
    deps.metrics.addMetric('LaunchStartFailed', MetricUnit.Count, 1);
    await audit('failed', predecessor, session, 'the launch workflow could not be started');
    throw new ServiceUnavailableError(
      'launch_unavailable',
      `The launch workflow could not be started; ${predecessor.run_id} keeps trading. Retry later.`,
      { cause: error },
    );
  }
  await audit('accepted', predecessor, session, null);
  return {
    statusCode: 202,
    headers: { location: `/sessions/${runId}` },
    body: {
      run_id: runId,
      strategy_id: command.strategyId,
      status: 'pending',
      supersedes: predecessor.run_id,
      handoff: session.handoff?.mode ?? command.mode,
    },
  };
};

export const handoffRoutes = (deps: StartDeps): Route[] => [
  defineRoute({
    method: 'POST',
    path: '/strategies/{strategyId}/deploy',
    scope: SCOPES.write,
    params: StrategyParamsSchema,
    body: DeployBodySchema,
    idempotent: true,
    handle: (request) => {
      const { body } = request;
      return roll(deps, request, {
        kind: 'deploy',
        strategyId: request.params.strategyId,
        selection: () => ({
          model_version: body.version ?? null,
          alias: body.alias ?? null,
          stage: body.stage ?? null,
        }),
        mode: body.handoff,
        waitFlatS: body.wait_flat_s ?? DEFAULT_WAIT_FLAT_S,
        reason: body.reason,
      });
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/strategies/{strategyId}/restart',
    scope: SCOPES.write,
    params: StrategyParamsSchema,
    body: RestartBodySchema,
    idempotent: true,
    // A fresh task on the same version reads the exchange secret's current version (credential rotation).
    handle: (request) =>
      roll(deps, request, {
        kind: 'restart',
        strategyId: request.params.strategyId,
        selection: selectionOf,
        mode: 'carry_positions',
        waitFlatS: 0,
        reason: request.body.reason,
      }),
  }),
];
