import type { StopOutcome, StopPlanName } from '../../shared/domain/agent-report';
import type { HandoffMode } from '../../shared/domain/handoff';

/**
 * The agent's own lifecycle as data (like shared/domain/transitions.ts for sessions), and the one table
 * of stop plans its single `stop(cause)` routine executes. Pure: no I/O, no clock.
 */
export const AGENT_PHASES = ['starting', 'running', 'held', 'stopping', 'done'] as const;
export type AgentPhase = (typeof AGENT_PHASES)[number];

/**
 * `held`: trading stopped by the agent itself (fail-closed process stop) while it keeps reporting, so the
 * session shows why; it never trades again in this task. `stopping` always ends in `done`.
 */
export const PHASE_TRANSITIONS: Readonly<Record<AgentPhase, readonly AgentPhase[]>> = {
  starting: ['running', 'stopping', 'done'],
  running: ['held', 'stopping', 'done'],
  held: ['stopping', 'done'],
  stopping: ['done'],
  done: [],
};

export const canEnterPhase = (from: AgentPhase, to: AgentPhase): boolean =>
  PHASE_TRANSITIONS[from].includes(to);

/** Why trading ends (or is held down). One cause picks one plan. */
export type StopCause =
  | { kind: 'operator_stop'; flatten: boolean }
  | { kind: 'fenced'; reason: 'not_found' | 'terminal' | 'superseded'; message: string }
  | { kind: 'sigterm'; reason: string }
  | { kind: 'risk_stop' }
  | { kind: 'one_shot_done'; succeeded: boolean }
  | { kind: 'one_shot_stop' }
  | { kind: 'start_failed'; code: number; message: string; markFailed: boolean }
  | { kind: 'fail_closed'; command: 'pause' | 'forceexit' | 'stop'; failure: string }
  | { kind: 'restarts_exhausted'; restarts: number; lastExit: string }
  /** A successor takes over (deploy, restart, rollback): its claim waits for this session to be over. */
  | { kind: 'handoff'; mode: HandoffMode; waitFlatS: number; successor: string };

export interface StopPlan {
  name: StopPlanName;
  /** POST /pause first (skipped when Freqtrade is already stopped: a /pause would start a stopped bot). */
  pause: boolean;
  /** forceexit every open trade and wait, bounded, until none is left. */
  flatten: boolean;
  /** After the pause: wait, bounded (StopBudget.awaitFlatMs), until Freqtrade's own exits closed every trade. */
  awaitFlat: boolean;
  /** POST /stop: Freqtrade's trader stops. */
  stopTrader: boolean;
  /** Stop the Freqtrade process the agent supervises: SIGTERM, then SIGKILL after the bound. */
  stopProcess: boolean;
  /** One-shot modes: end the running Freqtrade command. */
  killOneShot: boolean;
  /** The last heartbeat: `final` (session ends), `shutdown` (the task goes, the session goes on), `report` (stays up). */
  heartbeat: 'final' | 'shutdown' | 'report' | null;
  /** The status this agent writes at the end (held by it), `result` = completed or failed by the run's result. */
  finalStatus: 'stopped' | 'failed' | 'result' | null;
  /** The phase the agent is in afterwards. */
  phaseAfter: 'running' | 'held' | 'done';
  /** Every step runs within the stop budget (STOP_TIMEOUT_S): ECS kills the task after its StopTimeout. */
  bounded: boolean;
  /** What the plan means for open positions, as the README's table says it. */
  positions: string;
}

const plan = (
  name: StopPlanName,
  fields: Omit<StopPlan, 'name' | 'awaitFlat'> & Partial<Pick<StopPlan, 'awaitFlat'>>,
): StopPlan => Object.freeze({ awaitFlat: false, name, ...fields });

