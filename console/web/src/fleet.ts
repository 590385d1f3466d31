/**
 * The fleet as GET /fleet delivers it (parsed with the API's own FleetViewSchema, app.ts) and the pure
 * rules for colouring a row: heartbeat age against the stale threshold, drawdown against its limit.
 */
import type { FleetStrategy, FleetView } from '../../../functions/api/read-strategies/schema';

export type { FleetStrategy as FleetRow, FleetView } from '../../../functions/api/read-strategies/schema';

/**
 * A read of the fleet and when this page received it: an unchanged fleet answers 304 with no body, so the
 * page ages each row's heartbeat itself, on its own clock, from the moment the body arrived.
 */
export interface Fleet {
  view: FleetView;
  receivedAtMs: number;
}

/** The heartbeat age now: what the read said, plus the time since the page received it. */
export const heartbeatAgeNow = (row: FleetStrategy, fleet: Fleet, nowMs: number): number | null =>
  row.heartbeat_age_s === null || !row.active
    ? row.heartbeat_age_s
    : row.heartbeat_age_s + Math.max(0, nowMs - fleet.receivedAtMs) / 1000;

export type Health = 'ok' | 'late' | 'stale' | 'none';

/** Green well inside the threshold, amber past half of it, red past it or once the sweep marked it stale. */
export const heartbeatHealth = (
  row: Pick<FleetStrategy, 'status' | 'active' | 'stale_after_s'>,
  ageS: number | null,
): Health => {
  if (row.status === 'stale') return 'stale';
  if (!row.active || ageS === null) return 'none';
  if (ageS > row.stale_after_s) return 'stale';
  if (ageS > row.stale_after_s / 2) return 'late';
  return 'ok';
};

/** How much of its drawdown limit a session has used, 0..1 (1 or more is a breach), or null before a figure. */
export const drawdownUse = (row: Pick<FleetStrategy, 'drawdown_pct' | 'max_drawdown_pct'>): number | null =>
  row.drawdown_pct === null || row.max_drawdown_pct <= 0 ? null : row.drawdown_pct / row.max_drawdown_pct;

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
