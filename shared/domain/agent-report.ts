import * as z from 'zod';

/**
 * What the container agent reports beyond figures: how a stop left the open positions, a command
 * Freqtrade did not honour, a Freqtrade that never comes up, trades a replacement task could not find.
 * Each is an optional field of the session item (health or top level), so the stream processor can page
 * on it and an item written before these fields existed still parses. Kept apart from session.ts so
 * the agent's reporting vocabulary has one home; it imports nothing of session.ts (no import cycle).
 */

const Iso = z.iso.datetime({ offset: false });
/** As many trade ids as the session's open-trades snapshot holds (MAX_OPEN_TRADES_SNAPSHOT). */
const TradeIds = z.array(z.number().int()).max(50);

/** The agent's ways of ending (or holding down) trading; one stop plan each (container/agent/lifecycle.ts). */
export const STOP_PLAN_NAMES = [
  'operator_stop',
  'operator_stop_flatten',
  'fenced',
  'sigterm',
  'risk_stop',
  'one_shot_done',
  'one_shot_stop',
  'start_failed',
  'fail_closed_process_stop',
  'restarts_exhausted',
  /** Superseded by a deploy, restart or rollback: entries off, wait_flat's bounded wait, Freqtrade stopped. */
  'handoff',
] as const;
export const StopPlanNameSchema = z.enum(STOP_PLAN_NAMES);
export type StopPlanName = z.infer<typeof StopPlanNameSchema>;

/**
 * What a stop did to the open positions. `left_open` pages at least WARNING, `flatten_failed` CRITICAL;
 * `open_trade_ids` names what is still open on the exchange (empty when none or when flattened).
 */
export const StopOutcomeSchema = z.object({
  plan: StopPlanNameSchema,
  positions: z.enum(['none', 'left_open', 'flattened', 'flatten_failed']),
  open_trade_ids: TradeIds,
  detail: z.string().max(512),
  at: Iso,
});
export type StopOutcome = z.infer<typeof StopOutcomeSchema>;

/** A restrictive command Freqtrade failed or did not confirm, and what the agent did instead. */
export const FailClosedReportSchema = z.object({
  command: z.enum(['pause', 'forceexit', 'stop']),
  /** Why: the REST failure, or "not confirmed within N s (state: running)". */
  failure: z.string().max(256),
  /**
   * `process_stopped`: SIGTERM was enough; `process_killed`: SIGKILL after the bound; `process_stop_failed`:
   * it still runs; `attach_mode_no_process`: the agent does not own the process (stop the bot by hand).
   */
  action: z.enum(['process_stopped', 'process_killed', 'process_stop_failed', 'attach_mode_no_process']),
  at: Iso,
});
export type FailClosedReport = z.infer<typeof FailClosedReportSchema>;

/** Freqtrade restarted N times within M minutes without a live trading loop: entries are off for good. */
export const StartFailureReportSchema = z.object({
  restarts: z.number().int().nonnegative(),
  window_s: z.number().positive(),
  since: Iso,
  last_exit: z.string().max(128),
  action: z.literal('restarts_stopped'),
});
export type StartFailureReport = z.infer<typeof StartFailureReportSchema>;

/** A replacement task did not find, in Freqtrade's /status, trades its predecessor reported open. */
export const MissingTradesReportSchema = z.object({
  trade_ids: TradeIds,
  /** How many the predecessor reported open, and how many of those Freqtrade shows now. */
  expected: z.number().int().nonnegative(),
  found: z.number().int().nonnegative(),
  /** The exchange account, as an operator can find it (exchange and credentials' secret name). */
  account: z.string().max(256),
  action: z.literal('entries_paused'),
  at: Iso,
});
export type MissingTradesReport = z.infer<typeof MissingTradesReportSchema>;

/**
 * Why the agent itself holds entries back while the operator wants the session running: `fail_closed`
 * (no heartbeat written for HEARTBEAT_FAIL_CLOSED_S, e.g. DynamoDB unreachable), `takeover_guard` (a
 * replacement task's Freqtrade starts paused until /status shows its predecessor's trades), `draining`
 * (the SIGTERM handover). Such a pause is nobody's intent: the status does not follow it and it pages
 * nothing (its cause, if any, pages on its own: stale, missing trades). Null while nothing is held.
 */
export const ENTRIES_HELD_REASONS = ['fail_closed', 'takeover_guard', 'draining'] as const;
export const EntriesHeldSchema = z.enum(ENTRIES_HELD_REASONS);
export type EntriesHeld = z.infer<typeof EntriesHeldSchema>;

/** Why an agent holds Freqtrade stopped for the rest of its task (its phase `held`): no resume restarts it. */
export type AgentHold =
  | { held_by: 'fail_closed'; report: FailClosedReport }
  | { held_by: 'start_failure'; report: StartFailureReport };

/**
 * The hold a session's latest heartbeat reports, or null. Each heartbeat rewrites the health, so a hold
 * names the agent now running the session, never a predecessor whose task was replaced.
 */
export const agentHoldOf = (
  health: { fail_closed?: FailClosedReport | null; start_failure?: StartFailureReport | null } | null,
): AgentHold | null => {
  if (health?.fail_closed) return { held_by: 'fail_closed', report: health.fail_closed };
  if (health?.start_failure) return { held_by: 'start_failure', report: health.start_failure };
  return null;
};

/** What the hold is, in an operator's words: the resume refusal says it, with what to do instead. */
export const describeAgentHold = (hold: AgentHold): string =>
  hold.held_by === 'fail_closed'
    ? `fail_closed: Freqtrade did not honour ${hold.report.command} (${hold.report.failure}), the agent did ${hold.report.action} at ${hold.report.at}`
    : `start_failure: Freqtrade restarted ${hold.report.restarts} times within ${hold.report.window_s} s without a trading loop (last exit ${hold.report.last_exit}), restarts stopped since ${hold.report.since}`;
