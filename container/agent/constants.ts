/** seed §9: the ECS health check calls this port. */
export const DEFAULT_HEALTH_PORT = 8004;
export const HEALTH_PATH = '/api/v1/health';

/** ECS stops a task with SIGTERM and kills it 30 s later (stopTimeout default); we finish before. */
export const DEFAULT_STOP_TIMEOUT_S = 25;

/** Freqtrade's `internals.process_throttle_secs` default: one bot loop iteration per 5 s. */
export const FREQTRADE_DEFAULT_THROTTLE_S = 5;
/** A last_process older than this many loop cycles means the loop is stuck even if the API answers. */
export const LOOP_STALE_CYCLES = 4;

/** Exit codes of the agent process. */
export const EXIT = {
  ok: 0,
  fault: 1,
  /** Bad environment or strategy configuration: fix the deployment, a restart will not help. */
  configuration: 2,
  /** The control plane fenced this agent off (session superseded or gone). */
  fenced: 3,
} as const;

/** How long a (re)starting Freqtrade may take before its silence counts as monitoring failures. */
export const STARTUP_GRACE_MS = 90_000;

/**
 * A restrictive command (/pause, /stop) Freqtrade's own state (show_config) does not confirm within this
 * many seconds counts as failed, and the agent stops the Freqtrade process instead (fail-closed).
 */
export const DEFAULT_COMMAND_CONFIRM_S = 10;
/** A risk flatten's forceexit is confirmed when /status shows no open trade within this many seconds. */
export const FLATTEN_CONFIRM_S = 30;

/**
 * A Freqtrade that restarted this many times within DEFAULT_RESTART_WINDOW_S without a live trading loop
 * does not come up: the agent stops restarting it (entries off) and reports health.start_failure.
 * 5 restarts at the backoff's 0.5 s → 60 s cap take about 2 minutes; 10 minutes holds them all.
 */
export const DEFAULT_MAX_RESTARTS = 5;
export const DEFAULT_RESTART_WINDOW_S = 600;

/**
 * How long a start keeps retrying transient faults (MLflow, S3, Secrets Manager, DynamoDB unreachable)
 * before the agent exits with a fault, leaving the session as it is (the sweep's stale alert applies).
 * Backoff doubles from STARTUP_RETRY_FIRST_MS up to STARTUP_RETRY_MAX_MS.
 */
export const DEFAULT_STARTUP_RETRY_S = 300;
export const STARTUP_RETRY_FIRST_MS = 1000;
export const STARTUP_RETRY_MAX_MS = 30_000;
