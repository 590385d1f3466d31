/**
 * Pure formatting: numbers, ages and states as an operator reads them, coloured by what they mean. Colours
 * come from an injected picocolors instance, so `--json`, NO_COLOR and pipes get plain text and tests
 * can assert the colour chosen.
 */
import Table from 'cli-table3';
import type { Colors } from 'picocolors/types';
import type { SessionStatus } from '../../shared/domain/session';

export type Paint = Colors;

/** `42s`, `4m 10s`, `2h 5m`, `3d 4h`: an age an operator reads at a glance. */
export const formatDuration = (seconds: number): string => {
  const whole = Math.max(0, Math.round(seconds));
  if (whole < 60) return `${whole}s`;
  if (whole < 3600) return `${Math.floor(whole / 60)}m ${whole % 60}s`;
  if (whole < 86_400) return `${Math.floor(whole / 3600)}h ${Math.floor((whole % 3600) / 60)}m`;
  return `${Math.floor(whole / 86_400)}d ${Math.floor((whole % 86_400) / 3600)}h`;
};

export type AgeLevel = 'fresh' | 'late' | 'stale' | 'none';

/**
 * A heartbeat against the stale threshold: past it the sweep marks the session stale (red); past half of it
 * more than one heartbeat is missing (yellow). A session that has ended has no heartbeat to expect.
 */
export const heartbeatLevel = (
  ageS: number | null,
  thresholdS: number | null | undefined,
  active: boolean,
): AgeLevel => {
  if (ageS === null || !active || thresholdS === null || thresholdS === undefined) return 'none';
  if (ageS >= thresholdS) return 'stale';
  if (ageS >= thresholdS / 2) return 'late';
  return 'fresh';
};

export const heartbeatCell = (
  ageS: number | null,
  thresholdS: number | null | undefined,
  active: boolean,
  paint: Paint,
): string => {
  if (ageS === null) return paint.dim('-');
  const text = formatDuration(ageS);
  const level = heartbeatLevel(ageS, thresholdS, active);
  const suffix =
    thresholdS === null || thresholdS === undefined ? '' : paint.dim(` /${formatDuration(thresholdS)}`);
  const coloured =
    level === 'stale'
      ? paint.red(paint.bold(text))
      : level === 'late'
        ? paint.yellow(text)
        : level === 'fresh'
          ? paint.green(text)
          : paint.dim(text);
  return `${coloured}${active ? suffix : ''}`;
};

const STATUS_COLOUR: Readonly<Record<SessionStatus, keyof Paint>> = {
  pending: 'cyan',
  launching: 'cyan',
  running: 'green',
  paused: 'yellow',
  stale: 'red',
  stopping: 'magenta',
  stopped: 'dim',
  failed: 'red',
  completed: 'dim',
};

export const statusCell = (status: SessionStatus, paint: Paint): string =>
  (paint[STATUS_COLOUR[status]] as (text: string) => string)(status);

/** Signed, two decimals, the stake currency when known: `+12.50 USDT`, `-3.10`. */
export const formatMoney = (value: number | null | undefined, currency?: string | null): string => {
  if (value === null || value === undefined) return '-';
  const sign = value > 0 ? '+' : value < 0 ? '-' : '';
  return `${sign}${Math.abs(value).toFixed(2)}${currency ? ` ${currency}` : ''}`;
};

export const moneyCell = (
  value: number | null | undefined,
  currency: string | null | undefined,
  paint: Paint,
) => {
  const text = formatMoney(value, currency);
  if (value === null || value === undefined) return paint.dim(text);
  return value < 0 ? paint.red(text) : value > 0 ? paint.green(text) : text;
};

/** Drawdown against its limit: yellow from three quarters of it, red at or past it (the breach). */
export const drawdownLevel = (
  drawdownPct: number | null | undefined,
  limitPct: number | null | undefined,
) => {
  if (drawdownPct === null || drawdownPct === undefined) return 'none' as const;
  if (limitPct === null || limitPct === undefined || limitPct <= 0) return 'ok' as const;
  if (drawdownPct >= limitPct) return 'breach' as const;
  if (drawdownPct >= limitPct * 0.75) return 'near' as const;
  return 'ok' as const;
};

const percent = (value: number) => `${Number.isInteger(value) ? value : value.toFixed(1)}%`;

export const drawdownCell = (
  drawdownPct: number | null | undefined,
  limitPct: number | null | undefined,
  paint: Paint,
): string => {
  const limit = limitPct === null || limitPct === undefined ? '' : paint.dim(` / ${percent(limitPct)}`);
  if (drawdownPct === null || drawdownPct === undefined) return `${paint.dim('-')}${limit}`;
  const level = drawdownLevel(drawdownPct, limitPct);
  const text = percent(drawdownPct);
  const coloured =
    level === 'breach' ? paint.red(paint.bold(text)) : level === 'near' ? paint.yellow(text) : text;
  return `${coloured}${limit}`;
};

/** A table with plain borders: cli-table3's own header colour is off, so NO_COLOR and pipes stay plain. */
export const renderTable = (
  head: readonly string[],
  rows: readonly (readonly string[])[],
  paint: Paint,
): string => {
  const table = new Table({
    head: head.map((title) => paint.bold(title)),
    style: { head: [], border: [], compact: true },
  });
  for (const row of rows) table.push([...row]);
  return table.toString();
};

/** `label  value` lines, labels aligned: how `show` prints one session. */
export const renderFields = (fields: readonly (readonly [string, string])[], paint: Paint): string => {
  const width = Math.max(...fields.map(([label]) => label.length));
  return fields.map(([label, value]) => `${paint.dim(label.padEnd(width))}  ${value}`).join('\n');
};
