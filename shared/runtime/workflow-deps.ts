import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import * as z from 'zod';
import { createDocumentClient } from '../adapters/dynamodb/client';
import { DynamoSessionStore } from '../adapters/dynamodb/session-store';
import { type Clock, systemClock } from '../domain/clock';
import { DEFAULT_STALE_AFTER_S } from '../domain/staleness';
import { parseEnv, secondsVar, TablesEnvSchema } from './env';
import { DynamoDedupLedger } from './events-dedup';

/**
 * Each AWS client's wiring sits in its own module (workflow-platform, workflow-alerts, workflow-sfn), so a
 * function's bundle imports only the SDK clients it uses.
 *
 * Wiring of the workflow functions (launch step, stream processor, sweep, ECS events) to AWS. Only each
 * handler's `defaultDeps()` calls these, on the first invocation: importing a handler constructs nothing,
 * so the local cloud can import it and pass its own adapters to `createHandler`.
 */

/** The timings every workflow function agrees on (DESIGN.md §3), from the environment. */
export const TimingsEnvSchema = z.object({
  LAUNCH_TIMEOUT_S: secondsVar(600, 1, 3600),
  STALE_AFTER_S: secondsVar(DEFAULT_STALE_AFTER_S, 1, 86_400),
  STOP_GRACE_S: secondsVar(120, 1, 3600),
  /** The strategy task definition's StopTimeout (ECS: at most 120 s on Fargate); the local cloud passes its own. */
  TASK_STOP_TIMEOUT_S: secondsVar(120, 1, 3600),
  HIGH_LOSS_PAUSE: z.coerce.number().positive().default(500),
});

export interface WorkflowTimings {
  /** How long a launch waits for the first heartbeat. */
  launchTimeoutS: number;
  /** A heartbeat older than this marks a session stale. */
  staleAfterS: number;
  /** How long a stop may go unconfirmed before the sweep forces it. */
  stopGraceS: number;
  /** How long the platform lets a stopped container drain before it kills it (the task's StopTimeout). */
  taskStopTimeoutS: number;
  /** Today's PnL below minus this pauses a session (seed §8 high-loss alarm, platform-wide floor). */
  highLossPause: number;
}

export const DEFAULT_TIMINGS: WorkflowTimings = Object.freeze({
  launchTimeoutS: 600,
  staleAfterS: DEFAULT_STALE_AFTER_S,
  stopGraceS: 120,
  taskStopTimeoutS: 120,
  highLossPause: 500,
});

export const timingsFromEnv = (env: NodeJS.ProcessEnv = process.env): WorkflowTimings => {
  const parsed = parseEnv(TimingsEnvSchema, env);
  return {
    launchTimeoutS: parsed.LAUNCH_TIMEOUT_S,
    staleAfterS: parsed.STALE_AFTER_S,
    stopGraceS: parsed.STOP_GRACE_S,
    taskStopTimeoutS: parsed.TASK_STOP_TIMEOUT_S,
    highLossPause: parsed.HIGH_LOSS_PAUSE,
  };
};

export const loggerFor = (serviceName = 'tradai-control-plane'): Logger =>
  new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? serviceName });

/** Seed §8's alarms read the sweep's metrics from this namespace. */
export const LIVE_TRADING_NAMESPACE = 'TradAI/LiveTrading';
export const CONTROL_PLANE_NAMESPACE = 'TradAI/ControlPlane';

export const metricsFor = (namespace: string = CONTROL_PLANE_NAMESPACE): Metrics =>
  new Metrics({ namespace, serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'tradai-control-plane' });

export const storeFromEnv = (env: NodeJS.ProcessEnv = process.env, clock: Clock = systemClock) => {
  const tables = parseEnv(TablesEnvSchema, env);
  const doc = createDocumentClient();
  return {
    doc,
    store: new DynamoSessionStore(doc, {
      sessionsTable: tables.SESSIONS_TABLE,
      metricsTable: tables.METRICS_TABLE,
      clock,
    }),
    ledger: new DynamoDedupLedger(doc, { table: tables.SESSIONS_TABLE, clock }),
  };
};

/** A Lambda entry point built on its first invocation, so importing the module constructs nothing. */
export const lazyHandler = <E, C, R>(build: () => (event: E, context: C) => Promise<R>) => {
  let built: ((event: E, context: C) => Promise<R>) | undefined;
  return (event: E, context: C): Promise<R> => {
    built ??= build();
    return built(event, context);
  };
};
