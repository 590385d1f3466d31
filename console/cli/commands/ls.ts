import * as z from 'zod';
import {
  type FleetStrategy,
  type FleetView,
  FleetViewSchema,
} from '../../../functions/api/read-strategies/schema';
import type { SessionStatus } from '../../../shared/domain/session';
import type { CommandContext } from '../context';
import { ApiRefusalError, UnreachableError } from '../errors';
import { drawdownCell, heartbeatCell, moneyCell, type Paint, renderTable, statusCell } from '../format';

export const LS_HEAD = [
  'STRATEGY',
  'MODE',
  'STATUS',
  'DESIRED',
  'HEARTBEAT',
  'PNL TODAY',
  'DRAWDOWN',
  'OPEN',
];

export const fleetCells = (row: FleetStrategy, paint: Paint): string[] => [
  row.risk_state === 'breached' ? `${row.strategy_id} ${paint.red('! risk')}` : row.strategy_id,
  row.trading_mode === 'live' ? paint.bold(row.trading_mode) : row.trading_mode,
  statusCell(row.status, paint),
  row.desired_state === row.status || !row.active
    ? paint.dim(row.desired_state)
    : paint.yellow(row.desired_state),
  heartbeatCell(row.heartbeat_age_s, row.stale_after_s, row.active, paint),
  moneyCell(row.pnl_today, row.stake_currency, paint),
  drawdownCell(row.drawdown_pct, row.max_drawdown_pct, paint),
  row.open_trade_count === null ? paint.dim('-') : String(row.open_trade_count),
];

/** The line under the table: counts by status, money per mode and currency, open alerts. */
export const totalsLine = (fleet: FleetView, paint: Paint): string => {
  const { totals } = fleet;
  const statuses = Object.entries(totals.by_status)
    .filter(([, count]) => count > 0)
    .map(([status, count]) => `${count} ${statusCell(status as SessionStatus, paint)}`)
    .join(', ');
  const money = totals.money.map(
    (total) =>
      `${total.trading_mode}${total.stake_currency ? ` ${total.stake_currency}` : ''}: equity ${total.equity.toFixed(2)}, today ${moneyCell(total.pnl_today, null, paint)}`,
  );
  const alerts = [
    totals.open_alerts.CRITICAL > 0 ? paint.red(paint.bold(`${totals.open_alerts.CRITICAL} CRITICAL`)) : '',
    totals.open_alerts.WARNING > 0 ? paint.yellow(`${totals.open_alerts.WARNING} WARNING`) : '',
  ].filter(Boolean);
  return [
    `${totals.strategies === 1 ? '1 strategy' : `${totals.strategies} strategies`}${statuses === '' ? '' : ` (${statuses})`}`,
    ...money,
    alerts.length === 0 ? paint.dim('no open alerts') : `open alerts: ${alerts.join(', ')}`,
  ].join('  |  ');
};

const ScopeViewSchema = z.looseObject({
  scope: z.enum(['fleet', 'account']),
  account_id: z.string().nullable(),
  state: z.enum(['active', 'reducing', 'halted']),
  changed_by: z.string(),
  reason: z.string(),
  changed_at: z.string(),
});
export const FleetStateReplySchema = z.looseObject({
  fleet: ScopeViewSchema,
  accounts: z.array(ScopeViewSchema),
});

/**
 * A halted or reducing fleet or account, in red under the table: the first thing on call needs to know.
 * GET /fleet/state is a second read; an API without it (404) shows none, any other failure is a warning,
 * never a reason to hide the fleet.
 */
const haltLines = async (ctx: CommandContext): Promise<string[]> => {
  const api = await ctx.api();
  const state = await api.get('/fleet/state', FleetStateReplySchema).catch((error: unknown) => {
    if (!(error instanceof ApiRefusalError && error.status === 404))
      ctx.note(ctx.paint.yellow(`trading state unknown: ${(error as Error).message}`));
    return undefined;
  });
  if (state === undefined) return [];
  return [state.fleet, ...state.accounts]
    .filter((scope) => scope.state !== 'active')
    .map((scope) =>
      ctx.paint.red(
        ctx.paint.bold(
          `${scope.scope === 'fleet' ? 'FLEET' : `ACCOUNT ${scope.account_id}`} ${scope.state.toUpperCase()} since ${scope.changed_at} by ${scope.changed_by}: ${scope.reason} (tradai resume-fleet${scope.scope === 'fleet' ? '' : ` --account ${scope.account_id}`})`,
        ),
      ),
    );
};

