import { type ChildProcess, spawn as nodeSpawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { hostname as osHostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Clock, systemClock } from '../../shared/domain/clock';
import type { Heartbeat } from '../../shared/domain/heartbeat';
import type { RiskAction, RiskSnapshot } from '../../shared/domain/risk';
import {
  type DesiredState,
  isServiceMode,
  isTerminal,
  type Session,
  type TradingMode,
} from '../../shared/domain/session';
import type { SessionStore } from '../../shared/domain/session-store';
import { accountIdOf } from '../../shared/runtime/account-identity';
import { type ConfigSource, createConfigSource } from './config/config-source';
import { createModelRegistry, type ModelRegistry } from './config/mlflow';
import { type LoadedStrategyConfig, StrategyConfigLoader } from './config/strategy-config-loader';
import { EXIT, FREQTRADE_DEFAULT_THROTTLE_S, LOOP_STALE_CYCLES } from './constants';
import { actionFor, targetOf } from './control';
import type { AgentOptions } from './env';
import {
  ClaimRefusedError,
  SecretsError,
  StrategyConfigError,
  StrategyConfigValidationError,
} from './errors';
import { type BotControl, FreqtradeClient, type FreqtradeEndpoint } from './freqtrade/client';
import { type InitialState, writeFreqtradeConfig } from './freqtrade/config-writer';
import { FreqtradeSupervisor, runOneShot, type SpawnFn } from './freqtrade/supervisor';
import { startHealthServer } from './health-server';
import { type HeartbeatOutcome, HeartbeatReporter } from './heartbeat';
import type { HttpFetch } from './http';
import { type AgentLogger, createLogger, describeError, Redactor } from './logger';
import { MetricsCollector } from './metrics';
import { ProcessStats } from './process-stats';
import { createResultStore, type ResultStore } from './results';
import { RiskMonitor } from './risk-monitor';
import {
  createSecretSource,
  type ExchangeCredentials,
  freqtradeCredentialEnv,
  type SecretSource,
} from './secrets';

/** Everything the agent talks to, injectable so tests run it in-process without monkey-patching. */
export interface AgentDeps {
  clock?: Clock;
  /** MLflow calls; Freqtrade calls too unless `freqtradeFetch` is given. */
  fetch?: typeof fetch;
  /** Freqtrade calls (default: node:http, see http.ts). */
  freqtradeFetch?: HttpFetch;
  spawn?: SpawnFn;
  /** Called once with the exit code when the agent is done (default: nothing; main.ts exits the process). */
  exit?: (code: number) => void;
  store?: SessionStore;
  registry?: ModelRegistry;
  configSource?: ConfigSource;
  /** Where one-shot results are stored (default: from RESULTS_S3_URI, else the config bucket). */
  resultStore?: ResultStore;
  secrets?: SecretSource;
  logger?: AgentLogger;
  redactor?: Redactor;
  /** Where SIGTERM/SIGINT come from (default: none; main.ts passes `process`). */
  signals?: Pick<NodeJS.Process, 'on' | 'off'>;
}

export interface AgentStatus {
  agentId: string;
  phase: 'starting' | 'running' | 'stopping' | 'done';
  /** The desired_state the agent last read. */
  desiredState: DesiredState | undefined;
  freqtradeState: string;
  riskStep: RiskAction | null;
  failClosed: boolean;
  heartbeatsSent: number;
  restarts: number;
  monitorFailures: number;
  freqtradeUrl: string | undefined;
}

export interface AgentHandle {
  /** The exit code, once the agent has finished. */
  readonly done: Promise<number>;
  readonly healthUrl: string | undefined;
  /** What SIGTERM does: pause entries, last heartbeat, stop Freqtrade, finish within STOP_TIMEOUT_S. */
  shutdown(reason?: string): Promise<number>;
  status(): AgentStatus;
}

/** How long a (re)starting Freqtrade may take before its silence counts as monitoring failures. */
const STARTUP_GRACE_MS = 90_000;

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** Resolves with `fallback` when `promise` has not settled within `ms`. */
const within = <T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((done) => {
      timer = setTimeout(() => done(fallback), Math.max(0, ms));
    }),
  ]);
};

