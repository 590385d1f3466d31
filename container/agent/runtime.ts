import type { StopOutcome } from '../../shared/domain/agent-report';
import type { Clock } from '../../shared/domain/clock';
import type { RiskAction } from '../../shared/domain/risk';
import type { DesiredState } from '../../shared/domain/session';
import type { SessionStore } from '../../shared/domain/session-store';
import { EXIT } from './constants';
import type { AgentOptions } from './env';
import type { HealthVerdict } from './health-server';
import { type AgentPhase, canEnterPhase, exitCodeOf, planFor, type StopCause } from './lifecycle';
import { type AgentLogger, describeError } from './logger';
import { executeStopPlan, type StopPorts } from './stop';

export interface AgentStatus {
  agentId: string;
  phase: AgentPhase;
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

/** A service run (dry-run/live) or a one-shot run: what the composition in agent.ts drives. */
export interface AgentRun {
  status(): AgentStatus;
  health(): HealthVerdict;
  /** Starts Freqtrade and the loops; returns once running (a one-shot run: once its command is over). */
  start(): Promise<void>;
}

/** Ports for a stop before any run exists (bootstrap failures): nothing to pause, nothing to kill. */
const idlePorts = (clock: Clock, previousTradeIds: () => number[]): StopPorts => ({
  now: () => clock.now(),
  trades: false,
  freqtradeState: () => 'unknown',
  openTradeIds: previousTradeIds,
  refresh: async () => {},
  command: async () => ({ ok: false, detail: 'no freqtrade' }),
  flatten: async () => null,
  stopProcess: async () => 'not_running',
  killOneShot: () => {},
  heartbeat: async () => {},
  writeFinal: async () => {},
});

/**
 * What both runs (service and one-shot) share: the phase machine, the agent's timers, the one stop
 * routine and the end of the process. A run provides the stop ports; the runtime decides the plan.
 */
export interface AgentRuntime {
  readonly agentId: string;
  readonly clock: Clock;
  readonly logger: AgentLogger;
  readonly done: Promise<number>;
  phase(): AgentPhase;
  /** Moves along PHASE_TRANSITIONS; false (and nothing changes) when the table does not allow it. */
  enter(to: AgentPhase): boolean;
  readonly finished: boolean;
  /** Runs `task` every `intervalMs()` until the agent is done; a failing task is logged, never fatal. */
  every(name: string, intervalMs: () => number, task: () => Promise<unknown>): void;
  stopLoops(): void;
  onCleanup(cleanup: () => Promise<void> | void): void;
  /** Installed by the run: what the stop plans act on. */
  setStopPorts(ports: StopPorts): void;
  setPreviousTrades(ids: number[]): void;
  /**
   * The one stop routine: picks the plan for `cause`, executes it once (a second stop while one is under
   * way waits for it), and ends the agent when the plan says so. Returns the outcome.
   */
  stop(cause: StopCause, why: string): Promise<StopOutcome | undefined>;
  /** Ends the agent with `code` (cleanups run in reverse order), once. */
  finish(code: number, why: string): Promise<void>;
  lastStop(): StopOutcome | undefined;
}

export const createRuntime = (options: {
  agentId: string;
  clock: Clock;
  logger: AgentLogger;
  agentOptions: AgentOptions;
  store: SessionStore;
  exit?: (code: number) => void;
}): AgentRuntime => {
  const { clock, logger, agentOptions, store } = options;
  let phase: AgentPhase = 'starting';
  let finished = false;
  let resolveDone: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => {
    resolveDone = resolve;
  });
  const cleanups: (() => Promise<void> | void)[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let ports: StopPorts | undefined;
  let stopping: Promise<StopOutcome | undefined> | undefined;
  let holding: Promise<StopOutcome | undefined> | undefined;
  let last: StopOutcome | undefined;
  /** Trade ids the session showed before this agent: what a start failure leaves open, as far as we know. */
  let previousTradeIds: number[] = [];

  const enter = (to: AgentPhase): boolean => {
    if (!canEnterPhase(phase, to)) return false;
    phase = to;
    return true;
  };
  const stopLoops = () => {
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
  };
  const finish = async (code: number, why: string) => {
    if (finished) return;
    finished = true;
    enter('done');
    logger.info('agent exiting', { code, why });
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        logger.warn('cleanup failed', describeError(error));
      }
    }
    resolveDone(code);
    options.exit?.(code);
  };

  const runtime: AgentRuntime = {
    agentId: options.agentId,
    clock,
    logger,
    done,
    phase: () => phase,
    enter,
    get finished() {
      return finished;
    },
    every(name, intervalMs, task) {
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
    },
    stopLoops,
    onCleanup(cleanup) {
      cleanups.push(cleanup);
    },
    setStopPorts(next) {
      ports = next;
    },
    setPreviousTrades(ids) {
      previousTradeIds = ids.slice(0, 50);
    },
    lastStop: () => last,
    finish,
    stop(cause, why) {
      const plan = planFor(cause);
      const ending = plan.phaseAfter === 'done';
      if (finished) return Promise.resolve(last);
      // One ending stop at a time; a holding stop (risk stop, fail-closed) never preempts an ending one.
      if (stopping !== undefined) return stopping;
      // One holding stop at a time too: a second fail-closed while the first stops the process joins it.
      if (!ending && holding !== undefined) return holding;
      if (ending && !enter('stopping')) return Promise.resolve(last);
      if (!ending && (phase === 'stopping' || phase === 'held')) return Promise.resolve(last);
      const run = async (): Promise<StopOutcome | undefined> => {
        logger.warn('stopping', { plan: plan.name, cause: cause.kind, why });
        if (ending) stopLoops();
        const base = ports ?? idlePorts(clock, () => previousTradeIds);
        // A start failure fails the session (only when the config is at fault) with its reason and outcome.
        const effective: StopPorts =
          cause.kind === 'start_failed'
            ? {
                ...base,
                writeFinal: async (outcome) => {
                  if (!cause.markFailed) return;
                  const result = await store
                    .transition(agentOptions.runId, 'failed', {
                      patch: { status_reason: cause.message.slice(0, 1024), stop_outcome: outcome },
                    })
                    .catch((error: unknown) => ({ ok: false as const, message: describeError(error).error }));
                  if (!result.ok)
                    logger.warn('could not mark the session failed', { detail: result.message });
                },
              }
            : base;
        if (cause.kind === 'start_failed') logger.error(cause.message);
        if (cause.kind === 'fenced')
          logger.error('fenced off by the control plane: stopping trading', {
            reason: cause.reason,
            detail: cause.message,
          });
        const outcome = await executeStopPlan(
          plan,
          effective,
          {
            stopTimeoutMs: agentOptions.stopTimeoutS * 1000,
            flattenTimeoutMs: Math.max(agentOptions.flattenTimeoutS, agentOptions.stopTimeoutS) * 1000,
            awaitFlatMs: cause.kind === 'handoff' && cause.mode === 'wait_flat' ? cause.waitFlatS * 1000 : 0,
            awaitFlatPollMs: Math.min(1000, agentOptions.riskPollIntervalS * 1000),
          },
          why,
        ).catch((error: unknown) => {
          logger.error('stop plan failed', { plan: plan.name, ...describeError(error) });
          return undefined;
        });
        last = outcome ?? last;
        if (outcome !== undefined)
          logger.info('stop outcome', {
            plan: outcome.plan,
            positions: outcome.positions,
            open_trade_ids: outcome.open_trade_ids,
            detail: outcome.detail,
          });
        if (ending) await finish(exitCodeOf(cause, EXIT), why);
        else if (plan.phaseAfter === 'held') enter('held');
        return outcome;
      };
      const promise = run();
      if (ending) stopping = promise;
      else {
        holding = promise;
        void promise.finally(() => {
          holding = undefined;
        });
      }
      return promise;
    },
  };
  return runtime;
};
