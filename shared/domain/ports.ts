import * as z from 'zod';
import type { ContainerRef, Session, TradingMode } from './session';

/** Starts and releases the launch workflow (Step Functions in AWS, aws-local-stepfunctions locally). */
export interface LaunchWorkflow {
  /**
   * Idempotent per run id: the execution is named after it, so a retried start answers the same one, running
   * or ended. It does not say whether this call started it: Step Functions answers a retry of a running
   * execution exactly as it answered the first call.
   */
  start(session: Session): Promise<{ executionArn: string }>;
  /** Releases a `.waitForTaskToken` state (the first heartbeat arrived). */
  succeed(taskToken: string, output: Record<string, unknown>): Promise<void>;
  /** Fails a `.waitForTaskToken` state, so the workflow's catch compensates. */
  fail(taskToken: string, error: string, cause: string): Promise<void>;
}

/** What a container needs to run one session; the agent reads it from its environment (seed §3). */
export interface ContainerSpec {
  run_id: string;
  strategy_id: string;
  strategy_name: string;
  trading_mode: TradingMode;
  environment: Record<string, string>;
}

/** Where sessions run: ECS Fargate in AWS, child processes locally. */
export interface ContainerPlatform {
  /** Live and dry-run: a service of exactly one task; one-shot modes: a task. Idempotent per run id. */
  startSession(spec: ContainerSpec): Promise<ContainerRef>;
  /** Idempotent: stopping what is already gone succeeds. It asks for the stop; it does not wait for it. */
  stopSession(ref: ContainerRef, reason: string): Promise<void>;
  /**
   * True only when nothing of the session runs any more (every task STOPPED, or none left): a task that
   * was asked to stop may trade on until its StopTimeout, so the strategy lock and the account leases are
   * freed only once this says so.
   */
  containerGone(ref: ContainerRef): Promise<boolean>;
}

export const AlertSeveritySchema = z.enum(['INFO', 'WARNING', 'CRITICAL']);
export type AlertSeverity = z.infer<typeof AlertSeveritySchema>;

export const AlertSchema = z.object({
  severity: AlertSeveritySchema,
  /** SNS subjects are at most 100 characters. */
  subject: z.string().min(1).max(100),
  /** Written for a person on call: what happened, to which strategy, what was done, what to do. */
  message: z.string().min(1).max(16_384),
  // The four routing fields travel as SNS message attributes, whose values SNS refuses when empty.
  strategy_id: z.string().min(1),
  run_id: z.string().min(1),
  /** A stable name of the event (e.g. `status.stale`), for routing and deduplication. */
  kind: z.string().min(1).max(64),
  /** Identifies the change that caused the alert, so a redelivered stream record does not page twice. */
  dedup_id: z.string().min(1).max(256),
});
export type Alert = z.infer<typeof AlertSchema>;

/** Pages on-call (SNS in AWS; console, file and webhook locally). */
export interface AlertPublisher {
  publish(alert: Alert): Promise<void>;
}

export type SessionLike = Pick<Session, 'run_id' | 'strategy_id'>;