const createDefaultStore = async (options: AgentOptions, clock: Clock): Promise<SessionStore> => {
  const [{ createDocumentClient }, { DynamoSessionStore }] = await Promise.all([
    import('../../shared/adapters/dynamodb/client'),
    import('../../shared/adapters/dynamodb/session-store'),
  ]);
  // Short timeouts and few retries: an unreachable DynamoDB must surface quickly so fail-closed can act.
  const doc = createDocumentClient({
    maxAttempts: 2,
    requestHandler: { requestTimeout: 3000, connectionTimeout: 1000 },
  });
  return new DynamoSessionStore(doc, {
    sessionsTable: options.sessionsTable,
    metricsTable: options.metricsTable,
    clock,
  });
};

const oneShotArgs = (mode: TradingMode, configPath: string, config: Record<string, unknown>): string[] => {
  switch (mode) {
    case 'backtest':
      return ['backtesting', '--config', configPath, '--export', 'trades'];
    case 'hyperopt':
      return ['hyperopt', '--config', configPath];
    case 'train': {
      // FreqAI trains during a backtest (seed §5); the model class comes from the config.
      const model = typeof config.freqaimodel === 'string' ? ['--freqaimodel', config.freqaimodel] : [];
      return ['backtesting', '--config', configPath, ...model];
    }
    default:
      return ['trade', '--config', configPath];
  }
};

const resultLocationOf = (mode: TradingMode, config: Record<string, unknown>): string => {
  const userData = typeof config.user_data_dir === 'string' ? config.user_data_dir : 'user_data';
  const folder = mode === 'hyperopt' ? 'hyperopt_results' : mode === 'train' ? 'models' : 'backtest_results';
  return resolve(userData, folder);
};

/**
 * The container agent (DESIGN.md §1, seed §3/§4/§8): claims its session, loads the strategy config,
 * runs and supervises Freqtrade, reports heartbeats with metrics and risk, enforces risk locally, and
 * reconciles Freqtrade to the operator's desired state. Fenced off by the control plane, it stops trading.
 */
