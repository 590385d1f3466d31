import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { type Clock, isoAt, systemClock } from '../../../shared/domain/clock';
import {
  decideLaunchFailure,
  decidePredecessorWait,
  predecessorWaitPolicyOf,
} from '../../../shared/domain/deploy';
import { parseInput } from '../../../shared/domain/errors';
import { canAdvanceHandoff, type HandoffPhase } from '../../../shared/domain/handoff';
import type { ContainerPlatform, ContainerSpec, LaunchWorkflow } from '../../../shared/domain/ports';
import {
  type ContainerRef,
  isTerminal,
  newRunId,
  SESSION_STATUSES,
  type Session,
} from '../../../shared/domain/session';
import type { SessionStore } from '../../../shared/domain/session-store';
import { releaseLockIfContainerGone } from '../../../shared/runtime/container-release';
import {
  lazyHandler,
  loggerFor,
  storeFromEnv,
  timingsFromEnv,
  type WorkflowTimings,
} from '../../../shared/runtime/workflow-deps';
import { platformFromEnv } from '../../../shared/runtime/workflow-platform';
import { workflowFromEnv } from '../../../shared/runtime/workflow-sfn';
import { LaunchAbortedError } from './errors';
import { type CompensationState, type LaunchStepEvent, LaunchStepEventSchema } from './schema';

/** Moves the handoff record to `to` (only along its transition table); the successor must still be `whenStatus`. */
const advanceHandoff = async (
  store: SessionStore,
  session: Session,
  to: HandoffPhase,
  whenStatus: readonly Session['status'][],
): Promise<void> => {
  const handoff = session.handoff ?? null;
  if (handoff === null || handoff.phase === to) return;
  if (!canAdvanceHandoff(handoff.phase, to))
    throw new LaunchAbortedError(`handoff of ${session.run_id} cannot move from ${handoff.phase} to ${to}`);
  const updated = await store.update(session.run_id, { handoff: { ...handoff, phase: to } }, whenStatus);
  if (!updated.ok) throw new LaunchAbortedError(`handoff not recorded: ${updated.message}`);
};

const predecessorOf = async (store: SessionStore, session: Session): Promise<Session | undefined> =>
  session.supersedes === null || session.supersedes === undefined ? undefined : store.get(session.supersedes);

/**
 * The runs whose containers must be gone before this one starts: its predecessor and, for a rollback, the
 * run the failed successor was to replace (that one may have failed before it saw that container gone).
 */
const runsToOutlive = async (
  store: SessionStore,
  session: Session,
  predecessor: Session | undefined,
): Promise<Session[]> => {
  if (predecessor === undefined) return [];
  if (session.handoff?.kind !== 'rollback') return [predecessor];
  const replaced = await predecessorOf(store, predecessor);
  return replaced === undefined ? [predecessor] : [predecessor, replaced];
};

const firstContainerUp = async (
  platform: ContainerPlatform,
  runs: readonly Session[],
): Promise<Session | undefined> => {
  for (const run of runs) {
    const container = run.container ?? null;
    if (container !== null && !(await platform.containerGone(container))) return run;
  }
  return undefined;
};

export interface LaunchStepDeps {
  store: SessionStore;
  platform: ContainerPlatform;
  /** Starts a rollback's own launch when a handoff's successor did not come up. */
  workflow: Pick<LaunchWorkflow, 'start'>;
  clock: Clock;
  logger: Logger;
  timings: Pick<WorkflowTimings, 'launchTimeoutS' | 'stopGraceS' | 'taskStopTimeoutS'>;
  /** A rollback's run id suffix (tests pin it). */
  randomSuffix?: () => string;
}

/** Between two looks at a retiring predecessor (the Wait state's SecondsPath): part of the handoff window. */
export const HANDOFF_POLL_S = 1;

const REASON_MAX = 1000;

/** The per-session variables; the task definition holds the rest (seed §4: minimal environment). */
export const containerSpecOf = (session: Session): ContainerSpec => ({
  run_id: session.run_id,
  strategy_id: session.strategy_id,
  strategy_name: session.strategy_name,
  trading_mode: session.trading_mode,
  environment: {
    STRATEGY: session.strategy_name,
    STRATEGY_ID: session.strategy_id,
    RUN_ID: session.run_id,
    TRADING_MODE: session.trading_mode,
  },
});

/** Step Functions hands a Lambda error's Cause over as JSON (`errorMessage`); the local engine as text. */
export const describeLaunchError = (state: CompensationState): string => {
  const error = state.error;
  if (error === undefined) return 'launch failed';
  if (error.Error === 'States.Timeout') {
    const seconds = state.Payload?.launch_timeout_s;
    return `launch timed out: no first heartbeat within ${seconds ?? 'the launch timeout in'} s`;
  }
  let cause = error.Cause ?? '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') cause = parsed.errorMessage;
  } catch {
    // plain text already
  }
  return `launch failed: ${error.Error}${cause ? `: ${cause}` : ''}`.slice(0, REASON_MAX);
};

