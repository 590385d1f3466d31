import type { EntriesHeld } from './agent-report';
import { type Breach, evaluateRisk } from './risk';
import type { Session, SessionHealth, SessionStatus } from './session';

/**
 * Pure classification of one committed change of a session item (a stream record's old and new image)
 * into the effects the control plane owes it. The stream processor executes them; deciding them here
 * keeps the rules in one testable place.
 */
export type SessionEffect =
  /** The status changed: one alert. */
  | { type: 'transition'; from: SessionStatus | null; to: SessionStatus }
  /** Launching, with the workflow's task token stored and a heartbeat in: release the launch workflow. */
  | { type: 'release_launch'; token: string }
  /** Left launching for stopping or failed while the workflow waits: fail its token so it compensates now. */
  | { type: 'abort_launch'; token: string; reason: string }
  /** A new breach incident (the previous image was not breached): pause and page once. */
  | { type: 'risk_breach'; breaches: Breach[] }
  /** A heartbeat reached a stale session: back to what the operator wants. */
  | { type: 'recover_stale'; to: 'running' | 'paused' }
  /** A heartbeat reports Freqtrade in the other of running/paused: the status follows what is confirmed. */
  | { type: 'confirm_state'; from: 'running' | 'paused'; to: 'running' | 'paused' }
  /** Reached stopped, failed or completed: tear the container down and free the strategy lock. */
  | { type: 'teardown' }
  /** The agent reported a new incident in its heartbeat's health: one page each. */
  | { type: 'agent_report'; report: AgentReportKind }
  /** A handoff's successor did not come up: rolled back, or failed with no rollback (one CRITICAL). */
  | { type: 'handoff_outcome'; phase: 'rolled_back' | 'failed' };

/** What the agent reports beyond figures that pages on-call (see shared/domain/agent-report.ts). */
export type AgentReportKind = 'start_failure' | 'missing_trades' | 'fail_closed' | 'freqtrade_restart';

/**
 * New incidents in the agent's report: a report present now and absent (or older) in the previous image.
 * A Freqtrade restart pages only when that Freqtrade had had a trading loop (a crash): restarts of one that
 * never came up are start-up failures, paged once by their breach.
 */
export const agentReportsOf = (previous: Session | undefined, current: Session): AgentReportKind[] => {
  const now = current.health;
  if (now === null || (previous !== undefined && current.heartbeat_seq <= previous.heartbeat_seq)) return [];
  const before = previous?.health ?? null;
  const reports: AgentReportKind[] = [];
  if (now.start_failure && now.start_failure.since !== before?.start_failure?.since)
    reports.push('start_failure');
  if (now.missing_trades && now.missing_trades.at !== before?.missing_trades?.at)
    reports.push('missing_trades');
  // One incident per agent and command: a held agent that reports its fail-closed stop again is not news.
  if (
    now.fail_closed &&
    (before?.fail_closed?.command !== now.fail_closed.command || previous?.agent_id !== current.agent_id)
  )
    reports.push('fail_closed');
  if (previous !== undefined && !now.start_failure && crashedWhileTrading(before, now)) {
    reports.push('freqtrade_restart');
  }
  return reports;
};

/**
 * A Freqtrade that had a live trading loop exited and was restarted. The agent counts such crashes
 * itself (`freqtrade_crashes`), so the page does not depend on which two heartbeats the crash fell
 * between; items from agents before that field fall back to reading the loop from the two heartbeats.
 */
const crashedWhileTrading = (before: SessionHealth | null, now: SessionHealth): boolean => {
  if (now.freqtrade_crashes !== undefined) return now.freqtrade_crashes > (before?.freqtrade_crashes ?? 0);
  return (
    (now.freqtrade_restarts ?? 0) > (before?.freqtrade_restarts ?? 0) &&
    // The heartbeat of the restart itself may come before the new process answers, and the one of the
    // crash after the old one stopped answering.
    (before?.loop_alive === true ||
      (before?.last_process_at ?? null) !== null ||
      (now.last_process_at ?? null) !== null)
  );
};

