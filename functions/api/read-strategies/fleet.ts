import { createHash } from 'node:crypto';
import type { FleetSession, LatestAlert } from '../../../shared/domain/fleet';
import { isTerminal, SESSION_STATUSES, type SessionStatus } from '../../../shared/domain/session';
import { heartbeatAgeSeconds } from '../../../shared/domain/staleness';
import type { FleetMoneyTotal, FleetStrategy, FleetTotals, FleetView } from './schema';

const round1 = (value: number | undefined): number | null =>
  value === undefined ? null : Math.round(value * 10) / 10;

/** An alert stays open while it is the newest of the strategy's active session and is not INFO. */
const isOpen = (session: FleetSession, alert: LatestAlert | undefined): boolean =>
  alert !== undefined &&
  alert.severity !== 'INFO' &&
  alert.run_id === session.run_id &&
  !isTerminal(session.status);

export const fleetRowOf = (
  session: FleetSession,
  alert: LatestAlert | undefined,
  nowMs: number,
  staleAfterS: number,
): FleetStrategy => ({
  strategy_id: session.strategy_id,
  run_id: session.run_id,
  strategy_name: session.strategy_name,
  strategy_version: session.strategy_version,
  trading_mode: session.trading_mode,
  status: session.status,
  status_reason: session.status_reason,
  desired_state: session.desired_state,
  active: !isTerminal(session.status),
  status_changed_at: session.status_changed_at,
  last_heartbeat: session.last_heartbeat,
  heartbeat_age_s: round1(heartbeatAgeSeconds(session, nowMs)),
  stale_after_s: staleAfterS,
  stake_currency: session.metrics?.stake_currency ?? null,
  equity: session.metrics?.equity ?? session.risk?.snapshot?.equity ?? null,
  pnl_today: session.metrics?.pnl_today ?? null,
  pnl_total: session.metrics?.pnl_total ?? null,
  drawdown_pct: session.risk?.snapshot?.drawdown_pct ?? null,
  max_drawdown_pct: session.risk_limits.max_drawdown_pct,
  // The open-trades list is not in the fleet row (up to 50 trades per item); agents report the count.
  open_trade_count: session.metrics?.open_trade_count ?? null,
  risk_state: session.risk?.state ?? null,
  risk_breaches: session.risk?.breaches.map((breach) => breach.rule) ?? [],
  last_alert:
    alert === undefined
      ? null
      : {
          at: alert.at,
          severity: alert.severity,
          kind: alert.kind,
          run_id: alert.run_id,
          subject: alert.subject,
        },
  alert_open: isOpen(session, alert),
});

/**
 * Money is added up only within one trading mode and stake currency, and only for active sessions (as
 * GET /strategies/pnl): paper dry-run money is never summed with live money, USDT never with BTC.
 */
const moneyTotalsOf = (rows: readonly FleetStrategy[]): FleetMoneyTotal[] => {
  const totals = new Map<string, FleetMoneyTotal>();
  for (const row of rows) {
    if (!row.active || row.pnl_today === null) continue;
    const key = `${row.trading_mode}|${row.stake_currency ?? ''}`;
    const total = totals.get(key) ?? {
      trading_mode: row.trading_mode,
      stake_currency: row.stake_currency,
      strategies: 0,
      equity: 0,
      pnl_today: 0,
      pnl_total: 0,
    };
    total.strategies += 1;
    total.equity += row.equity ?? 0;
    total.pnl_today += row.pnl_today;
    total.pnl_total += row.pnl_total ?? 0;
    totals.set(key, total);
  }
  return [...totals.values()].sort((a, b) =>
    `${a.trading_mode}|${a.stake_currency ?? ''}`.localeCompare(
      `${b.trading_mode}|${b.stake_currency ?? ''}`,
    ),
  );
};

const totalsOf = (rows: readonly FleetStrategy[]): FleetTotals => {
  const byStatus = Object.fromEntries(SESSION_STATUSES.map((status) => [status, 0])) as Record<
    SessionStatus,
    number
  >;
  const openAlerts = { WARNING: 0, CRITICAL: 0 };
  for (const row of rows) {
    byStatus[row.status] += 1;
    if (row.alert_open && row.last_alert !== null && row.last_alert.severity !== 'INFO')
      openAlerts[row.last_alert.severity] += 1;
  }
  return {
    strategies: rows.length,
    by_status: byStatus,
    money: moneyTotalsOf(rows),
    open_alerts: openAlerts,
  };
};

/** Pure: the fleet view from the fleet read and the latest alerts, at `nowMs`. */
export const fleetViewOf = (input: {
  sessions: readonly FleetSession[];
  latestAlerts: readonly LatestAlert[];
  truncated: boolean;
  nowMs: number;
  staleAfterS: number;
}): FleetView => {
  const alerts = new Map(input.latestAlerts.map((alert) => [alert.strategy_id, alert]));
  const strategies = input.sessions.map((session) =>
    fleetRowOf(session, alerts.get(session.strategy_id), input.nowMs, input.staleAfterS),
  );
  return {
    as_of: new Date(input.nowMs).toISOString(),
    stale_after_s: input.staleAfterS,
    strategies,
    totals: totalsOf(strategies),
    truncated: input.truncated,
  };
};

/**
 * A weak ETag over the fleet's state, not the clock: `as_of` and the heartbeat ages (derived from the
 * clock) are left out, so two reads of an unchanged fleet a few seconds apart match. Any stored change
 * (a heartbeat, a status, a new alert) changes it.
 */
export const fleetEtagOf = (view: FleetView): string => {
  const state = {
    stale_after_s: view.stale_after_s,
    truncated: view.truncated,
    strategies: view.strategies.map(({ heartbeat_age_s: _age, ...row }) => row),
    totals: view.totals,
  };
  return `W/"${createHash('sha256').update(JSON.stringify(state)).digest('base64url').slice(0, 32)}"`;
};

/** RFC 9110 §13.1.2: `If-None-Match` matches by weak comparison; `*` matches any current representation. */
export const matchesIfNoneMatch = (header: string | undefined, etag: string): boolean => {
  if (header === undefined) return false;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  const wanted = opaque(etag);
  return header.split(',').some((candidate) => candidate.trim() === '*' || opaque(candidate) === wanted);
};
