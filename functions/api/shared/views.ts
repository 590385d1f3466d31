import { isTerminal, type Session } from '../../../shared/domain/session';
import { heartbeatAgeSeconds } from '../../../shared/domain/staleness';

const round1 = (value: number | undefined): number | null =>
  value === undefined ? null : Math.round(value * 10) / 10;

/**
 * What the API shows of a session. Allow-listed field by field: the launch token, agent identity, container
 * ARNs, config overrides and internal counters never leave.
 */
export const sessionView = (session: Session, nowMs: number) => ({
  run_id: session.run_id,
  strategy_id: session.strategy_id,
  strategy_name: session.strategy_name,
  strategy_version: session.strategy_version,
  trading_mode: session.trading_mode,
  status: session.status,
  status_reason: session.status_reason,
  previous_status: session.previous_status ?? null,
  desired_state: session.desired_state,
  active: !isTerminal(session.status),
  flatten_on_stop: session.flatten_on_stop,
  created_at: session.created_at,
  started_at: session.started_at,
  status_changed_at: session.status_changed_at,
  completed_at: session.completed_at ?? null,
  last_heartbeat: session.last_heartbeat,
  heartbeat_age_s: round1(heartbeatAgeSeconds(session, nowMs)),
  requested_by: session.requested_by,
  alias: session.alias,
  stage: session.stage,
  model_version: session.model_version ?? null,
  // A rolled strategy: the run this one took over from, the run that took over from it, and how.
  supersedes: session.supersedes ?? null,
  superseded_by: session.superseded_by ?? null,
  handoff:
    session.handoff === null || session.handoff === undefined
      ? null
      : {
          kind: session.handoff.kind,
          mode: session.handoff.mode,
          phase: session.handoff.phase,
          from_run_id: session.handoff.from_run_id,
          to_run_id: session.handoff.to_run_id,
          rollback_of: session.handoff.rollback_of,
          requested_at: session.handoff.requested_at,
          // A failed handoff whose old container would not stop: that run may still trade.
          stuck_run_id: session.handoff.stuck_run_id ?? null,
        },
  exchange: session.exchange,
  pairs: session.pairs,
  metrics: session.metrics,
  open_trade_count: session.metrics?.open_trade_count ?? session.open_trades.length,
  // Of its last report: what a handoff's successor must list (tradai deploy follows it until it does).
  open_trade_ids: session.open_trades.map((trade) => trade.trade_id),
  risk_limits: session.risk_limits,
  risk: session.risk,
  health:
    session.health === null
      ? null
      : {
          exchange_connected: session.health.exchange_connected,
          freqtrade_state: session.health.freqtrade_state ?? null,
          loop_alive: session.health.loop_alive ?? null,
          last_trade_at: session.health.last_trade_at,
          // A takeover's carried trades its Freqtrade shows neither open nor closed (tradai deploy reads it).
          missing_trade_ids: session.health.missing_trades?.trade_ids ?? [],
        },
});
export type SessionView = ReturnType<typeof sessionView>;

/** One line of GET /strategies: a strategy's current (or last) session at a glance. */
export const strategySummary = (session: Session, nowMs: number) => ({
  strategy_id: session.strategy_id,
  run_id: session.run_id,
  strategy_name: session.strategy_name,
  trading_mode: session.trading_mode,
  status: session.status,
  desired_state: session.desired_state,
  active: !isTerminal(session.status),
  last_heartbeat: session.last_heartbeat,
  heartbeat_age_s: round1(heartbeatAgeSeconds(session, nowMs)),
  pnl_today: session.metrics?.pnl_today ?? null,
  pnl_total: session.metrics?.pnl_total ?? null,
  stake_currency: session.metrics?.stake_currency ?? null,
  open_trade_count: session.metrics?.open_trade_count ?? session.open_trades.length,
  risk_state: session.risk?.state ?? null,
  risk_breaches: session.risk?.breaches ?? [],
});
