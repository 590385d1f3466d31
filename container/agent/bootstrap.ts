import type { Clock } from '../../shared/domain/clock';
import { isServiceMode, isTerminal, type Session } from '../../shared/domain/session';
import type { SessionStore } from '../../shared/domain/session-store';
import { accountIdOf } from '../../shared/runtime/account-identity';
import { type ConfigSource, createConfigSource } from './config/config-source';
import { FreqaiModelError, installFreqaiModel } from './config/freqai-model';
import { createModelRegistry, type ModelRegistry } from './config/mlflow';
import { createArtifactDownloader, type ModelArtifactDownloader } from './config/model-artifacts';
import { type LoadedStrategyConfig, StrategyConfigLoader } from './config/strategy-config-loader';
import { EXIT, STARTUP_RETRY_FIRST_MS, STARTUP_RETRY_MAX_MS } from './constants';
import type { AgentOptions } from './env';
import {
  ClaimRefusedError,
  isTransientStartupFault,
  SecretsError,
  StrategyConfigError,
  StrategyConfigValidationError,
} from './errors';
import { userDataDirFor } from './freqtrade/config-writer';
import type { HttpStream } from './http';
import { type AgentLogger, describeError, type Redactor } from './logger';
import { createSecretSource, type ExchangeCredentials, type SecretSource } from './secrets';

export interface BootstrapDeps {
  store: SessionStore;
  clock: Clock;
  logger: AgentLogger;
  redactor: Redactor;
  mlflowHttp?: HttpStream;
  registry?: ModelRegistry;
  /** Where a FreqAI model's artifacts come from (default: the registry's own store). */
  artifacts?: ModelArtifactDownloader;
  /** The run's work folder (Freqtrade's config; its user_data when the image has none). */
  workDir: string;
  configSource?: ConfigSource;
  secrets?: SecretSource;
  /** Waits between retries of a transient fault (default: a timer); tests pass one that advances their clock. */
  sleep?: (ms: number) => Promise<void>;
}

/** A transient fault that lasted past STARTUP_RETRY_S: the agent exits with a fault, the session is left as is. */
class StartupRetriesExhaustedError extends Error {
  constructor(what: string, seconds: number, last: unknown) {
    super(`${what}: still failing after ${seconds} s of retries (${describeError(last).error})`);
    this.name = 'StartupRetriesExhaustedError';
  }
}

export interface Booted {
  /** The session as it was before this agent claimed it: what the predecessor last reported. */
  before: Session;
  /** The session as claimed. */
  session: Session;
  /** A successor's predecessor as it ended (its last reported open trades are this run's to manage). */
  predecessor?: Session;
  credentials: ExchangeCredentials | null;
  loaded: LoadedStrategyConfig;
  claimedAt: number;
}

/** Why the agent cannot start; `markFailed` fails the session (a bad config), otherwise it is left as is. */
export interface BootRefusal {
  code: number;
  message: string;
  markFailed: boolean;
}

export type BootResult = { ok: true; booted: Booted } | { ok: false; refusal: BootRefusal };

const refuse = (code: number, message: string, markFailed: boolean): BootResult => ({
  ok: false,
  refusal: { code, message, markFailed },
});

/**
 * Before trading: read the session (which model, overrides and limits the operator asked for), the
 * exchange credentials, the strategy config, then claim the session. A failure ends the agent with a
 * clear reason.
 */