export const runAgent = async (options: AgentOptions, deps: AgentDeps = {}): Promise<AgentHandle> => {
  const clock = deps.clock ?? systemClock;
  const redactor = deps.redactor ?? new Redactor();
  const agentId =
    options.agentId ?? `${osHostname().slice(0, 60)}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const logger =
    deps.logger ??
    createLogger({
      level: options.logLevel,
      redactor,
      context: { run_id: options.runId, strategy_id: options.strategyId, agent_id: agentId },
      now: () => clock.now(),
    });
  const fetchFn = deps.fetch ?? fetch;
  const ftFetch: HttpFetch | undefined = deps.freqtradeFetch ?? deps.fetch;
  const spawn: SpawnFn = deps.spawn ?? nodeSpawn;
  const workDir = options.workDir ?? join(tmpdir(), `tradai-${options.runId}`);

  let phase: AgentStatus['phase'] = 'starting';
  let resolveDone: (code: number) => void = () => {};
  const done = new Promise<number>((resolveFn) => {
    resolveDone = resolveFn;
  });
  let finished = false;
  const cleanups: (() => Promise<void> | void)[] = [];
  const finish = async (code: number, why: string) => {
    if (finished) return;
    finished = true;
    phase = 'done';
    logger.info('agent exiting', { code, why });
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        logger.warn('cleanup failed', describeError(error));
      }
    }
    resolveDone(code);
    deps.exit?.(code);
  };

  // Everything below may fail before trading starts; such a failure ends the agent with a clear reason.
  const store = deps.store ?? (await createDefaultStore(options, clock));

  let handleStatus = (): AgentStatus => ({
    agentId,
    phase,
    desiredState: undefined,
    freqtradeState: 'unknown',
    riskStep: null,
    failClosed: false,
    heartbeatsSent: 0,
    restarts: 0,
    monitorFailures: 0,
    freqtradeUrl: undefined,
  });
  let shutdownImpl: (reason: string) => Promise<number> = async () => done;
  const handle: AgentHandle = {
    done,
    healthUrl: undefined,
    shutdown: (reason = 'shutdown requested') => shutdownImpl(reason),
    status: () => handleStatus(),
  };

  const failStart = async (code: number, message: string, markFailed: boolean) => {
    logger.error(message);
    if (markFailed) {
      try {
        await store.transition(options.runId, 'failed', { patch: { status_reason: message.slice(0, 1024) } });
      } catch (error) {
        logger.warn('could not mark the session failed', describeError(error));
      }
    }
    await finish(code, message);
    return handle;
  };

  // 1. The session: which model version (alias/stage), overrides and risk limits the operator asked for.
  let session: Session | undefined;
  try {
    session = await store.get(options.runId);
  } catch (error) {
    return failStart(
      EXIT.fault,
      `cannot read session ${options.runId}: ${describeError(error).error}`,
      false,
    );
  }
  if (session === undefined) return failStart(EXIT.fenced, `no session ${options.runId}: not trading`, false);
  if (isTerminal(session.status)) {
    return failStart(EXIT.ok, `session ${options.runId} is already ${session.status}: nothing to do`, false);
  }
  if (session.strategy_id !== options.strategyId || session.trading_mode !== options.tradingMode) {
    return failStart(
      EXIT.configuration,
      `session ${options.runId} is ${session.strategy_id}/${session.trading_mode}, not STRATEGY_ID ${options.strategyId}/TRADING_MODE ${options.tradingMode}`,
      true,
    );
  }

  // 2. Exchange credentials: registered with the redactor before anything else can print them.
  let credentials: ExchangeCredentials | null = null;
  if (options.exchangeSecretName !== undefined) {
    try {
      const secrets = deps.secrets ?? (await createSecretSource(options.secretsFile));
      credentials = await secrets.getExchangeCredentials(options.exchangeSecretName);
      for (const value of [credentials.key, credentials.secret, credentials.password, credentials.uid]) {
        redactor.add(value);
      }
    } catch (error) {
      const message = error instanceof SecretsError ? error.message : 'cannot read the exchange credentials';
      return failStart(EXIT.configuration, message, true);
    }
  }

  // 3. Strategy config (seed §4).
  let loaded: LoadedStrategyConfig;
  try {
    const registry =
      deps.registry ??
      createModelRegistry({
        trackingUri: options.mlflow.uri,
        fetch: fetchFn,
        ...(options.mlflow.token === undefined ? {} : { token: options.mlflow.token }),
        ...(options.mlflow.username === undefined ? {} : { username: options.mlflow.username }),
        ...(options.mlflow.password === undefined ? {} : { password: options.mlflow.password }),
      });
    const source = deps.configSource ?? (await createConfigSource(options.configBucket));
    loaded = await new StrategyConfigLoader(registry, source).load({
      strategy: options.strategy,
      strategyId: options.strategyId,
      runId: options.runId,
      tradingMode: options.tradingMode,
      arcticdbS3Uri: options.arcticdbS3Uri,
      alias: session.alias,
      stage: session.stage,
      overrides: session.overrides,
    });
  } catch (error) {
    const known = error instanceof StrategyConfigError || error instanceof StrategyConfigValidationError;
    return failStart(
      EXIT.configuration,
      known
        ? `strategy config: ${error.message}`
        : `strategy config could not be loaded: ${describeError(error).error}`,
      true,
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

  // 4. Claim: from here on, an older agent's heartbeats are refused.
  try {
    const claim = await store.claimSession({
      run_id: options.runId,
      agent_id: agentId,
      strategy_version: loaded.strategyVersion.slice(0, 64),
      exchange: loaded.exchange.slice(0, 64),
      pairs: loaded.pairs.slice(0, 500),
      ...(credentials === null ? {} : { account_id: accountIdOf(loaded.exchange, credentials.key) }),
    });
    // Another live run trades a pair of this account: this run must never trade; it is failed, not fenced.
    if (!claim.ok && claim.reason === 'account_busy')
      return failStart(EXIT.configuration, `account_busy: ${claim.message}`, true);
    if (!claim.ok) throw new ClaimRefusedError(claim.message);
    session = claim.session;
  } catch (error) {
    const refused = error instanceof ClaimRefusedError;
    return failStart(
      refused ? EXIT.fenced : EXIT.fault,
      `cannot claim session ${options.runId}: ${describeError(error).error}`,
      false,
    );
  }
  const claimedAt = clock.now();
  logger.info('session claimed', { status: session.status, desired_state: session.desired_state });

  // ---- Shared state of the running agent ----
  let current: Session = session;
  let desired: DesiredState = session.desired_state;
  const risk = new RiskMonitor(session.risk_limits, session.risk, session.desired_state);
  const throttleS = (() => {
    const internals = loaded.config.internals;
    if (typeof internals === 'object' && internals !== null && 'process_throttle_secs' in internals) {
      const value = internals.process_throttle_secs;
      if (typeof value === 'number' && value > 0) return value;
    }
    return FREQTRADE_DEFAULT_THROTTLE_S;
  })();
  const loopStaleAfterMs = (options.loopStaleAfterS ?? Math.max(30, LOOP_STALE_CYCLES * throttleS)) * 1000;
  const collector = new MetricsCollector({
    clock,
    loopStaleAfterMs,
    ...(session.risk?.snapshot ? { initialPeakEquity: session.risk.snapshot.peak_equity } : {}),
  });
  const stats = new ProcessStats();
  let lastStats = { cpuPercent: 0, memoryMb: 0 };
  let client: FreqtradeClient | undefined;
  let clientStartedAt = clock.now();
  let apiAnsweredSinceStart = false;
  let supervisor: FreqtradeSupervisor | undefined;
  let lastSnapshot: RiskSnapshot | null = session.risk?.snapshot ?? null;
  let stopping = false;
  const timers = new Set<NodeJS.Timeout>();
  const oneShot = !isServiceMode(options.tradingMode);
  let oneShotState: 'running' | 'completed' | 'failed' = 'running';
  let oneShotChild: ChildProcess | undefined;

  const failClosed = () =>
    clock.now() - (heartbeats.lastSuccessAt ?? claimedAt) > options.heartbeatFailClosedS * 1000;
  const target = () => targetOf({ desired, riskStep: risk.response?.step ?? null, failClosed: failClosed() });

  const buildHeartbeat = (seq: number, at: string): Heartbeat => {
    const freqtradeState = oneShot
      ? oneShotState === 'running'
        ? 'running'
        : 'stopped'
      : stopping && supervisor !== undefined && !supervisor.running
        ? 'stopped'
        : collector.freqtradeState;
    const loopAlive = collector.loopAlive;
    return {
      run_id: options.runId,
      agent_id: agentId,
      seq,
      at,
      metrics: collector.metrics(),
      health: {
        cpu_percent: lastStats.cpuPercent,
        memory_mb: lastStats.memoryMb,
        exchange_connected: oneShot ? false : collector.exchangeConnected,
        last_trade_at: collector.lastTradeAt(),
        freqtrade_state: freqtradeState,
        ...(loopAlive === undefined ? {} : { loop_alive: loopAlive }),
        last_process_at: collector.lastProcessAt,
        freqtrade_restarts: supervisor?.restarts ?? 0,
        monitor_failures: collector.consecutiveFailures,
      },
      risk: risk.state(lastSnapshot),
      open_trades: collector.openTrades,
    };
  };

  const heartbeats = new HeartbeatReporter({
    store,
    clock,
    logger,
    strategyId: options.strategyId,
    initialSeq: session.heartbeat_seq,
    build: buildHeartbeat,
  });

  // ---- Talking to Freqtrade ----
  const command = async (action: BotControl | 'forceexit', why: string): Promise<boolean> => {
    if (client === undefined) return false;
    const result = action === 'forceexit' ? await client.forceExitAll() : await client.control(action);
    if (result.ok) logger.info(`freqtrade ${action}`, { why });
    else
      logger.warn(`freqtrade ${action} failed`, {
        why,
        failure: result.failure.message,
        kind: result.failure.kind,
      });
    return result.ok;
  };

  let reconciling = false;
  let lastCommand: BotControl | null = null;
  /** Moves Freqtrade towards the state it must be in now; called after every poll and every change. */
  const reconcile = async (why: string) => {
    if (oneShot || stopping || reconciling || client === undefined) return;
    reconciling = true;
    try {
      const goal = target();
      const observed = collector.freqtradeState;
      let action = actionFor(observed, goal);
      // An older Freqtrade stops entries with /stopentry and stays "running": that is paused enough.
      if (action === 'pause' && observed === 'running' && client.pausesByStopEntry && lastCommand === 'pause')
        action = null;
      if (action === null) return;
      if (await command(action, why)) {
        lastCommand = action;
        // Believe our own command until the next poll shows the truth (a second call would be a no-op anyway).
        await pollOnce(false);
      }
    } finally {
      reconciling = false;
    }
  };
  const initialState = (): InitialState => {
    const goal = target();
    return goal === 'stopped' ? 'stopped' : goal;
  };

  // ---- Fencing ----
  const fence = async (outcome: Extract<HeartbeatOutcome, { kind: 'fenced' }>) => {
    if (stopping) return;
    stopping = true;
    phase = 'stopping';
    logger.error('fenced off by the control plane: stopping trading', {
      reason: outcome.reason,
      detail: outcome.message,
    });
    // Pause first (it is immediate), then stop: no new order may go out from a fenced agent.
    await command('pause', `fenced: ${outcome.reason}`);
    await command('stop', `fenced: ${outcome.reason}`);
    await supervisor?.stop(options.stopTimeoutS * 1000);
    await finish(outcome.reason === 'terminal' ? EXIT.ok : EXIT.fenced, `fenced: ${outcome.message}`);
  };

  /** Every session the agent reads (heartbeat ALL_NEW or control poll) goes through here. */
  const onSession = async (fresh: Session, why: string) => {
    current = fresh;
    if (fresh.agent_id !== agentId) {
      await fence({
        kind: 'fenced',
        reason: 'superseded',
        message: `session now held by ${fresh.agent_id ?? '(none)'}`,
      });
      return;
    }
    if (isTerminal(fresh.status)) {
      await fence({ kind: 'fenced', reason: 'terminal', message: `session is ${fresh.status}` });
      return;
    }
    risk.setLimits(fresh.risk_limits);
    const changed = fresh.desired_state !== desired;
    desired = fresh.desired_state;
    if (risk.observeDesired(desired, fresh.desired_state_changed_at ?? null)) {
      collector.acknowledgeLosses();
      logger.warn('operator resumed after a risk breach: latch cleared, losses so far acknowledged');
    }
    if (desired === 'stopped') {
      await stopSession();
      return;
    }
    if (changed) logger.info('desired state changed', { desired_state: desired, via: why });
    await reconcile(`desired_state ${desired} (${why})`);
  };

  const sendHeartbeat = async (reason: string): Promise<HeartbeatOutcome> => {
    const outcome = await heartbeats.send(reason);
    if (outcome.kind === 'ok' && !stopping) await onSession(outcome.session, 'heartbeat');
    else if (outcome.kind === 'fenced') await fence(outcome);
    return outcome;
  };

  // ---- Polling Freqtrade and enforcing risk ----
  let polling: Promise<void> | undefined;
  const pollOnce = async (act: boolean): Promise<void> => {
    const inStartup = !apiAnsweredSinceStart && clock.now() - clientStartedAt < STARTUP_GRACE_MS;
    const outcome = await collector.poll(client, !inStartup);
    if (outcome.failures.length === 0) apiAnsweredSinceStart = true;
    else
      logger.warn('freqtrade poll failed', {
        failures: outcome.failures,
        consecutive: collector.consecutiveFailures,
      });
    lastStats = await stats.sample(supervisor?.pid);
    const snapshot = collector.riskSnapshot();
    lastSnapshot = snapshot;
    if (!act) return;
    const decision = risk.evaluate(snapshot, clock.now());
    if (decision.newStep !== null) {
      logger.error('risk breach: taking ladder step', {
        step: decision.newStep,
        breaches: decision.assessment.breaches.map((breach) => breach.message),
      });
      // Act first, then report (DESIGN.md §3): the pause must not wait for DynamoDB.
      if (decision.newStep === 'pause') await command('pause', 'risk breach');
      else if (decision.newStep === 'flatten') {
        await command('pause', 'risk breach: flatten');
        await command('forceexit', 'risk breach: flatten');
      } else await command('stop', 'risk breach: stop');
      lastCommand = decision.newStep === 'stop' ? 'stop' : 'pause';
      void sendHeartbeat(`risk ${decision.newStep}`);
    }
    await reconcile('risk poll');
  };
  const riskPoll = async () => {
    if (polling !== undefined) return polling;
    if (stopping) return;
    polling = pollOnce(true).finally(() => {
      polling = undefined;
    });
    await polling;
  };

  // ---- Loops ----
  const every = (name: string, intervalMs: () => number, task: () => Promise<unknown>) => {
    const schedule = (delay: number) => {
      const timer = setTimeout(async () => {
        timers.delete(timer);
        if (finished) return;
        try {
          await task();
        } catch (error) {
          logger.error(`${name} failed`, describeError(error));
        }
        if (!finished) schedule(intervalMs());
      }, delay);
      timers.add(timer);
    };
    schedule(intervalMs());
  };
  let heartbeatBackoffMs = 0;
  const heartbeatLoop = () => {
    const intervalMs = options.heartbeatIntervalS * 1000;
    every(
      'heartbeat',
      () => (heartbeatBackoffMs > 0 ? Math.min(heartbeatBackoffMs, intervalMs) : intervalMs),
      async () => {
        if (finished) return;
        const outcome = await sendHeartbeat('interval');
        // DynamoDB unreachable: retry sooner, doubling up to the interval, and keep trading under local risk control.
        heartbeatBackoffMs =
          outcome.kind === 'error' ? Math.min(intervalMs, Math.max(50, heartbeatBackoffMs * 2 || 250)) : 0;
        if (outcome.kind === 'error' && failClosed()) await reconcile('no heartbeat: fail-closed');
      },
    );
  };
  const controlLoop = () =>
    every(
      'control poll',
      () => options.controlPollIntervalS * 1000,
      async () => {
        if (stopping) return;
        let fresh: Session | undefined;
        try {
          fresh = await store.get(options.runId);
        } catch (error) {
          logger.warn('control poll failed', describeError(error));
          return;
        }
        if (fresh === undefined) {
          await fence({ kind: 'fenced', reason: 'not_found', message: `session ${options.runId} is gone` });
          return;
        }
        await onSession(fresh, 'control poll');
      },
    );

  // ---- Stop (desired_state stopped) and shutdown (SIGTERM) ----
  const stopLoops = () => {
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
  };

  const stopSession = async () => {
    if (stopping) return;
    stopping = true;
    phase = 'stopping';
    logger.info('session stop requested: stopping freqtrade', { flatten_on_stop: current.flatten_on_stop });
    if (oneShot) {
      oneShotChild?.kill('SIGTERM');
    } else {
      await command('pause', 'session stopping');
      if (current.flatten_on_stop) {
        await command('forceexit', 'session stopping: flatten_on_stop');
        const deadline = clock.now() + Math.max(30, options.stopTimeoutS) * 1000;
        while (clock.now() < deadline) {
          await collector.poll(client, false);
          if (collector.openTradeCount === 0) break;
          await sleep(Math.min(1000, options.riskPollIntervalS * 1000));
        }
        if (collector.openTradeCount > 0) {
          logger.error('positions still open after flatten_on_stop; stopping anyway', {
            open_trades: collector.openTradeCount,
          });
        }
      }
      await command('stop', 'session stopping');
      await pollOnce(false).catch(() => undefined);
      if (options.attach === undefined) await supervisor?.stop(options.stopTimeoutS * 1000);
    }
    stopLoops();
    await heartbeats.send('final');
    const result = await store
      .transition(options.runId, 'stopped', { from: ['stopping'], heldBy: agentId })
      .catch((error: unknown) => ({ ok: false as const, message: describeError(error).error }));
    if (result.ok) logger.info('session stopped');
    else logger.warn('final status write failed', { detail: result.message });
    await finish(EXIT.ok, 'session stopped');
  };

  shutdownImpl = async (reason: string) => {
    if (stopping || finished) return done;
    stopping = true;
    phase = 'stopping';
    const deadline = clock.now() + options.stopTimeoutS * 1000;
    const left = () => deadline - clock.now();
    logger.warn('shutting down', { reason, budget_s: options.stopTimeoutS });
    stopLoops();
    // Pause entries first: whatever happens next, no new position opens while we go down.
    if (!oneShot) await within(command('pause', reason), Math.min(left(), 5000), false);
    else oneShotChild?.kill('SIGTERM');
    if (!oneShot)
      await within(
        pollOnce(false).catch(() => undefined),
        Math.min(left() / 3, 3000),
        undefined,
      );
    await within(heartbeats.send('shutdown'), Math.min(left() / 2, 5000), undefined);
    if (options.attach === undefined)
      await within(supervisor?.stop(Math.max(0, left() - 500)) ?? Promise.resolve(), left(), undefined);
    await finish(EXIT.ok, reason);
    return done;
  };

  const onSignal = (signal: NodeJS.Signals) => {
    void shutdownImpl(`${signal} received`);
  };
  deps.signals?.on('SIGTERM', onSignal);
  deps.signals?.on('SIGINT', onSignal);
  cleanups.push(() => {
    deps.signals?.off('SIGTERM', onSignal);
    deps.signals?.off('SIGINT', onSignal);
  });
  cleanups.push(stopLoops);

  // ---- Health endpoint ----
  const health = await startHealthServer(options.health.host, options.health.port, () => {
    const reasons: string[] = [];
    if (phase !== 'running') reasons.push(`agent is ${phase}`);
    if (!heartbeats.lastOk) reasons.push('last heartbeat did not succeed');
    if (!oneShot) {
      if (collector.loopAlive === false) reasons.push('freqtrade bot loop is stuck');
      else if (collector.lastOutcome === undefined || collector.lastOutcome.failures.length > 0) {
        reasons.push('freqtrade is not answering');
      }
    }
    return {
      healthy: reasons.length === 0,
      reasons,
      details: {
        run_id: options.runId,
        freqtrade_state: collector.freqtradeState,
        risk: risk.response?.step ?? null,
        fail_closed: failClosed(),
      },
    };
  }).catch((error: unknown) => {
    logger.error('health endpoint could not start', describeError(error));
    return undefined;
  });
  if (health === undefined)
    return failStart(
      EXIT.fault,
      `health endpoint could not bind ${options.health.host}:${options.health.port}`,
      false,
    );
  cleanups.push(() => health.close());
  Object.defineProperty(handle, 'healthUrl', { value: health.url });

  handleStatus = () => ({
    agentId,
    phase,
    desiredState: desired,
    freqtradeState: collector.freqtradeState,
    riskStep: risk.response?.step ?? null,
    failClosed: failClosed(),
    heartbeatsSent: heartbeats.sent,
    restarts: supervisor?.restarts ?? 0,
    monitorFailures: collector.consecutiveFailures,
    freqtradeUrl: client?.url,
  });

  const freqtradeEnv = {
    ...freqtradeCredentialEnv(credentials),
    TRADAI_RUN_ID: options.runId,
    TRADAI_STRATEGY_ID: options.strategyId,
    ARCTICDB_S3_URI: options.arcticdbS3Uri,
  };
  const timeoutMs = options.freqtradeTimeoutS * 1000;

  // ---- One-shot modes: backtest / hyperopt / train ----
  if (oneShot) {
    phase = 'running';
    const written = await writeFreqtradeConfig(workDir, loaded.config, 'running');
    const args = oneShotArgs(options.tradingMode, written.path, loaded.config);
    heartbeatLoop();
    controlLoop();
    void sendHeartbeat('started');
    const result = await runOneShot(
      { command: options.freqtradeCmd, workDir, env: freqtradeEnv, spawn, logger },
      args,
      (child) => {
        oneShotChild = child;
      },
    );
    if (finished) return handle;
    const succeeded = result.code === 0;
    oneShotState = succeeded ? 'completed' : 'failed';
    stopLoops();
    if (stopping && current.desired_state === 'stopped') {
      await heartbeats.send('final');
      await store
        .transition(options.runId, 'stopped', { from: ['stopping'], heldBy: agentId })
        .catch(() => undefined);
      await finish(EXIT.ok, 'one-shot stopped by the operator');
      return handle;
    }
    await heartbeats.send('final');
    // The container's disk goes with the task: results count only once they are stored outside it.
    let location = resultLocationOf(options.tradingMode, loaded.config);
    let unstored: string | undefined;
    if (succeeded) {
      try {
        const results = deps.resultStore ?? (await createResultStore(options.resultsUri));
        location = await results.publish(location, options.runId);
      } catch (error) {
        unstored = error instanceof Error ? error.message : String(error);
      }
    }
    const completed = succeeded && unstored === undefined;
    const reason = completed
      ? `freqtrade ${args[0]} completed; results in ${location}`
      : succeeded
        ? `freqtrade ${args[0]} completed but its results could not be stored: ${unstored}`
        : `freqtrade ${args[0]} exited with ${result.code === null ? `signal ${result.signal}` : `code ${result.code}`}`;
    const now = new Date(clock.now()).toISOString();
    // `completed` may only follow `running`: the launch workflow marks running on our first heartbeat.
    const deadline = clock.now() + 60_000;
    for (;;) {
      const written = completed
        ? await store
            .transition(options.runId, 'completed', {
              from: ['running'],
              heldBy: agentId,
              patch: { status_reason: reason, completed_at: now, result_s3_path: location },
            })
            .catch((error: unknown) => ({
              ok: false as const,
              message: describeError(error).error,
              current: undefined,
            }))
        : await store
            .transition(options.runId, 'failed', {
              heldBy: agentId,
              patch: { status_reason: reason, completed_at: now },
            })
            .catch((error: unknown) => ({
              ok: false as const,
              message: describeError(error).error,
              current: undefined,
            }));
      if (written.ok) break;
      const waiting =
        'current' in written && (written.current === 'launching' || written.current === 'pending');
      if (!waiting || clock.now() > deadline) {
        logger.error('could not record the one-shot result', { detail: written.message });
        break;
      }
      await sleep(250);
    }
    logger.info(reason);
    await finish(completed ? EXIT.ok : EXIT.fault, reason);
    return handle;
  }

  // ---- Trading modes: dry-run / live ----
  const connect = (endpoint: FreqtradeEndpoint) => {
    client = new FreqtradeClient(endpoint, {
      ...(ftFetch === undefined ? {} : { fetch: ftFetch }),
      timeoutMs,
    });
    clientStartedAt = clock.now();
    apiAnsweredSinceStart = false;
    lastCommand = null;
  };
  if (options.attach !== undefined) {
    connect({ ...options.attach });
    logger.info('attached to a running freqtrade', { url: options.attach.url });
  } else {
    supervisor = new FreqtradeSupervisor({
      command: options.freqtradeCmd,
      workDir,
      ...(options.tradeDbUrl === undefined ? {} : { tradeDbUrl: options.tradeDbUrl }),
      config: loaded.config,
      env: freqtradeEnv,
      spawn,
      logger,
      clock,
      backoffMaxMs: options.restartBackoffMaxS * 1000,
      initialState,
      onStarted: (endpoint) => {
        connect(endpoint);
        // Poll soon after a (re)start, so a latched pause is re-applied without waiting for the interval.
        void riskPoll();
      },
    });
    const started = supervisor;
    cleanups.push(() => started.stop(options.stopTimeoutS * 1000));
    try {
      await supervisor.start();
    } catch (error) {
      return failStart(EXIT.fault, `freqtrade could not be started: ${describeError(error).error}`, true);
    }
  }
  phase = 'running';
  every('risk poll', () => options.riskPollIntervalS * 1000, riskPoll);
  heartbeatLoop();
  controlLoop();
  void riskPoll().then(() => sendHeartbeat('started'));
  return handle;
};
