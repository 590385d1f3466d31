import { predecessorDeadlinesOf, predecessorWaitPolicyOf } from './deploy';
import { decideHighLossPause } from './risk';
import type { Session, SessionStatus } from './session';
import type { StrategyLock } from './session-store';
import { heartbeatAgeSeconds, isHeartbeatStale, secondsInStatus } from './staleness';

/**
 * The health sweep's per-session policy as a pure decision (as `classifySessionChange` is for the
 * stream): what the sweep owes a session it read, given the time and the thresholds. The handler only
 * executes the actions, each as a write conditional on the status it read.
 */

export interface SweepPolicy {
  /** A heartbeat older than this marks a running or paused session stale. */
  staleAfterS: number;
  /** A launch (pending or launching) older than this fails: the workflow's own timeout plus a margin. */
  launchLimitS: number;
  /** A stop the agent has not confirmed after this is forced. */
  stopGraceS: number;
  /** The task's StopTimeout: a handoff's successor waits this long (and a margin) for a forced predecessor. */
  taskStopTimeoutS: number;
  /** Platform-wide daily-loss floor (positive amount); below it a running session is auto-paused. */
  highLossPause: number;
}

export type SweepAction =
  /** Publish the session's heartbeat age, exchange connection and daily PnL. */
  | { type: 'emit_metrics' }
  | { type: 'mark_stale'; from: 'running' | 'paused'; reason: string }
  /** `incident` keys the page: one per UTC day, and a new one after each operator resume. */
  | { type: 'high_loss_pause'; floor: number; incident: string }
  | { type: 'fail_launch'; from: 'pending' | 'launching'; reason: string }
  /** Stop the container, then write stopped: the lock follows only once the container is gone. */
  | { type: 'force_stop'; reason: string };

/**
 * The heartbeat index (heartbeat-index: partition hb_shard, sort hb_at, keys only, sparse: only liveness
 * beats carry its keys). A pass reads through it the runs whose heartbeat is older than the threshold, not
 * the fleet.
 */
/** Partition values the index's keys spread over: one GSI partition takes about 1,000 writes a second. */
export const HEARTBEAT_SHARDS = 8;
/**
 * hb_at is the heartbeat time rounded down to a step of this many seconds, so a heartbeat rewrites the
 * index (a delete and a put: its key moves) once per step, not once per heartbeat. A healthy session is
 * read by a pass only when its step began before now - threshold, so the step is at most threshold -
 * interval: 20 s at the defaults (35 - 15), the longest, as each move is 2 WRU on every beat.
 */
export const HEARTBEAT_BUCKET_S = 20;

export const heartbeatShardOf = (runId: string): string => {
  let hash = 0;
  for (let index = 0; index < runId.length; index += 1) hash = (hash * 31 + runId.charCodeAt(index)) >>> 0;
  return String(hash % HEARTBEAT_SHARDS);
};

export const heartbeatBucketOf = (atIso: string, bucketS: number = HEARTBEAT_BUCKET_S): string => {
  const stepMs = bucketS * 1000;
  return new Date(Math.floor(Date.parse(atIso) / stepMs) * stepMs).toISOString();
};

/** Every session silent past the threshold has hb_at before this (hb_at never exceeds its heartbeat). */
export const suspectCutoffOf = (nowMs: number, staleAfterS: number): string =>
  new Date(nowMs - staleAfterS * 1000).toISOString();

/** The port the sweep finds its suspects through. */
export interface SilentSessionFinder {
  /**
   * Run ids whose beat's hb_at is before `cutoffIso`: silent runs, and finished ones until the sweep
   * forgets their beats.
   */
  listSilentSince(cutoffIso: string): Promise<string[]>;
}

/** Statuses a full pass reads, each one GSI query (never a Scan). */
export const SWEPT_STATUSES = [
  'running',
  'paused',
  'stale',
  'launching',
  'pending',
  'stopping',
] as const satisfies readonly SessionStatus[];

/**
 * Statuses every pass reads through the status index besides the suspects: launches and stops in flight,
 * few at any time. Running, paused and stale sessions come through the heartbeat index.
 */
export const IN_FLIGHT_STATUSES = [
  'launching',
  'pending',
  'stopping',
] as const satisfies readonly SessionStatus[];

export const decideSweep = (session: Session, nowMs: number, policy: SweepPolicy): SweepAction[] => {
  switch (session.status) {
    case 'running':
    case 'paused':
    case 'stale': {
      const actions: SweepAction[] = [{ type: 'emit_metrics' }];
      if (session.status !== 'stale' && isHeartbeatStale(session, nowMs, policy.staleAfterS)) {
        const age = Math.round(heartbeatAgeSeconds(session, nowMs) ?? 0);
        actions.push({
          type: 'mark_stale',
          from: session.status,
          reason: `no heartbeat for ${age} s (threshold ${policy.staleAfterS} s)`,
        });
        // A silent session's figures are old: no loss decision on them.
        return actions;
      }
      if (session.status === 'running' && session.desired_state === 'running' && session.metrics !== null) {
        // The loss since the operator's latest resume today (decideHighLossPause), not only since midnight.
        const floor = decideHighLossPause({
          runId: session.run_id,
          floor: policy.highLossPause,
          nowMs,
          risk: session.risk,
          pnlToday: session.metrics.pnl_today,
        });
        if (floor.pause) {
          actions.push({ type: 'high_loss_pause', floor: policy.highLossPause, incident: floor.incident });
        }
      }
      return actions;
    }
    case 'launching':
    case 'pending': {
      const waited = secondsInStatus(session, nowMs);
      // A handoff's successor launches only once its predecessor is gone: the launch step's own bound on
      // that wait (forced stop and the platform's kill included), then the launch limit.
      const handoffS = session.handoff
        ? predecessorDeadlinesOf(predecessorWaitPolicyOf(policy), session.handoff.wait_flat_s).goneByMs / 1000
        : 0;
      const limitS = policy.launchLimitS + handoffS;
      if (waited <= limitS) return [];
      return [
        {
          type: 'fail_launch',
          from: session.status,
          reason: `launch timed out: ${session.status} for ${Math.round(waited)} s without a first heartbeat (limit ${Math.round(limitS)} s)`,
        },
      ];
    }
    case 'stopping': {
      // A handed-off session waits, bounded, for its trades to close (wait_flat) before its stop begins.
      const { stopByMs } = predecessorDeadlinesOf(
        predecessorWaitPolicyOf(policy),
        session.handoff?.wait_flat_s ?? 0,
      );
      if (secondsInStatus(session, nowMs) * 1000 <= stopByMs) return [];
      return [
        {
          type: 'force_stop',
          reason: `forced stop: the agent did not confirm the stop within ${policy.stopGraceS} s`,
        },
      ];
    }
    default:
      return [];
  }
};

/**
 * The backstop of the lock release: a lock still held by a session that is over (its teardown found the
 * container still running and the ECS STOPPED event never came) is freed once the container is gone.
 * A lock naming a session that no longer exists is freed too: no agent can trade without its session.
 */
export type LockBackstop = 'none' | 'release_if_gone';

export const decideLockBackstop = (lock: StrategyLock, session: Session | undefined): LockBackstop => {
  if (lock.active_run_id === null) return 'none';
  if (session === undefined) return 'release_if_gone';
  return session.status === 'stopped' || session.status === 'failed' || session.status === 'completed'
    ? 'release_if_gone'
    : 'none';
};
