import * as z from 'zod';
import { ContainerRefSchema, RunIdSchema } from '../../../shared/domain/session';

/**
 * The Payload each Task state of statemachines/launch-session.asl.json sends to the launchStep function.
 * One function, one `action` per step: the state machine stays readable and IAM stays in one role.
 */
export const MarkLaunchingSchema = z.strictObject({
  action: z.literal('markLaunching'),
  run_id: RunIdSchema,
});
export const StartContainerSchema = z.strictObject({
  action: z.literal('startContainer'),
  run_id: RunIdSchema,
});
/** A handoff (deploy, restart, rollback): the predecessor is asked to stop, then awaited until gone. */
export const RetirePredecessorSchema = z.strictObject({
  action: z.literal('retirePredecessor'),
  run_id: RunIdSchema,
});
export const CheckPredecessorSchema = z.strictObject({
  action: z.literal('checkPredecessor'),
  run_id: RunIdSchema,
  /** Whether an earlier check already stopped the predecessor's container (its agent did not in time). */
  forced: z.boolean(),
});
export const RecordContainerSchema = z.strictObject({
  action: z.literal('recordContainer'),
  run_id: RunIdSchema,
  container: ContainerRefSchema,
});
export const AwaitHeartbeatSchema = z.strictObject({
  action: z.literal('awaitHeartbeat'),
  run_id: RunIdSchema,
  task_token: z.string().min(1).max(2048),
  /** Carried only so the state's TimeoutSecondsPath resolves on every engine (see the ASL). */
  launch_timeout_s: z.number().int().positive().optional(),
});
export const MarkRunningSchema = z.strictObject({
  action: z.literal('markRunning'),
  run_id: RunIdSchema,
  /** The output of SendTaskSuccess (heartbeat details), for the execution history only. */
  heartbeat: z.unknown().optional(),
});

/** The whole state as the Catch left it: the container may or may not have been started. */
export const CompensationStateSchema = z
  .object({
    run_id: RunIdSchema,
    Payload: z.object({ launch_timeout_s: z.number() }).loose().optional(),
    started: z.object({ container: ContainerRefSchema }).loose().optional(),
    error: z.object({ Error: z.string(), Cause: z.string().nullish() }).loose().optional(),
  })
  .loose();
export const CompensateSchema = z.strictObject({
  action: z.literal('compensate'),
  state: CompensationStateSchema,
});

export const LaunchStepEventSchema = z.discriminatedUnion('action', [
  MarkLaunchingSchema,
  RetirePredecessorSchema,
  CheckPredecessorSchema,
  StartContainerSchema,
  RecordContainerSchema,
  AwaitHeartbeatSchema,
  MarkRunningSchema,
  CompensateSchema,
]);
export type LaunchStepEvent = z.infer<typeof LaunchStepEventSchema>;
export type CompensationState = z.infer<typeof CompensationStateSchema>;
