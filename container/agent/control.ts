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