export const bootstrap = async (
  options: AgentOptions,
  agentId: string,
  deps: BootstrapDeps,
): Promise<BootResult> => {
  const { store, clock, logger, redactor } = deps;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms)));
  // One budget for the whole start: a replacement task waits out a minute of MLflow, S3 or Secrets
  // Manager trouble instead of failing a live session; a bad config still fails at once.
  const startedAt = clock.now();
  const budgetMs = options.startupRetryS * 1000;
  /** Time spent, by the clock or by the waits alone: a clock that stands still cannot make this loop forever. */
  let waitedMs = 0;
  const spentMs = () => Math.max(clock.now() - startedAt, waitedMs);
  const retrying = async <T>(what: string, attempt: () => Promise<T>): Promise<T> => {
    let delay = STARTUP_RETRY_FIRST_MS;
    for (let tries = 1; ; tries += 1) {
      try {
        return await attempt();
      } catch (error) {
        if (!isTransientStartupFault(error)) throw error;
        if (spentMs() + delay > budgetMs) {
          throw new StartupRetriesExhaustedError(what, options.startupRetryS, error);
        }
        logger.warn('transient start-up fault: retrying', {
          what,
          attempt: tries,
          retry_in_ms: delay,
          ...describeError(error),
        });
        await sleep(delay);
        waitedMs += delay;
        delay = Math.min(STARTUP_RETRY_MAX_MS, delay * 2);
      }
    }
  };
  const exhausted = (error: unknown): BootResult | undefined =>
    error instanceof StartupRetriesExhaustedError ? refuse(EXIT.fault, error.message, false) : undefined;
  // 1. The session.
  let before: Session | undefined;
  try {
    before = await retrying('reading the session', () => store.get(options.runId));
  } catch (error) {
    return (
      exhausted(error) ??
      refuse(EXIT.fault, `cannot read session ${options.runId}: ${describeError(error).error}`, false)
    );
  }
  if (before === undefined) return refuse(EXIT.fenced, `no session ${options.runId}: not trading`, false);
  if (isTerminal(before.status)) {
    return refuse(EXIT.ok, `session ${options.runId} is already ${before.status}: nothing to do`, false);
  }
  if (before.strategy_id !== options.strategyId || before.trading_mode !== options.tradingMode) {
    return refuse(
      EXIT.configuration,
      `session ${options.runId} is ${before.strategy_id}/${before.trading_mode}, not STRATEGY_ID ${options.strategyId}/TRADING_MODE ${options.tradingMode}`,
      true,
    );
  }

  // 2. Exchange credentials: registered with the redactor before anything else can print them.
  let credentials: ExchangeCredentials | null = null;
  if (options.exchangeSecretName !== undefined) {
    try {
      const secrets = deps.secrets ?? (await createSecretSource(options.secretsFile));
      const name = options.exchangeSecretName;
      credentials = await retrying('reading the exchange credentials', () =>
        secrets.getExchangeCredentials(name),
      );
      for (const value of [credentials.key, credentials.secret, credentials.password, credentials.uid]) {
        redactor.add(value);
      }
    } catch (error) {
      const message = error instanceof SecretsError ? error.message : 'cannot read the exchange credentials';
      return exhausted(error) ?? refuse(EXIT.configuration, message, true);
    }
  }

  // 3. Strategy config (seed §4).
  let loaded: LoadedStrategyConfig;
  try {
    const registry =
      deps.registry ??
      createModelRegistry({
        trackingUri: options.mlflow.uri,
        ...(deps.mlflowHttp === undefined ? {} : { http: deps.mlflowHttp }),
        ...(options.mlflow.token === undefined ? {} : { token: options.mlflow.token }),
        ...(options.mlflow.username === undefined ? {} : { username: options.mlflow.username }),
        ...(options.mlflow.password === undefined ? {} : { password: options.mlflow.password }),
      });
    const source = deps.configSource ?? (await createConfigSource(options.configBucket));
    const loader = new StrategyConfigLoader(registry, source);
    const session = before;
    loaded = await retrying('loading the strategy config', () =>
      loader.load({
        strategy: options.strategy,
        strategyId: options.strategyId,
        runId: options.runId,
        tradingMode: options.tradingMode,
        arcticdbS3Uri: options.arcticdbS3Uri,
        alias: session.alias,
        stage: session.stage,
        modelVersion: session.model_version ?? null,
        overrides: session.overrides,
      }),
    );
  } catch (error) {
    const known = error instanceof StrategyConfigError || error instanceof StrategyConfigValidationError;
    return (
      exhausted(error) ??
      refuse(
        EXIT.configuration,
        known
          ? `strategy config: ${error.message}`
          : `strategy config could not be loaded: ${describeError(error).error}`,
        true,
      )
    );
  }
  logger.info('strategy config loaded', {
    model: loaded.modelVersion.name,
    model_version: loaded.modelVersion.version,
    strategy_version: loaded.strategyVersion,
    exchange: loaded.exchange,
    pairs: loaded.pairs.length,
    timeframe: loaded.timeframe,
  });

  // 3b. FreqAI model (seed §5): downloaded before the claim, so a predecessor keeps trading meanwhile.
  const freqaiModel = loaded.freqaiModel;
  if (freqaiModel !== null && isServiceMode(options.tradingMode)) {
    try {
      const userDataDir = await userDataDirFor(loaded.config, deps.workDir, process.cwd());
      const mlflow = {
        trackingUri: options.mlflow.uri,
        ...(deps.mlflowHttp === undefined ? {} : { http: deps.mlflowHttp }),
        ...(options.mlflow.token === undefined ? {} : { token: options.mlflow.token }),
        ...(options.mlflow.username === undefined ? {} : { username: options.mlflow.username }),
        ...(options.mlflow.password === undefined ? {} : { password: options.mlflow.password }),
      };
      const downloader =
        deps.artifacts ??
        createArtifactDownloader(mlflow, { totalTimeoutMs: options.modelDownloadTimeoutS * 1000 });
      const installed = await retrying('downloading the FreqAI model', () =>
        installFreqaiModel({
          config: loaded.config,
          model: freqaiModel,
          userDataDir,
          pairs: loaded.pairs,
          downloader,
        }),
      );
      logger.info('FreqAI model installed for inference only', {
        uri: freqaiModel.uri,
        model: freqaiModel.name,
        model_version: freqaiModel.version,
        identifier: installed.identifier,
        files: installed.files,
        bytes: installed.bytes,
        verified: installed.verified,
      });
    } catch (error) {
      return (
        exhausted(error) ??
        refuse(
          EXIT.configuration,
          error instanceof FreqaiModelError
            ? `FreqAI model ${error.message.replace(/^tags\.freqai_model: /, '')}`
            : `FreqAI model ${freqaiModel.uri} could not be installed: ${describeError(error).error}`,
          true,
        )
      );
    }
  }

  // 4. Claim: from here on, an older agent's heartbeats are refused.
  let session: Session;
  try {
    const claim = await retrying('claiming the session', () =>
      store.claimSession({
        run_id: options.runId,
        agent_id: agentId,
        strategy_version: loaded.strategyVersion.slice(0, 64),
        exchange: loaded.exchange.slice(0, 64),
        pairs: loaded.pairs.slice(0, 500),
        ...(credentials === null ? {} : { account_id: accountIdOf(loaded.exchange, credentials.key) }),
      }),
    );
    // Another live run trades a pair of this account: this run must never trade; it is failed, not fenced.
    if (!claim.ok && claim.reason === 'account_busy')
      return refuse(EXIT.configuration, `account_busy: ${claim.message}`, true);
    // Its exchange account is reducing or halted (the kill switch): a new session must not begin trading.
    if (!claim.ok && claim.reason === 'scope_not_active')
      return refuse(EXIT.configuration, `scope_not_active: ${claim.message}`, true);
    if (!claim.ok) throw new ClaimRefusedError(claim.message);
    session = claim.session;
  } catch (error) {
    const refused = error instanceof ClaimRefusedError;
    return (
      exhausted(error) ??
      refuse(
        refused ? EXIT.fenced : EXIT.fault,
        `cannot claim session ${options.runId}: ${describeError(error).error}`,
        false,
      )
    );
  }
  logger.info('session claimed', { status: session.status, desired_state: session.desired_state });
  // Read after the claim: the claim succeeded only once the predecessor was over, so this is its last word.
  const predecessorRunId = session.supersedes ?? null;
  let predecessor: Session | undefined;
  try {
    if (predecessorRunId !== null)
      predecessor = await retrying('reading the previous session', () => store.get(predecessorRunId));
    // A rollback's predecessor may never have traded (its agent never claimed): the trades are the run's before.
    const older = predecessor?.agent_id === null ? (predecessor.supersedes ?? null) : null;
    if (older !== null)
      predecessor = (await retrying('reading the previous session', () => store.get(older))) ?? predecessor;
  } catch (error) {
    // Without the trades it must find, the successor would trade blind past them: it does not start.
    return (
      exhausted(error) ??
      refuse(
        EXIT.fault,
        `cannot read the previous session ${predecessorRunId}: ${describeError(error).error}`,
        false,
      )
    );
  }
  return {
    ok: true,
    booted: {
      before,
      session,
      credentials,
      loaded,
      claimedAt: clock.now(),
      ...(predecessor === undefined ? {} : { predecessor }),
    },
  };
};
