/**
 * The API's replies as the CLI reads them: only the fields it shows are checked, the rest is passed through
 * (loose objects) so `--json` prints the reply as the API sent it and a field added to the API breaks
 * nothing. A field the CLI relies on that is missing or of another type is an error naming it.
 */
import * as z from 'zod';
import { AlertViewSchema } from '../../shared/domain/alert-history';
import { DesiredStateSchema, SessionStatusSchema, TradingModeSchema } from '../../shared/domain/session';

const Money = z.number().nullable();

export const ErrorReplySchema = z.looseObject({
  message: z.string().optional(),
  error: z
    .looseObject({
      code: z.string().optional(),
      message: z.string().optional(),
      details: z.unknown().optional(),
    })
    .optional(),
});

const MetricsSchema = z.looseObject({
  pnl_today: z.number(),
  pnl_total: z.number(),
  equity: z.number().optional(),
  stake_currency: z.string().optional(),
});

const BreachSchema = z.looseObject({
  rule: z.string(),
  limit: z.number(),
  observed: z.number(),
  message: z.string(),
});

export const SessionViewSchema = z.looseObject({
  run_id: z.string(),
  strategy_id: z.string(),
  strategy_name: z.string(),
  strategy_version: z.string().nullable(),
  trading_mode: TradingModeSchema,
  status: SessionStatusSchema,
  status_reason: z.string().nullable(),
  desired_state: DesiredStateSchema,
  active: z.boolean(),
  flatten_on_stop: z.boolean(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  status_changed_at: z.string(),
  last_heartbeat: z.string().nullable(),
  heartbeat_age_s: z.number().nullable(),
  requested_by: z.string(),
  exchange: z.string().nullable(),
  pairs: z.array(z.string()),
  metrics: MetricsSchema.nullable(),
  open_trade_count: z.number(),
  risk_limits: z.looseObject({ max_drawdown_pct: z.number(), max_daily_loss: z.number() }),
  risk: z
    .looseObject({
      state: z.string(),
      snapshot: z.looseObject({ drawdown_pct: z.number(), equity: z.number() }).nullable(),
      breaches: z.array(BreachSchema),
    })
    .nullable(),
});
export type SessionView = z.infer<typeof SessionViewSchema>;

export const StrategyReplySchema = z.looseObject({ strategy_id: z.string(), session: SessionViewSchema });

export const OpenTradeViewSchema = z.looseObject({
  trade_id: z.number(),
  pair: z.string(),
  is_short: z.boolean(),
  amount: z.number(),
  open_rate: z.number(),
  current_rate: z.number().nullable(),
  stake_amount: z.number(),
  profit_abs: z.number(),
  profit_ratio: z.number(),
  open_date: z.string(),
});
export const TradesReplySchema = z.looseObject({
  run_id: z.string(),
  open_trades: z.array(OpenTradeViewSchema),
});

/** 202 of `POST /strategies/{id}/start`. */
export const StartReplySchema = z.looseObject({
  run_id: z.string(),
  strategy_id: z.string(),
  status: SessionStatusSchema,
});

/** 202 of pause, resume and stop. */
export const CommandReplySchema = z.looseObject({
  run_id: z.string(),
  strategy_id: z.string(),
  status: SessionStatusSchema,
  desired_state: DesiredStateSchema,
  flatten_on_stop: z.boolean(),
});
export type CommandReply = z.infer<typeof CommandReplySchema>;

export { AlertViewSchema };
export type AlertView = z.infer<typeof AlertViewSchema>;
export const AlertsPageSchema = z.looseObject({
  items: z.array(AlertViewSchema),
  cursor: z.string().optional(),
});

export const HistoryPointSchema = z.looseObject({
  recorded_at: z.string(),
  seq: z.number(),
  pnl_today: z.number(),
  pnl_total: z.number(),
  open_trade_count: z.number(),
  equity: Money,
  drawdown_pct: Money,
});
export type HistoryPoint = z.infer<typeof HistoryPointSchema>;
export const HistoryPageSchema = z.looseObject({
  run_id: z.string(),
  items: z.array(HistoryPointSchema),
  cursor: z.string().optional(),
});