/** Why the agent holds entries itself, from `entries_held` or, on items older than it, `draining`. */
export const entriesHeldOf = (health: SessionHealth | null | undefined): EntriesHeld | null =>
  health?.entries_held ?? (health?.draining === true ? 'draining' : null);

/** Statuses in which a breach must pause trading; a stopping or finished session is past that. */
const RISK_WATCHED: readonly SessionStatus[] = ['launching', 'running', 'paused', 'stale'];
const TEARDOWN_AT: readonly SessionStatus[] = ['stopped', 'failed', 'completed'];

/** The breaches a session's latest snapshot shows, by the same pure rules the agent applies. */
export const breachesOf = (session: Session): Breach[] => {
  const risk = session.risk;
  if (risk === null) return [];
  const evaluated = risk.snapshot === null ? [] : evaluateRisk(session.risk_limits, risk.snapshot).breaches;
  if (evaluated.length > 0) return evaluated;
  // The agent may know of a breach the snapshot alone cannot show (it latched one earlier).
  return risk.state === 'breached' ? risk.breaches : [];
};

export const isBreached = (session: Session): boolean => breachesOf(session).length > 0;

export const classifySessionChange = (previous: Session | undefined, current: Session): SessionEffect[] => {
  const effects: SessionEffect[] = [];
  const from = previous?.status ?? null;
  const statusChanged = from !== current.status;

  if (statusChanged && !(from === null && current.status === 'pending')) {
    effects.push({ type: 'transition', from, to: current.status });
  }

  // Whichever write comes second (the token or the first heartbeat) makes this true.
  if (current.status === 'launching' && current.launch_token !== null && current.last_heartbeat !== null) {
    effects.push({ type: 'release_launch', token: current.launch_token });
  }

  const heldToken = current.launch_token ?? previous?.launch_token ?? null;
  if (
    from === 'launching' &&
    (current.status === 'stopping' || current.status === 'failed') &&
    heldToken !== null
  ) {
    effects.push({
      type: 'abort_launch',
      token: heldToken,
      reason: current.status_reason ?? `session moved to ${current.status} while launching`,
    });
  }

  if (RISK_WATCHED.includes(current.status)) {
    const breaches = breachesOf(current);
    if (breaches.length > 0 && (previous === undefined || !isBreached(previous))) {
      effects.push({ type: 'risk_breach', breaches });
    }
  }

  if (
    previous !== undefined &&
    previous.status === 'stale' &&
    current.status === 'stale' &&
    current.heartbeat_seq > previous.heartbeat_seq
  ) {
    effects.push({ type: 'recover_stale', to: current.desired_state === 'paused' ? 'paused' : 'running' });
  }

  // The status says what Freqtrade is doing, not what was asked: it moves only when a heartbeat confirms it.
  // A pause the agent's own guard made (fail-closed without heartbeats, takeover guard, SIGTERM handover)
  // is not a state anyone asked for: the status stays put, so it pages neither 'paused' nor 'resumed'.
  const freqtrade = current.health?.freqtrade_state;
  if (
    previous !== undefined &&
    entriesHeldOf(current.health) === null &&
    current.heartbeat_seq > previous.heartbeat_seq &&
    (current.status === 'running' || current.status === 'paused') &&
    (freqtrade === 'running' || freqtrade === 'paused') &&
    freqtrade !== current.status
  ) {
    effects.push({ type: 'confirm_state', from: current.status, to: freqtrade });
  }

  if (statusChanged && TEARDOWN_AT.includes(current.status)) {
    effects.push({ type: 'teardown' });
  }
  for (const report of agentReportsOf(previous, current)) effects.push({ type: 'agent_report', report });
  const phase = current.handoff?.phase;
  if ((phase === 'rolled_back' || phase === 'failed') && previous?.handoff?.phase !== phase)
    effects.push({ type: 'handoff_outcome', phase });
  return effects;
};
