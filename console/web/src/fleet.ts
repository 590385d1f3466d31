/**
 * The fleet as the page shows it: one row per strategy and the totals, whichever read delivered them, and
 * the pure rules for colouring a row (heartbeat age against the stale threshold, drawdown against its limit).
 */
import type { DesiredState, SessionStatus, TradingMode } from '../../../shared/domain/session';

export interface FleetRow {
  strategy_id: string;
  run_id: string;
  strategy_name: string;
  trading_mode: TradingMode;
  status: SessionStatus;
  desired_state: DesiredState;
  active: boolean;
  version: string | null;
  heartbeat_age_s: number | null;
  /** The sweep's threshold: older than this, a heartbeat makes the session stale. */
  stale_after_s: number | null;
  equity: number | null;
  pnl_today: number | null;
  pnl_total: number | null;
  stake_currency: string | null;
  drawdown_pct: number | null;
  max_drawdown_pct: number | null;
  open_trade_count: number;
  risk_state: 'ok' | 'breached' | null;
  last_alert: { severity: string; subject: string; at: string } | null;
}

export interface PnlTotal {
  trading_mode: TradingMode;
  stake_currency: string | null;
  strategies: number;
  equity: number;
  pnl_today: number;
}

export interface FleetTotals {
  strategies: number;
  by_status: Partial<Record<SessionStatus, number>>;
  /** Paper money is never added to live money, nor one currency to another. */
  pnl: PnlTotal[];
  warnings: number | null;
  criticals: number | null;
}

export interface Fleet {
  rows: FleetRow[];
  totals: FleetTotals;
}

/** Until a read says otherwise: the control plane's default (shared/domain/staleness DEFAULT_STALE_AFTER_S). */
export const DEFAULT_STALE_AFTER_S = 180;

export type Health = 'ok' | 'late' | 'stale' | 'none';

/** Green while a heartbeat is well inside the threshold, amber past half of it, red past it or once stale. */
export const heartbeatHealth = (
  row: Pick<FleetRow, 'status' | 'heartbeat_age_s' | 'stale_after_s' | 'active'>,
): Health => {
  if (row.status === 'stale') return 'stale';
  if (!row.active || row.heartbeat_age_s === null) return 'none';
  const threshold = row.stale_after_s ?? DEFAULT_STALE_AFTER_S;
  if (row.heartbeat_age_s > threshold) return 'stale';
  if (row.heartbeat_age_s > threshold / 2) return 'late';
  return 'ok';
};

/** How much of its drawdown limit a session has used, 0..1 (more than 1 is a breach), or null. */
export const drawdownUse = (row: Pick<FleetRow, 'drawdown_pct' | 'max_drawdown_pct'>): number | null =>
  row.drawdown_pct === null || row.max_drawdown_pct === null || row.max_drawdown_pct <= 0
    ? null
    : row.drawdown_pct / row.max_drawdown_pct;

export const totalsOf = (rows: readonly FleetRow[]): FleetTotals => {
  const by_status: Partial<Record<SessionStatus, number>> = {};
  const pnl = new Map<string, PnlTotal>();
  for (const row of rows) {
    by_status[row.status] = (by_status[row.status] ?? 0) + 1;
    if (!row.active || row.pnl_today === null) continue;
    const key = `${row.trading_mode}|${row.stake_currency ?? ''}`;
    const total = pnl.get(key) ?? {
      trading_mode: row.trading_mode,
      stake_currency: row.stake_currency,
      strategies: 0,
      equity: 0,
      pnl_today: 0,
    };
    total.strategies += 1;
    total.equity += row.equity ?? 0;
    total.pnl_today += row.pnl_today;
    pnl.set(key, total);
  }
  return { strategies: rows.length, by_status, pnl: [...pnl.values()], warnings: null, criticals: null };
};

/** One line of GET /strategies (functions/api/shared/views.ts strategySummary). */
export interface StrategySummary {
  strategy_id: string;
  run_id: string;
  strategy_name: string;
  trading_mode: TradingMode;
  status: SessionStatus;
  desired_state: DesiredState;
  active: boolean;
  heartbeat_age_s: number | null;
  pnl_today: number | null;
  pnl_total: number | null;
  stake_currency: string | null;
  open_trade_count: number;
  risk_state: 'ok' | 'breached' | null;
}

export const rowOfSummary = (summary: StrategySummary): FleetRow => ({
  strategy_id: summary.strategy_id,
  run_id: summary.run_id,
  strategy_name: summary.strategy_name,
  trading_mode: summary.trading_mode,
  status: summary.status,
  desired_state: summary.desired_state,
  active: summary.active,
  version: null,
  heartbeat_age_s: summary.heartbeat_age_s,
  stale_after_s: null,
  equity: null,
  pnl_today: summary.pnl_today,
  pnl_total: summary.pnl_total,
  stake_currency: summary.stake_currency,
  drawdown_pct: null,
  max_drawdown_pct: null,
  open_trade_count: summary.open_trade_count,
  risk_state: summary.risk_state,
  last_alert: null,
});

export const fleetOfStrategies = (body: { strategies: StrategySummary[] }): Fleet => {
  const rows = body.strategies.map(rowOfSummary).sort((a, b) => a.strategy_id.localeCompare(b.strategy_id));
  return { rows, totals: totalsOf(rows) };
};

export const money = (value: number | null, currency: string | null = null): string =>
  value === null
    ? '—'
    : `${value >= 0 ? '+' : ''}${value.toFixed(2)}${currency === null ? '' : ` ${currency}`}`;

export const age = (seconds: number | null): string => {
  if (seconds === null) return '—';
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
};
