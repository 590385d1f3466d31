import { AlertSeveritySchema } from '../../../shared/domain/ports';
import type { CommandContext } from '../context';
import { UnreachableError, UsageError } from '../errors';
import { type Paint, renderTable } from '../format';
import { AlertsPageSchema, type AlertView } from '../replies';
import { queryString, strategyIdOf } from './read';

export interface AlertsOptions {
  strategy?: string;
  since?: string;
  severity?: string;
  limit: number;
  follow?: boolean;
  interval: number;
}

/** `--since` as an ISO time or an age back from now: `30m`, `2h`, `7d`. */
export const sinceOf = (value: string | undefined, nowMs: number): string | undefined => {
  if (value === undefined) return undefined;
  const age = /^(\d+)([smhd])$/.exec(value);
  if (age !== null) {
    const unit = { s: 1, m: 60, h: 3600, d: 86_400 }[age[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(nowMs - Number(age[1]) * unit * 1000).toISOString();
  }
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(value) || Number.isNaN(Date.parse(value)))
    throw new UsageError(
      `--since must be an ISO time (2026-01-31T12:00:00Z) or an age (30m, 2h, 7d), not ${JSON.stringify(value)}`,
    );
  return new Date(value).toISOString();
};

const MAX_FAILED_POLLS = 5;

const SEVERITY_COLOUR = { CRITICAL: 'red', WARNING: 'yellow', INFO: 'cyan' } as const;

const severityCell = (severity: string, paint: Paint) => {
  const colour = SEVERITY_COLOUR[severity as keyof typeof SEVERITY_COLOUR];
  return colour === undefined
    ? severity
    : paint[colour](severity === 'CRITICAL' ? paint.bold(severity) : severity);
};

export const alertRows = (alerts: readonly AlertView[], paint: Paint) =>
  alerts.map((alert) => [
    alert.at,
    severityCell(alert.severity, paint),
    alert.strategy_id,
    alert.kind,
    alert.subject,
  ]);

export const alertLine = (alert: AlertView, paint: Paint) =>
  `${paint.dim(alert.at)}  ${severityCell(alert.severity, paint)}  ${alert.strategy_id}  ${alert.kind}  ${alert.subject}`;

/**
 * GET /alerts (or /strategies/{id}/alerts), newest first, paged until --limit. --follow then asks every
 * --interval seconds for what is newer than the newest seen, printing oldest first, until Ctrl-C.
 */
export const alertsCommand = async (ctx: CommandContext, options: AlertsOptions): Promise<void> => {
  const strategy = options.strategy === undefined ? undefined : strategyIdOf(options.strategy);
  if (options.severity !== undefined && !AlertSeveritySchema.safeParse(options.severity).success)
    throw new UsageError(
      `--severity must be one of ${AlertSeveritySchema.options.join(', ')}, not ${JSON.stringify(options.severity)}`,
    );
  const since = sinceOf(options.since, Date.now());
  const api = await ctx.api();
  const path = strategy === undefined ? '/alerts' : `/strategies/${strategy}/alerts`;
  const read = async (from: string | undefined, limit: number): Promise<AlertView[]> => {
    const items: AlertView[] = [];
    let cursor: string | undefined;
    do {
      const page = await api.get(
        `${path}${queryString({
          since: from,
          severity: options.severity,
          limit: Math.min(1000, limit - items.length),
          cursor,
        })}`,
        AlertsPageSchema,
      );
      items.push(...page.items);
      cursor = page.cursor;
    } while (cursor !== undefined && items.length < limit);
    return items;
  };

  const first = await read(since, options.limit);
  if (!options.follow) {
    if (ctx.json) ctx.printJson({ items: first });
    else if (first.length === 0) ctx.print(ctx.paint.dim('no alerts'));
    else
      ctx.print(
        renderTable(
          ['AT', 'SEVERITY', 'STRATEGY', 'KIND', 'SUBJECT'],
          alertRows(first, ctx.paint),
          ctx.paint,
        ),
      );
    return;
  }

  // Following: JSON lines (one alert a line) with --json, oldest first, each alert once (by dedup id).
  const seen = new Set<string>();
  const emit = (alerts: readonly AlertView[]) => {
    for (const alert of [...alerts].reverse()) {
      if (seen.has(alert.dedup_id)) continue;
      seen.add(alert.dedup_id);
      if (ctx.json) ctx.io.stdout.write(`${JSON.stringify(alert)}\n`);
      else ctx.print(alertLine(alert, ctx.paint));
    }
  };
  emit(first);
  let newest = first[0]?.at ?? since ?? new Date().toISOString();
  if (!ctx.json) ctx.note(ctx.paint.dim(`following ${path} (Ctrl-C to stop)`));
  let failures = 0;
  while (!ctx.io.signal.aborted) {
    await ctx.sleep(options.interval * 1000);
    if (ctx.io.signal.aborted) break;
    const fresh = await read(newest, 1000).catch((error: unknown) => {
      // A cloud restarting or a dropped connection is waited out; one that stays away ends the follow.
      if (!(error instanceof UnreachableError)) throw error;
      failures += 1;
      if (failures >= MAX_FAILED_POLLS) throw error;
      ctx.note(ctx.paint.yellow(`${error.message}; retrying`));
      return undefined;
    });
    if (fresh === undefined) continue;
    failures = 0;
    emit(fresh);
    newest = fresh[0]?.at ?? newest;
  }
};
