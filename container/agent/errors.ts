import { TradaiError } from '../../shared/domain/errors';

/** Base of every fault the container agent raises. */
export class AgentError extends TradaiError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AgentError';
  }
}

/** The strategy's configuration could not be loaded or is invalid; `path` names where (e.g. `exchange.pair_whitelist`). */
export class StrategyConfigError extends AgentError {
  readonly path: string;

  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super(`${path || '(root)'}: ${message}`, options);
    this.name = 'StrategyConfigError';
    this.path = path;
  }
}

/** Several invalid fields at once, each named by its path, so one failed start shows every problem. */
export class StrategyConfigValidationError extends AgentError {
  readonly issues: { path: string; message: string }[];

  constructor(what: string, issues: { path: string; message: string }[]) {
    super(
      `Invalid ${what}: ${issues.map((issue) => `${issue.path || '(root)'}: ${issue.message}`).join('; ')}`,
    );
    this.name = 'StrategyConfigValidationError';
    this.issues = issues;
  }
}

/**
 * A live Freqtrade would keep its trade database where the next task cannot find it (the task's own
 * disk): refused before it starts, naming the variable that declares the durable store.
 */
export class TradeStoreMissingError extends AgentError {
  readonly field = 'TRADE_DB_URL';

  constructor(message: string) {
    super(`TRADE_DB_URL: ${message}`);
    this.name = 'TradeStoreMissingError';
  }
}

/** The exchange credentials could not be read. The message never contains the secret's value. */
export class SecretsError extends AgentError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SecretsError';
  }
}

/** The session could not be claimed (gone, or already over): the agent must not trade. */
export class ClaimRefusedError extends AgentError {
  constructor(message: string) {
    super(message);
    this.name = 'ClaimRefusedError';
  }
}

/** Errors of AWS SDK clients (name) and Node sockets (code) that a later attempt may not see. */
const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
  'InternalServiceError',
  'InternalServerError',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'SlowDown',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'NetworkingError',
  'AbortError',
]);
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);
const TRANSIENT_MESSAGE = /\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN|socket hang up)\b/;

/**
 * Whether a start-up failure may pass by itself (MLflow, S3, Secrets Manager or DynamoDB unreachable,
 * throttled or answering 5xx): such faults are retried with backoff and never fail the session. A bad
 * config (a validation error, a refusal, a missing model) is not transient. Walks the `cause` chain.
 */
export const isTransientStartupFault = (error: unknown, depth = 0): boolean => {
  if (depth > 5 || error === null || typeof error !== 'object') return false;
  if (error instanceof StrategyConfigValidationError) return false;
  const fault = error as {
    name?: unknown;
    code?: unknown;
    reason?: unknown;
    message?: unknown;
    $retryable?: unknown;
    $metadata?: { httpStatusCode?: unknown };
    cause?: unknown;
  };
  // config/mlflow.ts's typed error (named here, not imported: mlflow.ts imports this module).
  if (fault.name === 'MlflowRegistryError') return fault.reason === 'unavailable';
  if (fault.$retryable !== undefined && fault.$retryable !== null && fault.$retryable !== false) return true;
  const status = fault.$metadata?.httpStatusCode;
  if (typeof status === 'number' && status >= 500) return true;
  if (typeof fault.name === 'string' && TRANSIENT_NAMES.has(fault.name)) return true;
  if (typeof fault.code === 'string' && TRANSIENT_CODES.has(fault.code)) return true;
  if (fault.cause === undefined && typeof fault.message === 'string' && TRANSIENT_MESSAGE.test(fault.message))
    return true;
  return isTransientStartupFault(fault.cause, depth + 1);
};
