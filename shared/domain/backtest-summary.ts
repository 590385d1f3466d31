import * as z from 'zod';

/**
 * What a backtest recorded of its result, from Freqtrade's strategy stats (`total_trades`, `profit_total`,
 * `max_drawdown_account`, `winrate`, `sharpe`), in percent where Freqtrade gives fractions. Written on the
 * backtest session's item when it completes; the promotion gate reads it (shared/domain/model-promotion.ts).
 */
export const BacktestSummarySchema = z.object({
  total_trades: z.number().int().nonnegative(),
  profit_total_pct: z.number(),
  max_drawdown_pct: z.number().nonnegative(),
  win_rate: z.number().min(0).max(1),
  sharpe: z.number().nullable().optional(),
});
export type BacktestSummary = z.infer<typeof BacktestSummarySchema>;

/** Freqtrade's per-strategy stats, as `freqtrade backtesting --export trades` writes them (only what we read). */
const StrategyStatsSchema = z.looseObject({
  total_trades: z.number().int().nonnegative(),
  profit_total: z.number(),
  max_drawdown_account: z.number().nonnegative().optional(),
  winrate: z.number().min(0).max(1).optional(),
  sharpe: z.number().nullable().optional(),
});
const ResultSchema = z.looseObject({ strategy: z.record(z.string(), z.unknown()) });

const round = (value: number, places = 4) => Math.round(value * 10 ** places) / 10 ** places;

/** The summary of one strategy in a backtest result; undefined when the result does not hold it in that shape. */
export const backtestSummaryOf = (result: unknown, strategy: string): BacktestSummary | undefined => {
  const parsed = ResultSchema.safeParse(result);
  if (!parsed.success) return undefined;
  const stats = StrategyStatsSchema.safeParse(parsed.data.strategy[strategy]);
  if (!stats.success) return undefined;
  return {
    total_trades: stats.data.total_trades,
    profit_total_pct: round(stats.data.profit_total * 100),
    max_drawdown_pct: round((stats.data.max_drawdown_account ?? 0) * 100),
    win_rate: stats.data.winrate ?? 0,
    sharpe: stats.data.sharpe ?? null,
  };
};
