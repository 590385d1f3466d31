import type { VersionSelection } from './handoff';
import { isTerminal, type Session } from './session';

/**
 * Rolling a running strategy to another version (issue 13 items 2 and 3): the pure decisions the API and
 * the launch workflow's steps execute (the phases and their transitions are in handoff.ts). Strategy lock
 * and account leases pass to the successor in its claim transaction (DynamoSessionStore.claimSession).
 */

export const selectionOf = (session: Session): VersionSelection => ({
  model_version: session.model_version ?? null,
  alias: session.alias,
  stage: session.stage,
});

/** A running strategy can be rolled while an agent trades it and no other handoff is under way. */
export type HandoffRefusal =
  | { ok: false; reason: 'no_active_session'; message: string }
  | { ok: false; reason: 'not_rollable'; message: string }
  | { ok: false; reason: 'handoff_in_progress'; successorRunId: string; message: string };

export const ROLLABLE_STATUSES = ['running', 'paused'] as const;

export const decideHandoffStart = (active: Session | undefined): { ok: true } | HandoffRefusal => {
  if (active === undefined || isTerminal(active.status))
    return { ok: false, reason: 'no_active_session', message: 'the strategy has no active session to roll' };
  if ((active.superseded_by ?? null) !== null) {
    const successorRunId = active.superseded_by as string;
    return {
      ok: false,
      reason: 'handoff_in_progress',
      successorRunId,
      message: `session ${active.run_id} is already being handed off to ${successorRunId}`,
    };
  }
  if (active.trading_mode !== 'live' && active.trading_mode !== 'dry-run')
    return { ok: false, reason: 'not_rollable', message: `a ${active.trading_mode} run is not rolled` };
  if (!(ROLLABLE_STATUSES as readonly string[]).includes(active.status))
    return {
      ok: false,
      reason: 'not_rollable',
      message: `session ${active.run_id} is ${active.status}; only a running or paused session is rolled`,
    };
  return { ok: true };
};

export interface PredecessorWaitPolicy {
  /** From the retire request: the agent's own stop (plus wait_flat) must be done by then. */
  graceMs: number;
  /** After the forced stop: the container must be gone by then (the task's StopTimeout and a margin). */
  forcedGoneMs: number;
}

/**
 * After the forced stop the platform still lets the container drain for the task's StopTimeout before it
 * kills it (ECS's SIGKILL), then reports it gone: this margin covers that report.
 */
export const FORCED_STOP_MARGIN_S = 30;

/**
 * The agent's own stop gets the stop grace; a forced stop waits for the platform's kill (the task's
 * StopTimeout) and its report. Giving up any sooner would fail a handoff whose old container is about to
 * be killed, leaving the strategy with no session at all.
 */
export const predecessorWaitPolicyOf = (timings: {
  stopGraceS: number;
  taskStopTimeoutS: number;
}): PredecessorWaitPolicy => ({
  graceMs: timings.stopGraceS * 1000,
  forcedGoneMs: (timings.taskStopTimeoutS + FORCED_STOP_MARGIN_S) * 1000,
});

/**
 * How long a handoff's successor waits for its predecessor, from the handoff's request: the agent's own
 * stop (the grace plus wait_flat) by `stopByMs`, then the container gone after a forced stop by `goneByMs`.
 * The launch step decides on it and the sweep's launch limit includes it: the two must never disagree,
 * or the sweep fails a successor whose old container the platform is still about to kill.
 */
export const predecessorDeadlinesOf = (
  policy: PredecessorWaitPolicy,
  waitFlatS: number,
): { stopByMs: number; goneByMs: number } => {
  const stopByMs = policy.graceMs + waitFlatS * 1000;
  return { stopByMs, goneByMs: stopByMs + policy.forcedGoneMs };
};

export type PredecessorWait =
  /** Both over and gone: the successor's container may start. */
  | { type: 'gone' }
  | { type: 'wait' }
  /** The agent did not finish its stop within the grace: stop the container, as the sweep would. */
  | { type: 'force_stop'; reason: string }
  /** Still not gone after the forced stop: the successor must never start next to it. */
  | { type: 'give_up'; reason: string };