export const STOP_PLANS: Readonly<Record<StopPlanName, StopPlan>> = Object.freeze({
  operator_stop: plan('operator_stop', {
    pause: true,
    flatten: false,
    stopTrader: true,
    stopProcess: true,
    killOneShot: false,
    heartbeat: 'final',
    finalStatus: 'stopped',
    phaseAfter: 'done',
    bounded: false,
    positions: 'left open on the exchange, unmanaged; named in stop_outcome (WARNING)',
  }),
  operator_stop_flatten: plan('operator_stop_flatten', {
    pause: true,
    flatten: true,
    stopTrader: true,
    stopProcess: true,
    killOneShot: false,
    heartbeat: 'final',
    finalStatus: 'stopped',
    phaseAfter: 'done',
    bounded: false,
    positions: 'closed at market; any left after the bound are named as flatten_failed (CRITICAL)',
  }),
  fenced: plan('fenced', {
    pause: true,
    flatten: false,
    stopTrader: true,
    stopProcess: true,
    killOneShot: true,
    heartbeat: null,
    finalStatus: null,
    phaseAfter: 'done',
    bounded: false,
    positions: 'left open for the agent that holds the session now (or the session is already over)',
  }),
  sigterm: plan('sigterm', {
    pause: true,
    flatten: false,
    stopTrader: false,
    stopProcess: true,
    killOneShot: true,
    heartbeat: 'shutdown',
    finalStatus: null,
    phaseAfter: 'done',
    bounded: true,
    positions: 'left open for the replacement task, which must find them (startup guard)',
  }),
  risk_stop: plan('risk_stop', {
    pause: true,
    flatten: false,
    stopTrader: true,
    stopProcess: false,
    killOneShot: false,
    heartbeat: 'report',
    finalStatus: null,
    phaseAfter: 'running',
    bounded: false,
    positions:
      'left as the ladder left them (a flatten step before closes them); Freqtrade stays up, stopped',
  }),
  one_shot_done: plan('one_shot_done', {
    pause: false,
    flatten: false,
    stopTrader: false,
    stopProcess: false,
    killOneShot: false,
    heartbeat: 'final',
    finalStatus: 'result',
    phaseAfter: 'done',
    bounded: false,
    positions: 'none (backtest, hyperopt and train never trade)',
  }),
  one_shot_stop: plan('one_shot_stop', {
    pause: false,
    flatten: false,
    stopTrader: false,
    stopProcess: false,
    killOneShot: true,
    heartbeat: 'final',
    finalStatus: 'stopped',
    phaseAfter: 'done',
    bounded: false,
    positions: 'none (one-shot modes never trade)',
  }),
  start_failed: plan('start_failed', {
    pause: false,
    flatten: false,
    stopTrader: false,
    stopProcess: true,
    killOneShot: false,
    heartbeat: null,
    finalStatus: 'failed',
    phaseAfter: 'done',
    bounded: false,
    positions: 'whatever the last heartbeat reported stays open, named in stop_outcome',
  }),
  fail_closed_process_stop: plan('fail_closed_process_stop', {
    pause: false,
    flatten: false,
    stopTrader: false,
    stopProcess: true,
    killOneShot: false,
    heartbeat: 'report',
    finalStatus: null,
    phaseAfter: 'held',
    bounded: false,
    positions: 'left open and unmanaged (no Freqtrade process): CRITICAL, named in health.fail_closed',
  }),
  restarts_exhausted: plan('restarts_exhausted', {
    pause: false,
    flatten: false,
    stopTrader: false,
    stopProcess: true,
    killOneShot: false,
    heartbeat: 'report',
    finalStatus: null,
    phaseAfter: 'held',
    bounded: false,
    positions: 'left open and unmanaged (Freqtrade does not come up): CRITICAL via health.start_failure',
  }),
  handoff: plan('handoff', {
    pause: true,
    flatten: false,
    awaitFlat: true,
    stopTrader: true,
    stopProcess: true,
    killOneShot: false,
    heartbeat: 'final',
    finalStatus: 'stopped',
    phaseAfter: 'done',
    bounded: false,
    positions:
      'carried: left open in the durable trade store for the successor, which manages their exits (wait_flat: closed first, bounded)',
  }),
});

export const planFor = (cause: StopCause): StopPlan => {
  switch (cause.kind) {
    case 'operator_stop':
      return cause.flatten ? STOP_PLANS.operator_stop_flatten : STOP_PLANS.operator_stop;
    case 'fenced':
      return STOP_PLANS.fenced;
    case 'sigterm':
      return STOP_PLANS.sigterm;
    case 'risk_stop':
      return STOP_PLANS.risk_stop;
    case 'one_shot_done':
      return STOP_PLANS.one_shot_done;
    case 'one_shot_stop':
      return STOP_PLANS.one_shot_stop;
    case 'start_failed':
      return STOP_PLANS.start_failed;
    case 'fail_closed':
      return STOP_PLANS.fail_closed_process_stop;
    case 'restarts_exhausted':
      return STOP_PLANS.restarts_exhausted;
    case 'handoff':
      return STOP_PLANS.handoff;
  }
};

/** Open trade ids the agent knows of: `null` when it could not see them (Freqtrade not answering). */
export type KnownTrades = readonly number[] | null;

/**
 * What happened to the open positions, from what was open before the stop and what Freqtrade shows
 * after it. Unknown after a flatten counts as failed: a flatten is only done when seen done.
 */
export const positionsOutcome = (
  stopPlan: Pick<StopPlan, 'flatten'>,
  before: KnownTrades,
  after: KnownTrades,
): Pick<StopOutcome, 'positions' | 'open_trade_ids'> => {
  const ids = (trades: KnownTrades) => [...(trades ?? [])].slice(0, 50);
  if (stopPlan.flatten) {
    if (after === null) return { positions: 'flatten_failed', open_trade_ids: ids(before) };
    if (after.length > 0) return { positions: 'flatten_failed', open_trade_ids: ids(after) };
    return { positions: (before ?? []).length > 0 ? 'flattened' : 'none', open_trade_ids: [] };
  }
  const still = after ?? before;
  return (still ?? []).length > 0
    ? { positions: 'left_open', open_trade_ids: ids(still) }
    : { positions: 'none', open_trade_ids: [] };
};

/** The exit code a plan ends the agent with. */
export const exitCodeOf = (
  cause: StopCause,
  codes: { ok: number; fault: number; fenced: number },
): number => {
  switch (cause.kind) {
    case 'fenced':
      return cause.reason === 'terminal' ? codes.ok : codes.fenced;
    case 'start_failed':
      return cause.code;
    case 'one_shot_done':
      return cause.succeeded ? codes.ok : codes.fault;
    default:
      return codes.ok;
  }
};

/** One line for status_reason: what the stop left on the exchange, in words an operator acts on. */
export const describeOutcome = (outcome: Pick<StopOutcome, 'positions' | 'open_trade_ids'>): string => {
  const ids = outcome.open_trade_ids.join(', ');
  switch (outcome.positions) {
    case 'none':
      return 'no open positions';
    case 'flattened':
      return 'all positions closed (flattened)';
    case 'left_open':
      return `positions left open on the exchange, unmanaged: trades ${ids || '(ids unknown)'}`;
    case 'flatten_failed':
      return `flatten failed: trades ${ids || '(ids unknown)'} still open on the exchange, unmanaged`;
  }
};