/**
 * The fleet `elapsedS` after it was read: what a 304 leaves to the client (the ETag covers the state, not
 * the clock), so an active session's heartbeat keeps ageing on screen while nothing changes.
 */
export const agedFleet = (fleet: FleetView, elapsedS: number): FleetView => ({
  ...fleet,
  strategies: fleet.strategies.map((row) =>
    row.active && row.heartbeat_age_s !== null
      ? { ...row, heartbeat_age_s: row.heartbeat_age_s + elapsedS }
      : row,
  ),
});

const fleetText = (ctx: CommandContext, fleet: FleetView, halts: readonly string[]): string[] => [
  ...(fleet.strategies.length === 0
    ? [ctx.paint.dim('no strategies yet: tradai start <strategy> --model <name> --mode dry-run')]
    : [
        renderTable(
          LS_HEAD,
          fleet.strategies.map((row) => fleetCells(row, ctx.paint)),
          ctx.paint,
        ),
        totalsLine(fleet, ctx.paint),
      ]),
  ...halts,
  ...(fleet.truncated
    ? [ctx.paint.yellow('the list is truncated: more strategies than one read returns')]
    : []),
];

export interface LsOptions {
  watch?: boolean;
  interval: number;
}

const MAX_FAILED_POLLS = 5;

/**
 * GET /fleet: every strategy's current session in one read, with the stale threshold and the totals.
 * --watch polls it with If-None-Match: a 304 costs the API almost nothing and the screen only ages the
 * heartbeats; --json --watch prints the view as a JSON line each time it changes.
 */
export const lsCommand = async (ctx: CommandContext, options: LsOptions = { interval: 2 }): Promise<void> => {
  const api = await ctx.api();
  if (options.watch !== true) {
    const fleet = await api.get('/fleet', FleetViewSchema);
    if (ctx.json) ctx.printJson(fleet);
    else for (const line of fleetText(ctx, fleet, await haltLines(ctx))) ctx.print(line);
    return;
  }
  let fleet: FleetView | undefined;
  let etag: string | undefined;
  let readAt = 0;
  let halts: string[] = [];
  let failures = 0;
  while (!ctx.io.signal.aborted) {
    const reply = await api.getIfChanged('/fleet', FleetViewSchema, etag).catch((error: unknown) => {
      // A dropped connection or a restarting cloud is waited out, showing what was last read.
      if (!(error instanceof UnreachableError) || fleet === undefined) throw error;
      failures += 1;
      if (failures >= MAX_FAILED_POLLS) throw error;
      return undefined;
    });
    if (reply !== undefined) failures = 0;
    if (reply !== undefined && !reply.unchanged) {
      fleet = reply.body;
      etag = reply.etag;
      readAt = Date.now();
      if (ctx.json) ctx.io.stdout.write(`${JSON.stringify(fleet)}\n`);
      else halts = await haltLines(ctx);
    }
    if (!ctx.json && fleet !== undefined) {
      const screen = fleetText(ctx, agedFleet(fleet, (Date.now() - readAt) / 1000), halts);
      const status = ctx.paint.dim(
        `${new Date().toISOString()}  every ${options.interval}s, Ctrl-C to stop${failures > 0 ? '  (API unreachable: showing the last read)' : ''}`,
      );
      // On a terminal the screen is redrawn in place; a pipe gets one block per poll.
      if (ctx.io.stdout.isTTY === true) ctx.io.stdout.write('\u001b[H\u001b[2J');
      ctx.print([status, ...screen].join('\n'));
    }
    await ctx.sleep(options.interval * 1000);
  }
};
