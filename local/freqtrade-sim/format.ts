/** Freqtrade's ways of writing dates, durations and rounded numbers, so responses read the same. */

const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

/** `YYYY-MM-DD HH:MM:SS` in UTC (Freqtrade's DATETIME_PRINT_FORMAT); '' for null, as `format_date`. */
export const formatDate = (ms: number | null): string => {
  if (ms === null) return '';
  const d = new Date(ms);
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
  );
};

/** `YYYY-MM-DD` in UTC. */
export const formatDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/**
 * ISO 8601 as pydantic serialises an aware UTC datetime: `2026-01-01T00:00:00.123000Z`, the
 * fraction only when there is one.
 */
export const isoDatetime = (ms: number): string => {
  const iso = new Date(ms).toISOString();
  const millis = ms % 1000;
  return millis === 0 ? `${iso.slice(0, 19)}Z` : `${iso.slice(0, 23)}000Z`;
};

/** Python's `str(timedelta(seconds=s))`: `0:05:07`, `1 day, 2:03:04`. */
export const formatTimedelta = (seconds: number): string => {
  const total = Math.max(0, Math.floor(seconds));
  const days = Math.floor(total / 86_400);
  const rest = total % 86_400;
  const clock = `${Math.floor(rest / 3600)}:${pad(Math.floor((rest % 3600) / 60))}:${pad(rest % 60)}`;
  if (days === 0) return clock;
  return `${days} day${days === 1 ? '' : 's'}, ${clock}`;
};

/** Roughly `humanize.naturaltime`: `now`, `5 seconds ago`, `a minute ago`, `3 hours ago`. */
export const humanizeSince = (thenMs: number, nowMs: number): string => {
  const seconds = Math.max(0, Math.floor((nowMs - thenMs) / 1000));
  const unit = (value: number, singular: string, article: string): string =>
    value === 1 ? `${article} ${singular} ago` : `${value} ${singular}s ago`;
  if (seconds === 0) return 'now';
  if (seconds < 60) return unit(seconds, 'second', 'a');
  if (seconds < 3600) return unit(Math.floor(seconds / 60), 'minute', 'a');
  if (seconds < 86_400) return unit(Math.floor(seconds / 3600), 'hour', 'an');
  return unit(Math.floor(seconds / 86_400), 'day', 'a');
};

export const round = (value: number, decimals: number): number => {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
};

/** Minutes in a Freqtrade timeframe (`5m` -> 5, `1h` -> 60, `1M` -> 43 200). */
export const timeframeMinutes = (timeframe: string): number => {
  const match = /^(\d+)([smhdwM])$/.exec(timeframe);
  if (!match) return 0;
  const amount = Number(match[1]);
  const perUnit: Record<string, number> = { s: 1 / 60, m: 1, h: 60, d: 1440, w: 10_080, M: 43_200 };
  return amount * (perUnit[match[2] ?? 'm'] ?? 1);
};

const COIN_DECIMALS: Readonly<Record<string, number>> = { BTC: 8, ETH: 5 };

/** Freqtrade's `decimals_per_coin`: 8 for BTC, 5 for ETH, 3 for everything else. */
export const decimalsPerCoin = (coin: string): number => COIN_DECIMALS[coin] ?? 3;