const requireLaunching = async (store: SessionStore, runId: string): Promise<Session> => {
  const session = await store.get(runId);
  if (session === undefined) throw new LaunchAbortedError(`session ${runId} does not exist`);
  if (session.status !== 'launching') {
    throw new LaunchAbortedError(`session ${runId} is ${session.status}, no longer launching`);
  }
  return session;
};

/** Each step is idempotent: Step Functions retries a step whose Lambda invocation failed. */
export const runLaunchStep = async (
  deps: LaunchStepDeps,
  event: LaunchStepEvent,
): Promise<Record<string, unknown>> => {
  const { store, platform, logger } = deps;
  switch (event.action) {
    case 'markLaunching': {
      const moved = await store.transition(event.run_id, 'launching', { from: ['pending'] });
      if (!moved.ok && moved.current !== 'launching') {
        throw new LaunchAbortedError(moved.message);
      }
      const session = await store.get(event.run_id);
      return {
        launch_timeout_s: deps.timings.launchTimeoutS,
        handoff: (session?.supersedes ?? null) !== null,
        poll_s: HANDOFF_POLL_S,
      };
    }
    case 'retirePredecessor': {
      const session = await requireLaunching(store, event.run_id);
      const predecessor = await predecessorOf(store, session);
      // Entries off, wait_flat's wait, Freqtrade stopped, final status: the predecessor's agent does it all
      // (the handoff stop plan), seeing desired_state stopped on a session superseded by this one.
      if (predecessor !== undefined && !isTerminal(predecessor.status) && predecessor.status !== 'stopping') {
        const handoff = session.handoff;
        const moved = await store.transition(predecessor.run_id, 'stopping', {
          patch: {
            desired_state: 'stopped',
            // With superseded_by naming this run, the predecessor's agent stops by the handoff plan.
            ...(handoff ? { handoff } : {}),
            status_reason:
              `handing off to ${session.run_id} (${handoff?.kind ?? 'deploy'}, ${handoff?.mode ?? 'carry_positions'})${handoff?.reason ? `: ${handoff.reason}` : ''}`.slice(
                0,
                1024,
              ),
          },
        });
        if (!moved.ok && moved.current !== 'stopping' && !(moved.current && isTerminal(moved.current)))
          throw new LaunchAbortedError(`previous session not retired: ${moved.message}`);
      }
      await advanceHandoff(store, session, 'retiring', ['launching']);
      return { gone: false, forced: false };
    }
    case 'checkPredecessor': {
      const session = await requireLaunching(store, event.run_id);
      const predecessor = await predecessorOf(store, session);
      const stillUp = await firstContainerUp(platform, await runsToOutlive(store, session, predecessor));
      const container = stillUp?.container ?? null;
      const containerGone = stillUp === undefined;
      const requestedAt = Date.parse(session.handoff?.requested_at ?? session.created_at);
      const decision = decidePredecessorWait({
        predecessor,
        containerGone,
        elapsedMs: deps.clock.now() - requestedAt,
        forced: event.forced,
        waitFlatS: session.handoff?.wait_flat_s ?? 0,
        policy: predecessorWaitPolicyOf(deps.timings),
      });
      switch (decision.type) {
        case 'gone': {
          // The lock moves now (the predecessor is over and its container gone); the leases in the claim.
          const passed = await store.passLock(
            session.strategy_id,
            session.supersedes as string,
            session.run_id,
          );
          if (!passed.ok) throw new LaunchAbortedError(passed.message);
          await advanceHandoff(store, session, 'predecessor_gone', ['launching']);
          logger.info('previous session gone: starting the successor', { predecessor: predecessor?.run_id });
          return { gone: true, forced: event.forced };
        }
        case 'wait': {
          // Forced and gone, but its agent never wrote the end: the session is over because its container is.
          if (
            event.forced &&
            containerGone &&
            predecessor !== undefined &&
            predecessor.status === 'stopping'
          ) {
            await store.transition(predecessor.run_id, 'stopped', {
              from: ['stopping'],
              patch: { status_reason: `handed off to ${session.run_id}: container stopped (forced)` },
            });
          }
          return { gone: false, forced: event.forced };
        }
        case 'force_stop':
          if (container !== null) await platform.stopSession(container, decision.reason);
          logger.warn('previous session did not hand off in time: container stopped', {
            reason: decision.reason,
          });
          return { gone: false, forced: true };
        case 'give_up': {
          // Recorded before the abort: the compensation's failed handoff then pages naming the run left running.
          const handoff = session.handoff ?? null;
          const stuck = stillUp ?? predecessor;
          if (handoff !== null && stuck !== undefined)
            await store.update(session.run_id, { handoff: { ...handoff, stuck_run_id: stuck.run_id } }, [
              'launching',
            ]);
          throw new LaunchAbortedError(decision.reason);
        }
      }
      return { gone: false, forced: event.forced };
    }
    case 'startContainer': {
      const session = await requireLaunching(store, event.run_id);
      const container = session.container ?? (await platform.startSession(containerSpecOf(session)));
      logger.info('container started', { run_id: event.run_id, container });
      return { container };
    }
    case 'recordContainer': {
      const updated = await store.update(event.run_id, { container: event.container }, ['launching']);
      if (!updated.ok) throw new LaunchAbortedError(`container not recorded: ${updated.message}`);
      return { recorded: true };
    }
    case 'awaitHeartbeat': {
      // The stream processor releases the token once the session also has a heartbeat: whichever of the
      // two writes comes second triggers it, so a heartbeat before this write is not missed.
      const updated = await store.update(event.run_id, { launch_token: event.task_token }, ['launching']);
      if (!updated.ok) throw new LaunchAbortedError(`launch token not stored: ${updated.message}`);
      return { waiting: true };
    }
    case 'markRunning': {
      // Running and live in one write: nobody (the CLI, a test, the console) reads a successor that trades
      // while its handoff record still says predecessor_gone, and a retry cannot leave it there.
      const handoff = (await store.get(event.run_id))?.handoff ?? null;
      const live =
        handoff !== null && canAdvanceHandoff(handoff.phase, 'live')
          ? { handoff: { ...handoff, phase: 'live' as const } }
          : {};
      const moved = await store.transition(event.run_id, 'running', {
        from: ['launching'],
        patch: {
          started_at: isoAt(deps.clock),
          launch_token: null,
          status_reason: 'first heartbeat received',
          ...live,
        },
      });
      if (moved.ok) return { status: 'running' };
      if (moved.current === 'running' || moved.current === 'paused') return { status: moved.current };
      throw new LaunchAbortedError(moved.message);
    }
    case 'compensate':
      return compensate(deps, event.state);
  }
};

