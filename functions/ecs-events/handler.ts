import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { runIdOfTask, taskIdOf } from '../../shared/adapters/ecs/naming';
import { restartAlert } from '../../shared/domain/alerts';
import { type Clock, systemClock } from '../../shared/domain/clock';
import { parseInput } from '../../shared/domain/errors';
import type { AlertPublisher, ContainerPlatform } from '../../shared/domain/ports';
import { isTerminal, RunIdSchema, type SessionStatus } from '../../shared/domain/session';
import type { SessionStore } from '../../shared/domain/session-store';
import { releaseLockIfContainerGone } from '../../shared/runtime/container-release';
import { type DedupLedger, once } from '../../shared/runtime/events-dedup';
import { alertsFromEnv } from '../../shared/runtime/workflow-alerts';
import { lazyHandler, loggerFor, storeFromEnv } from '../../shared/runtime/workflow-deps';
import { platformFromEnv } from '../../shared/runtime/workflow-platform';
import { type EcsTaskStateChangeDetail, EcsTaskStateChangeEventSchema } from './schema';

export interface EcsEventsDeps {
  store: SessionStore;
  /** Confirms a finished session's container is gone before its lock is freed. */
  platform: Pick<ContainerPlatform, 'containerGone'>;
  alerts: AlertPublisher;
  ledger: DedupLedger;
  clock: Clock;
  logger: Logger;
}

/** A stop is expected once the session is on its way out (our own teardown, a forced stop). */
const ACTIVE: readonly SessionStatus[] = ['pending', 'launching', 'running', 'paused', 'stale'];
const REASON_MAX = 900;

export type EcsEventOutcome =
  | { outcome: 'ignored'; why: string }
  | { outcome: 'restarting'; run_id: string }
  /** A finished session's last task stopped: its strategy lock and account leases are free now. */
  | { outcome: 'released'; run_id: string }
  | { outcome: 'failed'; run_id: string };

/** "Essential container in task exited (stopCode EssentialContainerExited, exit code 137)" */
export const stopCauseOf = (detail: EcsTaskStateChangeDetail): string => {
  const exits = detail.containers
    .filter((container) => container.exitCode !== undefined || container.reason !== undefined)
    .map(
      (container) =>
        `${container.name ?? 'container'} exit code ${container.exitCode ?? 'none'}${container.reason ? ` (${container.reason})` : ''}`,
    );
  return [detail.stoppedReason ?? 'task stopped', `stopCode ${detail.stopCode ?? 'unknown'}`, ...exits]
    .join('; ')
    .slice(0, REASON_MAX);
};

export const handleTaskStateChange = async (
  deps: EcsEventsDeps,
  event: unknown,
): Promise<EcsEventOutcome> => {
  const { store, alerts, ledger, clock, logger } = deps;
  const { detail } = parseInput(EcsTaskStateChangeEventSchema, event, 'ECS task state change');
  if (detail.lastStatus !== 'STOPPED') return { outcome: 'ignored', why: `task is ${detail.lastStatus}` };
  const environment = detail.overrides?.containerOverrides.flatMap((override) => override.environment ?? []);
  const candidate = runIdOfTask({ group: detail.group, startedBy: detail.startedBy, environment });
  const runId = RunIdSchema.safeParse(candidate);
  if (!runId.success) return { outcome: 'ignored', why: 'not a TradAI session task' };

  const session = await store.get(runId.data);
  if (session === undefined) return { outcome: 'ignored', why: `no session ${runId.data}` };
  if (isTerminal(session.status)) {
    // The stop was expected; what it still owes is the lock, kept until nothing of the session runs.
    const released = await releaseLockIfContainerGone(store, deps.platform, session);
    if (released === 'released') {
      logger.info('last task stopped: lock released', { run_id: session.run_id });
      return { outcome: 'released', run_id: session.run_id };
    }
    return { outcome: 'ignored', why: `session is ${session.status}: lock ${released}` };
  }
  if (!ACTIVE.includes(session.status)) {
    return { outcome: 'ignored', why: `session is ${session.status}: the stop was expected` };
  }
  if (session.container?.task_arn !== undefined && session.container.task_arn !== detail.taskArn) {
    return { outcome: 'ignored', why: 'an earlier task of this session' };
  }
  const cause = stopCauseOf(detail);
  const taskId = taskIdOf(detail.taskArn);
  const isServiceTask = detail.group?.startsWith('service:') ?? false;

  if (isServiceTask) {
    // ECS starts a replacement task: warn now; the sweep pages if it never reports (stale).
    const updated = await store.update(session.run_id, { status_reason: `restarting: ${cause}` }, ACTIVE);
    if (!updated.ok) return { outcome: 'ignored', why: updated.message };
    const alert = restartAlert(updated.session, taskId, cause, clock.now(), [
      'recorded on the session; ECS is starting a replacement task',
    ]);
    await once(ledger, `alert:${alert.dedup_id}`, () => alerts.publish(alert));
    logger.warn('service task stopped, ECS restarting it', { run_id: session.run_id, task: taskId, cause });
    return { outcome: 'restarting', run_id: session.run_id };
  }

  // A one-shot task does not come back: the session failed. The stream processor pages and tears down.
  const moved = await store.transition(session.run_id, 'failed', {
    from: ACTIVE,
    patch: { status_reason: `container stopped unexpectedly: ${cause}`, launch_token: null },
  });
  if (!moved.ok) return { outcome: 'ignored', why: moved.message };
  logger.error('task stopped unexpectedly, session failed', { run_id: session.run_id, task: taskId, cause });
  return { outcome: 'failed', run_id: session.run_id };
};

export const createHandler = (deps: EcsEventsDeps) =>
  middy(async (event: unknown, _context: Context) => handleTaskStateChange(deps, event)).use(
    injectLambdaContext(deps.logger, { resetKeys: true }),
  );

export const defaultDeps = (): EcsEventsDeps => {
  const { store, ledger } = storeFromEnv();
  return {
    store,
    ledger,
    platform: platformFromEnv(),
    alerts: alertsFromEnv(),
    clock: systemClock,
    logger: loggerFor(),
  };
};

/** Built from the environment on the first invocation, never at import. */
export const handler = lazyHandler(() => createHandler(defaultDeps()));
