import { StrategyIdSchema } from '../../../shared/domain/session';
import type { CommandContext } from '../context';
import { UsageError } from '../errors';
import {
  drawdownCell,
  formatMoney,
  heartbeatCell,
  moneyCell,
  renderFields,
  renderTable,
  statusCell,
} from '../format';
import {
  HistoryPageSchema,
  type HistoryPoint,
  type SessionView,
  StrategyReplySchema,
  TradesReplySchema,
} from '../replies';

/** A strategy id as the API's path parameter takes it: a bad one is a usage error before any request. */
export const strategyIdOf = (value: string): string => {
  const parsed = StrategyIdSchema.safeParse(value);
  if (!parsed.success)
    throw new UsageError(`strategy id ${JSON.stringify(value)}: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
};

export const sessionFields = (session: SessionView, ctx: CommandContext): [string, string][] => {
  const { paint } = ctx;
  const currency = session.metrics?.stake_currency ?? null;
  const reason = session.status_reason === null ? '' : paint.dim(` (${session.status_reason})`);
  const breaches = session.risk?.breaches ?? [];
  return [
    [
      'strategy',
      `${session.strategy_id} ${paint.dim(`${session.strategy_name}${session.strategy_version ? ` v${session.strategy_version}` : ''}`)}`,
    ],
    ['run', session.run_id],
    ['mode', session.trading_mode === 'live' ? paint.bold(paint.red('live')) : session.trading_mode],
    ['status', `${statusCell(session.status, paint)}${reason}`],
    ['desired', session.desired_state],
    [
      'heartbeat',
      session.last_heartbeat === null
        ? paint.dim('none yet')
        : `${heartbeatCell(session.heartbeat_age_s, undefined, session.active, paint)} ago (${session.last_heartbeat})`,
    ],
    ['pnl today', moneyCell(session.metrics?.pnl_today, currency, paint)],
    ['pnl total', moneyCell(session.metrics?.pnl_total, currency, paint)],
    [
      'equity',
      formatMoney(session.risk?.snapshot?.equity ?? session.metrics?.equity, currency).replace(/^\+/, ''),
    ],
    [
      'drawdown',
      drawdownCell(session.risk?.snapshot?.drawdown_pct, session.risk_limits.max_drawdown_pct, paint),
    ],
    ['daily loss limit', formatMoney(-session.risk_limits.max_daily_loss, currency)],
    [
      'risk',
      session.risk === null
        ? paint.dim('not assessed yet')
        : session.risk.state === 'ok'
          ? paint.green('ok')
          : paint.red(paint.bold(session.risk.state)),
    ],
    ...breaches.map((breach): [string, string] => ['  breach', paint.red(breach.message)]),
    ['open trades', String(session.open_trade_count)],
    ['exchange', `${session.exchange ?? '-'} ${paint.dim(session.pairs.join(' '))}`],
    ['started', `${session.started_at ?? '-'} by ${session.requested_by}`],
    ['flatten on stop', session.flatten_on_stop ? 'yes' : 'no'],
  ];
};

export const showCommand = async (ctx: CommandContext, strategy: string): Promise<void> => {
  const id = strategyIdOf(strategy);
  const api = await ctx.api();
  const { session } = await api.get(`/strategies/${id}`, StrategyReplySchema);
  const trades = await api.get(`/strategies/${id}/trades`, TradesReplySchema);
  if (ctx.json) {
    ctx.printJson({ session, open_trades: trades.open_trades });
    return;
  }
  ctx.print(renderFields(sessionFields(session, ctx), ctx.paint));
  if (trades.open_trades.length === 0) return;
  ctx.print('');
  ctx.print(
    renderTable(
      ['TRADE', 'PAIR', 'SIDE', 'AMOUNT', 'OPEN', 'NOW', 'STAKE', 'PROFIT', 'OPENED'],
      trades.open_trades.map((trade) => [
        String(trade.trade_id),
        trade.pair,
        trade.is_short ? 'short' : 'long',
        String(trade.amount),
        String(trade.open_rate),
        trade.current_rate === null ? '-' : String(trade.current_rate),
        trade.stake_amount.toFixed(2),
        `${moneyCell(trade.profit_abs, null, ctx.paint)} ${ctx.paint.dim(`${(trade.profit_ratio * 100).toFixed(2)}%`)}`,
        trade.open_date,
      ]),
      ctx.paint,
    ),
  );
};

export interface HistoryOptions {
  run?: string;
  from?: string;
  to?: string;
  limit: number;
}

/** `?from=&to=&run_id=&limit=`, only what was given. */
export const queryString = (entries: Record<string, string | number | undefined>): string => {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(entries)) if (value !== undefined) search.set(key, String(value));
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
};

/** Pages through the API's cursor until `limit` points (the API's page is at most 1000). */
export const historyCommand = async (ctx: CommandContext, strategy: string, options: HistoryOptions) => {
  const id = strategyIdOf(strategy);
  const api = await ctx.api();
  const items: HistoryPoint[] = [];
  let cursor: string | undefined;
  let runId = options.run ?? '';
  do {
    const page = await api.get(
      `/strategies/${id}/pnl/history${queryString({
        run_id: options.run,
        from: options.from,
        to: options.to,
        limit: Math.min(1000, options.limit - items.length),
        cursor,
      })}`,
      HistoryPageSchema,
    );
    runId = page.run_id;
    items.push(...page.items);
    cursor = page.cursor;
  } while (cursor !== undefined && items.length < options.limit);
  if (ctx.json) {
    ctx.printJson({ strategy_id: id, run_id: runId, items });
    return;
  }
  if (items.length === 0) {
    ctx.print(`${id} (run ${runId}): no heartbeats recorded yet`);
    return;
  }
  ctx.print(ctx.paint.dim(`${id}, run ${runId}: ${items.length} points`));
  ctx.print(
    renderTable(
      ['AT', 'SEQ', 'EQUITY', 'PNL TODAY', 'PNL TOTAL', 'DRAWDOWN', 'OPEN'],
      items.map((point) => [
        point.recorded_at,
        String(point.seq),
        point.equity === null ? '-' : point.equity.toFixed(2),
        moneyCell(point.pnl_today, null, ctx.paint),
        moneyCell(point.pnl_total, null, ctx.paint),
        drawdownCell(point.drawdown_pct, null, ctx.paint),
        String(point.open_trade_count),
      ]),
      ctx.paint,
    ),
  );
};
