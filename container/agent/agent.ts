import { spawn as nodeSpawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { hostname as osHostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Clock, systemClock } from '../../shared/domain/clock';
import { isServiceMode } from '../../shared/domain/session';
import type { SessionStore } from '../../shared/domain/session-store';
import { bootstrap } from './bootstrap';
import type { ConfigSource } from './config/config-source';
import type { ModelRegistry } from './config/mlflow';
import { EXIT } from './constants';
import type { AgentOptions } from './env';
import type { SpawnFn } from './freqtrade/supervisor';
import { startHealthServer } from './health-server';
import type { HttpFetch, HttpStream } from './http';
import { type AgentLogger, createLogger, describeError, Redactor } from './logger';
import { createOneShotRun } from './one-shot-run';
import type { ResultStore } from './results';
import { type AgentStatus, createRuntime } from './runtime';
import { freqtradeCredentialEnv, type SecretSource } from './secrets';
import { createServiceRun } from './service-run';

export type { AgentStatus } from './runtime';

/** Everything the agent talks to, injectable so tests run it in-process without monkey-patching. */
export interface AgentDeps {
  clock?: Clock;
  /** MLflow calls (default: node:http(s), see http.ts). */
  mlflowHttp?: HttpStream;
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
  /** Waits between start-up retries (default: a timer); tests pass one that advances their clock. */
  sleep?: (ms: number) => Promise<void>;
}

export interface AgentHandle {
  /** The exit code, once the agent has finished. */
  readonly done: Promise<number>;
  readonly healthUrl: string | undefined;
  /** What SIGTERM does: pause entries, last heartbeat, stop Freqtrade, finish within STOP_TIMEOUT_S. */
  shutdown(reason?: string): Promise<number>;
  status(): AgentStatus;
}

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

/**
 * The container agent (DESIGN.md §1, seed §3/§4/§8): bootstrap (session, credentials, config, claim),
 * then a service run (dry-run/live: supervise Freqtrade, heartbeats, local risk control, desired state)
 * or a one-shot run (backtest/hyperopt/train). Every way it ends is one stop plan (lifecycle.ts).
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
  const store = deps.store ?? (await createDefaultStore(options, clock));
  const runtime = createRuntime({
    agentId,
    clock,
    logger,
    agentOptions: options,
    store,
    ...(deps.exit === undefined ? {} : { exit: deps.exit }),
  });
  let status = (): AgentStatus => ({
    agentId,
    phase: runtime.phase(),
    desiredState: undefined,
    freqtradeState: 'unknown',
    riskStep: null,
    failClosed: false,
    heartbeatsSent: 0,
    restarts: 0,
    monitorFailures: 0,
    freqtradeUrl: undefined,
  });
  const handle: AgentHandle = {
    done: runtime.done,
    healthUrl: undefined,
    shutdown: async (reason = 'shutdown requested') => {
      await runtime.stop({ kind: 'sigterm', reason }, reason);
      return runtime.done;
    },
    status: () => status(),
  };
  const failStart = async (code: number, message: string, markFailed: boolean) => {
    await runtime.stop({ kind: 'start_failed', code, message, markFailed }, message);
    return handle;
  };

  const workDir = options.workDir ?? join(tmpdir(), `tradai-${options.runId}`);
  const boot = await bootstrap(options, agentId, {
    workDir,
    store,
    clock,
    logger,
    redactor,
    ...(deps.mlflowHttp === undefined ? {} : { mlflowHttp: deps.mlflowHttp }),
    ...(deps.registry === undefined ? {} : { registry: deps.registry }),
    ...(deps.configSource === undefined ? {} : { configSource: deps.configSource }),
    ...(deps.secrets === undefined ? {} : { secrets: deps.secrets }),
    ...(deps.sleep === undefined ? {} : { sleep: deps.sleep }),
  });
  if (!boot.ok) return failStart(boot.refusal.code, boot.refusal.message, boot.refusal.markFailed);
  const { booted } = boot;
  runtime.setPreviousTrades(booted.before.open_trades.map((trade) => trade.trade_id));

  const spawn: SpawnFn = deps.spawn ?? nodeSpawn;
  const freqtradeEnv = {
    ...freqtradeCredentialEnv(booted.credentials),
    TRADAI_RUN_ID: options.runId,
    TRADAI_STRATEGY_ID: options.strategyId,
    ARCTICDB_S3_URI: options.arcticdbS3Uri,
  };
  const run = isServiceMode(options.tradingMode)
    ? createServiceRun(options, runtime, booted, {
        store,
        spawn,
        freqtradeEnv,
        workDir,
        ...(deps.freqtradeFetch === undefined ? {} : { freqtradeFetch: deps.freqtradeFetch }),
      })
    : createOneShotRun(options, runtime, booted, {
        store,
        spawn,
        freqtradeEnv,
        workDir,
        ...(deps.resultStore === undefined ? {} : { resultStore: deps.resultStore }),
      });

  const onSignal = (signal: NodeJS.Signals) => {
    void handle.shutdown(`${signal} received`);
  };
  deps.signals?.on('SIGTERM', onSignal);
  deps.signals?.on('SIGINT', onSignal);
  runtime.onCleanup(() => {
    deps.signals?.off('SIGTERM', onSignal);
    deps.signals?.off('SIGINT', onSignal);
  });
  runtime.onCleanup(() => runtime.stopLoops());

  const health = await startHealthServer(options.health.host, options.health.port, () => run.health()).catch(
    (error: unknown) => {
      logger.error('health endpoint could not start', describeError(error));
      return undefined;
    },
  );
  if (health === undefined)
    return failStart(
      EXIT.fault,
      `health endpoint could not bind ${options.health.host}:${options.health.port}`,
      false,
    );
  runtime.onCleanup(() => health.close());
  Object.defineProperty(handle, 'healthUrl', { value: health.url });
  status = () => run.status();

  // A stop (SIGTERM) may have come while the health endpoint started: nothing is to start then.
  if (!runtime.finished) await run.start();
  return handle;
};
