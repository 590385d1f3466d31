import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { type Clock, isoAt, systemClock } from '../../../shared/domain/clock';
import { parseInput } from '../../../shared/domain/errors';
import type { ContainerPlatform, ContainerSpec } from '../../../shared/domain/ports';
import { type ContainerRef, isTerminal, type Session } from '../../../shared/domain/session';
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
import { LaunchAbortedError } from './errors';
import { type CompensationState, type LaunchStepEvent, LaunchStepEventSchema } from './schema';

export interface LaunchStepDeps {
  store: SessionStore;
  platform: ContainerPlatform;
  clock: Clock;
  logger: Logger;
  timings: Pick<WorkflowTimings, 'launchTimeoutS'>;
}

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
      return { launch_timeout_s: deps.timings.launchTimeoutS };
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
      const moved = await store.transition(event.run_id, 'running', {
        from: ['launching'],
        patch: {
          started_at: isoAt(deps.clock),
          launch_token: null,
          status_reason: 'first heartbeat received',
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
  logger.warn('launch compensated', { run_id: session.run_id, status, reason });
  return { status, reason };
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
  clock: systemClock,
  logger: loggerFor(),
  timings: timingsFromEnv(),
});

/** Built from the environment on the first invocation, never at import. */
export const handler = lazyHandler(() => createHandler(defaultDeps()));
