import { createHash } from 'node:crypto';

/**
 * How sessions are named in ECS, so the run id is recoverable from any task-state event:
 * - a service (live, dry-run) is `tradai-<run_id>`; its tasks carry `group = service:tradai-<run_id>`;
 * - a one-shot task is started with `startedBy = tradai/<run_id>`;
 * - every task also has RUN_ID in its environment (overrides for tasks, the registered revision for services).
 */
export const SERVICE_PREFIX = 'tradai-';
export const STARTED_BY_PREFIX = 'tradai/';

export const serviceNameOf = (runId: string): string => `${SERVICE_PREFIX}${runId}`;
export const startedByOf = (runId: string): string => `${STARTED_BY_PREFIX}${runId}`;

/** CreateService accepts up to 36 characters, RunTask 64; run ids are up to 80, so a digest stands in. */
export const clientTokenOf = (runId: string): string =>
  createHash('sha256').update(runId).digest('hex').slice(0, 32);

export interface TaskIdentity {
  group?: string | undefined;
  startedBy?: string | undefined;
  environment?: readonly { name?: string | undefined; value?: string | undefined }[] | undefined;
}

/** The run id a task belongs to, or undefined when the task is not one of ours. */
export const runIdOfTask = (task: TaskIdentity): string | undefined => {
  const group = task.group?.match(/^service:tradai-([a-z0-9][a-z0-9-]{2,79})$/)?.[1];
  if (group !== undefined) return group;
  const started = task.startedBy?.match(/^tradai\/([a-z0-9][a-z0-9-]{2,79})$/)?.[1];
  if (started !== undefined) return started;
  return task.environment?.find((variable) => variable.name === 'RUN_ID')?.value;
};

/** The last segment of a task ARN (`arn:aws:ecs:region:acct:task/cluster/<id>`). */
export const taskIdOf = (taskArn: string): string => taskArn.split('/').pop() ?? taskArn;
