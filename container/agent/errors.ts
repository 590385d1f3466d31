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