/**
 * Catch-all: stop whatever was started, mark the session failed with the reason (or stopped, when the
 * operator stopped it during the launch), free the lock. Safe to repeat and to race with the sweep and
 * the stream processor, which do the same idempotent steps.
 */
const compensate = async (
  deps: LaunchStepDeps,
  state: CompensationState,
): Promise<Record<string, unknown>> => {
  const { store, platform, logger } = deps;
  const reason = describeLaunchError(state);
  const session = await store.get(state.run_id);
  if (session === undefined) {
    if (state.started?.container) await platform.stopSession(state.started.container, reason);
    return { status: 'missing', reason };
  }
  const rollback = await rollBackIfHandoff(deps, session, reason);
  // The status moves first: an ECS stop event for our own teardown then finds the session over and
  // is ignored, instead of being reported as an unexpected crash.
  let status = session.status;
  for (let attempt = 0; attempt < 3 && !isTerminal(status); attempt += 1) {
    const moved =
      status === 'stopping'
        ? await store.transition(state.run_id, 'stopped', {
            from: ['stopping'],
            patch: { status_reason: session.status_reason ?? 'stopped during launch', launch_token: null },
          })
        : await store.transition(state.run_id, 'failed', {
            patch: { status_reason: reason, launch_token: null },
          });
    if (moved.ok) {
      status = moved.session.status;
      break;
    }
    if (moved.current === undefined) break;
    status = moved.current;
  }
  const container: ContainerRef | null = session.container ?? state.started?.container ?? null;
  if (container !== null) await platform.stopSession(container, reason);
  // Freed only once the container is gone; otherwise the ECS STOPPED event or the sweep frees it.
  const released = await releaseLockIfContainerGone(store, platform, { ...session, container });
  if (released !== 'released') logger.info('lock not released now', { run_id: session.run_id, released });
  if (rollback !== undefined) await startRollback(deps, rollback);
  else await releasePredecessorOf(deps, session);
  logger.warn('launch compensated', { run_id: session.run_id, status, reason, rollback: rollback?.run_id });
  return { status, reason };
};

/**
 * A handoff's successor that did not come up: its predecessor's version is started again as a rollback
 * session (taking over from whichever run holds the lock), and the failed handoff is recorded as
 * `rolled_back` (the stream processor's one CRITICAL page), or `failed` when no rollback is possible.
 * Idempotent: a retried compensation finds the rollback it created.
 */