/**
 * Whether the successor may start: only once the predecessor's session is over and its container is gone
 * (never two Freqtrades on one trade store or account). Pure: the step reads, this decides, the step acts.
 */
export const decidePredecessorWait = (input: {
  predecessor: Pick<Session, 'status' | 'container'> | undefined;
  containerGone: boolean;
  elapsedMs: number;
  forced: boolean;
  policy: PredecessorWaitPolicy;
  waitFlatS: number;
}): PredecessorWait => {
  const { predecessor, containerGone, elapsedMs, forced, policy } = input;
  const over = predecessor === undefined || isTerminal(predecessor.status);
  if (over && containerGone) return { type: 'gone' };
  const { stopByMs, goneByMs } = predecessorDeadlinesOf(policy, input.waitFlatS);
  if (!forced && elapsedMs > stopByMs)
    return {
      type: 'force_stop',
      reason: `handoff: the previous session did not stop within ${Math.round(stopByMs / 1000)} s; its container is stopped`,
    };
  if (forced && elapsedMs > goneByMs)
    return {
      type: 'give_up',
      reason: `handoff: the previous container is still running ${Math.round(goneByMs / 1000)} s after the stop was asked; the new version is not started next to it`,
    };
  return { type: 'wait' };
};

export type LaunchFailureDecision =
  /**
   * Start the predecessor's version again as the failed run's successor; lock, leases and trades pass from
   * whichever of the two holds them (`lockHolder` holds the lock now).
   */
  | {
      type: 'rollback';
      supersedes: string;
      lockHolder: string;
      selection: VersionSelection;
      predecessor: Session;
    }
  | { type: 'no_rollback'; why: string };

/**
 * A successor that failed to come up is rolled back to its predecessor's version, unless it was itself a
 * rollback (no loops) or the predecessor is not over (it may still trade: nothing starts beside it).
 * The rollback supersedes the failed run; its claim takes the leases from the failed run if that one's
 * agent claimed, else from the predecessor (DynamoSessionStore's handoff chain).
 */
export const decideLaunchFailure = (input: {
  failed: Session;
  predecessor: Session | undefined;
  lockHolder: string | null;
}): LaunchFailureDecision => {
  const { failed, predecessor, lockHolder } = input;
  const handoff = failed.handoff ?? null;
  if (handoff === null) return { type: 'no_rollback', why: 'not a handoff' };
  if (handoff.kind === 'rollback')
    return { type: 'no_rollback', why: 'a failed rollback is not rolled back' };
  // An operator who stopped the new version (or the strategy) during the handoff wants nothing started.
  if (failed.desired_state === 'stopped')
    return { type: 'no_rollback', why: 'the operator stopped it during the handoff' };
  if (predecessor === undefined) return { type: 'no_rollback', why: 'the previous session is gone' };
  // Over is handed off in effect, whatever phase the failed run's record reached (its agent writes the end
  // only after Freqtrade stopped): nothing rolled back would leave the strategy with no session at all.
  // The lock then is still the predecessor's (never passed); the rollback's launch waits for its container.
  if (!isTerminal(predecessor.status))
    return { type: 'no_rollback', why: 'the previous session was not handed off: it still runs' };
  if (lockHolder !== failed.run_id && lockHolder !== predecessor.run_id)
    return { type: 'no_rollback', why: `the strategy lock is held by ${lockHolder ?? 'nobody'}` };
  return {
    type: 'rollback',
    supersedes: failed.run_id,
    lockHolder,
    selection: selectionOf(predecessor),
    predecessor,
  };
};

/**
 * The handoff as the control plane sees it: the predecessor's stop (written once its Freqtrade stopped) to the
 * successor's first heartbeat. The bench also measures Freqtrade's own gap from the simulator's order log.
 */
export const handoffWindowMs = (predecessor: Session, successor: Session): number | undefined => {
  const gone = predecessor.completed_at ?? predecessor.status_changed_at;
  const first = successor.started_at;
  if (!isTerminal(predecessor.status) || first === null || gone === undefined) return undefined;
  return Date.parse(first) - Date.parse(gone);
};
