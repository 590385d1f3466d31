import type { ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { StopOutcome } from '../../shared/domain/agent-report';
import type { BacktestSummary } from '../../shared/domain/backtest-summary';
import type { Heartbeat } from '../../shared/domain/heartbeat';
import { snapshotEveryMsFor } from '../../shared/domain/heartbeat';
import { isTerminal, type Session, type TradingMode } from '../../shared/domain/session';
import type { SessionStore, TransitionResult } from '../../shared/domain/session-store';
import { readBacktestSummary } from './backtest-summary-file';
import type { Booted } from './bootstrap';
import { registerTrainedModel } from './config/freqai-model';
import { isPlainObject } from './config/merge';
import { MlflowRestRegistrar, type ModelRegistrar } from './config/mlflow-writer';
import type { AgentOptions } from './env';
import { userDataDirFor, writeFreqtradeConfig } from './freqtrade/config-writer';
import { runOneShot, type SpawnFn } from './freqtrade/supervisor';
import type { HealthVerdict } from './health-server';
import { type HeartbeatMode, type HeartbeatOutcome, HeartbeatReporter, historyEveryMsFor } from './heartbeat';
import type { StopCause } from './lifecycle';
import { describeError } from './logger';
import { MetricsCollector } from './metrics';
import { createResultStore, type ResultStore } from './results';
import { RiskMonitor } from './risk-monitor';
import type { AgentRun, AgentRuntime, AgentStatus } from './runtime';
import type { StopPorts } from './stop';

export interface OneShotRunDeps {
  store: SessionStore;
  spawn: SpawnFn;
  freqtradeEnv: Record<string, string>;
  workDir: string;
  resultStore?: ResultStore;
  /** Where a train run registers its model (default: MLflow's REST API at MLFLOW_TRACKING_URI). */
  registrar?: ModelRegistrar;
}

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/**
 * A train run's models become registry versions (config/freqai-model.ts registerTrainedModel). A run that
 * trained but could not register is failed with why: its results are stored, the registry is not changed.
 */
const registerTrainResult = async (
  options: AgentOptions,
  loaded: Booted['loaded'],
  deps: OneShotRunDeps,
  freqaiName: string,
): Promise<{ ok: boolean; detail: string }> => {
  if (deps.registrar === undefined && options.mlflow.uri.startsWith('file://')) {
    return { ok: true, detail: 'the file registry takes no new versions: the model stays in the results' };
  }
  const freqai = isPlainObject(loaded.config.freqai) ? loaded.config.freqai : {};
  try {
    const userDataDir = await userDataDirFor(loaded.config, deps.workDir, process.cwd());
    const registration = await registerTrainedModel({
      registrar:
        deps.registrar ??
        new MlflowRestRegistrar({
          trackingUri: options.mlflow.uri,
          ...(options.mlflow.token === undefined ? {} : { token: options.mlflow.token }),
          ...(options.mlflow.username === undefined ? {} : { username: options.mlflow.username }),
          ...(options.mlflow.password === undefined ? {} : { password: options.mlflow.password }),
        }),
      modelDir: join(userDataDir, 'models', String(freqai.identifier)),
      freqaiName,
      strategy: options.strategy,
      runId: options.runId,
      strategyTags: loaded.modelVersion.tags,
    });
    return {
      ok: true,
      detail: `registered ${registration.freqai.name} v${registration.freqai.version} (${registration.files} files, artifact_sha256 ${registration.digest.slice(0, 12)}) and ${registration.strategy.name} v${registration.strategy.version} (status testing)`,
    };
  } catch (error) {
    return {
      ok: false,
      detail: `the trained model could not be registered: ${String(describeError(error).error)}`,
    };
  }
};

export const oneShotArgs = (
  mode: TradingMode,
  configPath: string,
  config: Record<string, unknown>,
  marketDataDir?: string,
): string[] => {
  // Freqtrade 2026.9 ignores a `datadir` in the config file (it derives it from user_data_dir); only the flag counts.
  const data = marketDataDir === undefined ? [] : ['--datadir', marketDataDir];
  switch (mode) {
    case 'backtest':
      return ['backtesting', '--config', configPath, '--export', 'trades', ...data];
    case 'hyperopt':
      return ['hyperopt', '--config', configPath, ...data];
    case 'train': {
      // FreqAI trains during a backtest (seed §5); the model class comes from the config.
      const model = typeof config.freqaimodel === 'string' ? ['--freqaimodel', config.freqaimodel] : [];
      return ['backtesting', '--config', configPath, ...model, ...data];
    }
    default:
      return ['trade', '--config', configPath];
  }
};

/** Under the user_data_dir the config writer gave Freqtrade (the work folder's when the image has none). */
const resultLocationOf = (mode: TradingMode, userDataDir: string): string => {
  const folder = mode === 'hyperopt' ? 'hyperopt_results' : mode === 'train' ? 'models' : 'backtest_results';
  return resolve(userDataDir, folder);
};

/** backtest / hyperopt / train: one Freqtrade command whose exit code (and stored results) decide the end. */
export const createOneShotRun = (
  options: AgentOptions,
  runtime: AgentRuntime,
  booted: Booted,
  deps: OneShotRunDeps,
): AgentRun => {
  const { clock, logger, agentId } = runtime;
  const { store } = deps;
  const { session, loaded } = booted;
  let desired = session.desired_state;
  let state: 'running' | 'completed' | 'failed' = 'running';
  let child: ChildProcess | undefined;
  const collector = new MetricsCollector({ clock, loopStaleAfterMs: 60_000 });
  const risk = new RiskMonitor(session.risk_limits, session.risk, session.desired_state);
  const lastSnapshot = session.risk?.snapshot ?? null;
  const stopping = () => runtime.phase() === 'stopping' || runtime.phase() === 'done';
  /** What the run's end writes, decided once the command is over. */
  let result:
    | { completed: boolean; reason: string; location: string; summary?: BacktestSummary | undefined }
    | undefined;

  const build = (seq: number, at: string): Heartbeat => ({
    run_id: options.runId,
    agent_id: agentId,
    seq,
    at,
    metrics: collector.metrics(),
    health: {
      cpu_percent: 0,
      memory_mb: 0,
      exchange_connected: false,
      last_trade_at: null,
      freqtrade_state: state === 'running' ? 'running' : 'stopped',
      last_process_at: null,
      freqtrade_restarts: 0,
      monitor_failures: 0,
    },
    risk: risk.state(lastSnapshot),
    open_trades: [],
  });
  const heartbeats = new HeartbeatReporter({
    store,
    clock,
    logger,
    strategyId: options.strategyId,
    initialSeq: session.heartbeat_seq,
    build,
    historyEveryMs: historyEveryMsFor(options.heartbeatIntervalS),
    snapshotEveryMs: snapshotEveryMsFor(options.heartbeatIntervalS),
  });
  const stop = (cause: StopCause, why: string) => runtime.stop(cause, why);

  const onSession = async (fresh: Session) => {
    if (fresh.agent_id !== agentId) {
      const message = `session now held by ${fresh.agent_id ?? '(none)'}`;
      await stop({ kind: 'fenced', reason: 'superseded', message }, `fenced: ${message}`);
      return;
    }
    if (isTerminal(fresh.status)) {
      const message = `session is ${fresh.status}`;
      await stop({ kind: 'fenced', reason: 'terminal', message }, `fenced: ${message}`);
      return;
    }
    desired = fresh.desired_state;
    if (desired === 'stopped') await stop({ kind: 'one_shot_stop' }, 'one-shot stopped by the operator');
  };
  const sendHeartbeat = async (
    reason: string,
    mode: HeartbeatMode = 'snapshot',
  ): Promise<HeartbeatOutcome> => {
    const outcome = await heartbeats.send(reason, mode);
    if (stopping()) return outcome;
    if (outcome.kind === 'ok' && outcome.session !== null) await onSession(outcome.session);
    else if (outcome.kind === 'fenced')
      await stop(
        { kind: 'fenced', reason: outcome.reason, message: outcome.message },
        `fenced: ${outcome.message}`,
      );
    return outcome;
  };

  /** `completed` may only follow `running`: the launch workflow marks running on our first heartbeat. */
  const writeResult = async (outcome: StopOutcome) => {
    if (result === undefined) return;
    const { completed, reason, location, summary } = result;
    const now = new Date(clock.now()).toISOString();
    const deadline = clock.now() + 60_000;
    for (;;) {
      const written: TransitionResult | { ok: false; message: string; current: undefined } = await (completed
        ? store.transition(options.runId, 'completed', {
            from: ['running'],
            heldBy: agentId,
            patch: {
              status_reason: reason,
              completed_at: now,
              result_s3_path: location,
              stop_outcome: outcome,
              ...(summary === undefined ? {} : { backtest_summary: summary }),
            },
          })
        : store.transition(options.runId, 'failed', {
            heldBy: agentId,
            patch: { status_reason: reason, completed_at: now, stop_outcome: outcome },
          })
      ).catch((error: unknown) => ({
        ok: false as const,
        message: String(describeError(error).error),
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
  };

  const ports: StopPorts = {
    now: () => clock.now(),
    trades: false,
    freqtradeState: () => (state === 'running' ? 'running' : 'stopped'),
    openTradeIds: () => [],
    refresh: async () => {},
    command: async () => ({ ok: false, detail: 'one-shot: no trading API' }),
    flatten: async () => [],
    stopProcess: async () => 'not_running',
    killOneShot: () => {
      child?.kill('SIGTERM');
    },
    heartbeat: async (kind) => {
      await heartbeats.send(kind);
    },
    writeFinal: async (outcome, status) => {
      if (status === 'result') {
        await writeResult(outcome);
        return;
      }
      await store
        .transition(options.runId, 'stopped', {
          from: ['stopping'],
          heldBy: agentId,
          patch: { stop_outcome: outcome },
        })
        .catch(() => undefined);
    },
  };
  runtime.setStopPorts(ports);

  return {
    status: (): AgentStatus => ({
      agentId,
      phase: runtime.phase(),
      desiredState: desired,
      freqtradeState: state === 'running' ? 'running' : 'stopped',
      riskStep: null,
      failClosed: false,
      heartbeatsSent: heartbeats.sent,
      restarts: 0,
      monitorFailures: 0,
      freqtradeUrl: undefined,
    }),
    health: (): HealthVerdict => {
      const reasons: string[] = [];
      if (runtime.phase() !== 'running') reasons.push(`agent is ${runtime.phase()}`);
      if (!heartbeats.lastOk) reasons.push('last heartbeat did not succeed');
      return {
        healthy: reasons.length === 0,
        reasons,
        details: { run_id: options.runId, freqtrade_state: state, risk: null, fail_closed: false },
      };
    },
    start: async () => {
      runtime.enter('running');
      const written = await writeFreqtradeConfig(deps.workDir, loaded.config, 'running');
      const args = oneShotArgs(options.tradingMode, written.path, loaded.config, options.marketDataDir);
      runtime.every(
        'heartbeat',
        () => options.heartbeatIntervalS * 1000,
        () => sendHeartbeat('interval', 'cadence'),
      );
      runtime.every(
        'control poll',
        () => options.controlPollIntervalS * 1000,
        async () => {
          if (stopping()) return;
          const fresh = await store.get(options.runId).catch((error: unknown) => {
            logger.warn('control poll failed', describeError(error));
            return null;
          });
          if (fresh === null) return;
          if (fresh === undefined) {
            const message = `session ${options.runId} is gone`;
            await stop({ kind: 'fenced', reason: 'not_found', message }, `fenced: ${message}`);
            return;
          }
          await onSession(fresh);
        },
      );
      void sendHeartbeat('started');
      const exited = await runOneShot(
        {
          command: options.freqtradeCmd,
          workDir: deps.workDir,
          env: deps.freqtradeEnv,
          spawn: deps.spawn,
          logger,
        },
        args,
        (spawned) => {
          child = spawned;
        },
      );
      const succeeded = exited.code === 0;
      state = succeeded ? 'completed' : 'failed';
      // Stopped by the operator, fenced or SIGTERM: that stop plan ends the agent.
      if (stopping()) return;
      // The container's disk goes with the task: results count only once they are stored outside it.
      // Read before the results leave the container: the promotion gate's evidence (seed §6 backtest record).
      const summary =
        succeeded && options.tradingMode === 'backtest'
          ? await readBacktestSummary(
              resultLocationOf('backtest', await userDataDirFor(loaded.config, deps.workDir, process.cwd())),
              options.strategy,
            )
          : undefined;
      let location = resultLocationOf(
        options.tradingMode,
        await userDataDirFor(loaded.config, deps.workDir, process.cwd()),
      );
      let unstored: string | undefined;
      if (succeeded) {
        try {
          const results = deps.resultStore ?? (await createResultStore(options.resultsUri));
          location = await results.publish(location, options.runId);
        } catch (error) {
          unstored = error instanceof Error ? error.message : String(error);
        }
      }
      let completed = succeeded && unstored === undefined;
      let reason = completed
        ? `freqtrade ${args[0]} completed; results in ${location}`
        : succeeded
          ? `freqtrade ${args[0]} completed but its results could not be stored: ${unstored}`
          : `freqtrade ${args[0]} exited with ${exited.code === null ? `signal ${exited.signal}` : `code ${exited.code}`}`;
      if (completed && loaded.freqaiTrainTarget !== null) {
        const registered = await registerTrainResult(options, loaded, deps, loaded.freqaiTrainTarget);
        completed = registered.ok;
        reason = registered.ok ? `${reason}; ${registered.detail}` : `${reason}, but ${registered.detail}`;
      }
      result = { completed, reason, location, summary };
      logger.info(reason);
      await stop({ kind: 'one_shot_done', succeeded: completed }, reason);
    },
  };
};
