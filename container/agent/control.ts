import type { RiskAction } from '../../shared/domain/risk';
import type { DesiredState, FreqtradeState } from '../../shared/domain/session';

/** The state Freqtrade must be in; `stopped` here is the risk ladder's stop, not the session's end. */
export type FreqtradeTarget = 'running' | 'paused' | 'stopped';

export interface TargetInputs {
  desired: DesiredState;
  riskStep: RiskAction | null;
  /** No successful heartbeat for too long: nobody can see us, so no new entries. */
  failClosed: boolean;
}

/** Most restrictive wins: a risk latch or a blind control plane overrides the operator's `running`. */
export const targetOf = ({ desired, riskStep, failClosed }: TargetInputs): FreqtradeTarget => {
  if (desired === 'stopped' || riskStep === 'stop') return 'stopped';
  if (riskStep !== null || failClosed || desired === 'paused') return 'paused';
  return 'running';
};

/** The REST call that moves Freqtrade from `observed` towards `target`, or null when it is there. */
export const actionFor = (
  observed: FreqtradeState,
  target: FreqtradeTarget,
): 'start' | 'pause' | 'stop' | null => {
  if (observed === 'unknown') return target === 'running' ? null : target === 'paused' ? 'pause' : 'stop';
  if (observed === target) return null;
  if (target === 'running') return 'start';
  return target === 'paused' ? 'pause' : 'stop';
};

/**
 * How a Freqtrade stops new entries, read from its version (`/show_config` or `/version`): `pause` from
 * 2025.4 (a PAUSED state and /pause, which also starts a stopped bot in PAUSED), `stopentry` before
 * (/stopentry sets max_open_trades to 0, the state stays RUNNING, only /reload_config undoes it).
 */
export type FreqtradeEra = 'pause' | 'stopentry' | 'unknown';

/** The first release with PAUSED and /pause. */
const PAUSE_ERA_FROM = { year: 2025, month: 4 } as const;

/** Freqtrade versions are CalVer `YYYY.M` (`2025.6`, `2024.12`, `2025.4-dev-…`); anything else is unknown. */
export const eraOfVersion = (version: string | undefined | null): FreqtradeEra => {
  const match = /^(\d{4})\.(\d{1,2})(?:\D|$)/.exec(version ?? '');
  if (match === null) return 'unknown';
  const year = Number(match[1]);
  const month = Number(match[2]);
  const pauseEra =
    year > PAUSE_ERA_FROM.year || (year === PAUSE_ERA_FROM.year && month >= PAUSE_ERA_FROM.month);
  return pauseEra ? 'pause' : 'stopentry';
};

export interface ShutdownInputs {
  /** Freqtrade's state at the latest poll. */
  observed: FreqtradeState;
  /** The state Freqtrade must be in now (`stopped` when a risk stop is latched or the session stops). */
  target: FreqtradeTarget;
}

/**
 * The one command SIGTERM sends before the agent goes (entries off, whatever happens next). Never /pause
 * to a bot that is, or must stay, stopped: since 2025.4 /pause starts a stopped bot in PAUSED, which
 * would undo a latched risk stop of an attached bot. A bot already paused needs nothing.
 */
export const shutdownCommandFor = ({ observed, target }: ShutdownInputs): 'pause' | 'stop' | null => {
  if (observed === 'stopped') return null;
  if (target === 'stopped') return 'stop';
  return observed === 'paused' ? null : 'pause';
};