const rollBackIfHandoff = async (
  deps: LaunchStepDeps,
  failed: Session,
  reason: string,
): Promise<Session | undefined> => {
  const { store } = deps;
  const handoff = failed.handoff ?? null;
  if (handoff === null) return undefined;
  if ((failed.superseded_by ?? null) !== null) return store.get(failed.superseded_by as string);
  const predecessor = await predecessorOf(store, failed);
  const lock = await store.getLock(failed.strategy_id);
  const decision = decideLaunchFailure({ failed, predecessor, lockHolder: lock?.active_run_id ?? null });
  const everyStatus = [...SESSION_STATUSES];
  if (decision.type === 'no_rollback') {
    deps.logger.warn('handoff failed without rollback', { run_id: failed.run_id, why: decision.why });
    if (canAdvanceHandoff(handoff.phase, 'failed'))
      await store.update(failed.run_id, { handoff: { ...handoff, phase: 'failed' } }, everyStatus);
    return undefined;
  }
  const source = decision.predecessor;
  const runId = newRunId(
    source.trading_mode,
    source.strategy_id,
    deps.clock.now(),
    (deps.randomSuffix ?? (() => crypto.randomUUID()))(),
  );
  const created = await store.createSuccessor(
    {
      run_id: runId,
      strategy_id: source.strategy_id,
      strategy_name: source.strategy_name,
      trading_mode: source.trading_mode,
      risk_limits: source.risk_limits,
      alias: source.alias,
      stage: source.stage,
      model_version: source.model_version ?? null,
      overrides: source.overrides,
      requested_by: failed.requested_by,
      trace_id: failed.trace_id,
      reason: `rollback: ${failed.run_id} did not come up (${reason})`.slice(0, 1024),
    },
    {
      lockHolder: decision.lockHolder,
      desiredState: source.desired_state === 'paused' ? 'paused' : 'running',
      // Both wait for the rollback: neither one's teardown frees what the rollback's claim takes.
      superseded: [
        { run_id: failed.run_id, statuses: everyStatus, supersededBy: null },
        { run_id: source.run_id, statuses: everyStatus, supersededBy: failed.run_id },
      ],
      handoff: {
        kind: 'rollback',
        mode: 'carry_positions',
        wait_flat_s: 0,
        phase: 'requested',
        from_run_id: decision.supersedes,
        to_run_id: runId,
        rollback_of: failed.run_id,
        requested_at: isoAt(deps.clock),
        reason: `${failed.run_id} did not come up`,
      },
    },
  );
  if (!created.ok) {
    deps.logger.error('rollback not created', { run_id: failed.run_id, detail: created.message });
    if (canAdvanceHandoff(handoff.phase, 'failed'))
      await store.update(failed.run_id, { handoff: { ...handoff, phase: 'failed' } }, everyStatus);
    return undefined;
  }
  // superseded_by now names the rollback: the handoff record says how it ended, which pages once.
  const current = (await store.get(failed.run_id))?.handoff ?? handoff;
  await store.update(failed.run_id, { handoff: { ...current, phase: 'rolled_back' } }, everyStatus);
  return created.session;
};

const startRollback = async (deps: LaunchStepDeps, rollback: Session) => {
  try {
    await deps.workflow.start(rollback);
    deps.logger.warn('rollback launched', {
      run_id: rollback.run_id,
      rollback_of: rollback.handoff?.rollback_of,
    });
  } catch (error) {
    // Thrown: Step Functions retries the compensation, which finds this rollback and starts it again.
    deps.logger.error('rollback launch could not be started', {
      run_id: rollback.run_id,
      error: error as Error,
    });
    throw error;
  }
};

/** A failed successor with no rollback: the predecessor it was to take over from frees lock and leases. */
const releasePredecessorOf = async (deps: LaunchStepDeps, session: Session) => {
  const predecessor = await predecessorOf(deps.store, session);
  if (predecessor === undefined || !isTerminal(predecessor.status)) return;
  await releaseLockIfContainerGone(deps.store, deps.platform, predecessor);
};

export const createHandler = (deps: LaunchStepDeps) =>
  middy(async (event: unknown, _context: Context) => {
    const parsed = parseInput(LaunchStepEventSchema, event, 'launch step');
    deps.logger.appendKeys({ run_id: parsed.action === 'compensate' ? parsed.state.run_id : parsed.run_id });
    return runLaunchStep(deps, parsed);
  }).use(injectLambdaContext(deps.logger, { resetKeys: true }));

export const defaultDeps = (): LaunchStepDeps => ({
  store: storeFromEnv().store,
  platform: platformFromEnv(),
  workflow: workflowFromEnv(),
  clock: systemClock,
  logger: loggerFor(),
  timings: timingsFromEnv(),
});

/** Built from the environment on the first invocation, never at import. */
export const handler = lazyHandler(() => createHandler(defaultDeps()));
