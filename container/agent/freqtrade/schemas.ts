/**
 * The parts of Freqtrade's REST API v1 replies the agent relies on, from Freqtrade's own
 * `freqtrade/rpc/api_server/api_schemas.py` and `api_v1.py`. Objects stay loose: Freqtrade adds
 * fields between versions and the agent must not break on them. Freqtrade sends NaN/±inf as null,
 * so floats that can be undefined on its side are nullable. `*_ts` are seconds, `*_timestamp` ms.
 */
import * as z from 'zod';

const NullableFloat = z.number().nullable().optional();

export const PingSchema = z.looseObject({ status: z.string() });
export const StatusMsgSchema = z.looseObject({ status: z.string() });
export const ResultMsgSchema = z.looseObject({ result: z.string() });
export const AccessTokenSchema = z.looseObject({ access_token: z.string().min(1) });
export const LoginTokensSchema = AccessTokenSchema.extend({ refresh_token: z.string().min(1) });

/** `state` is Freqtrade's State enum in lowercase: running | paused (≥ 2025.4) | stopped | reload_config. */
export const ShowConfigSchema = z.looseObject({
  version: z.string().optional(),
  state: z.string(),
  dry_run: z.boolean().optional(),
  stake_currency: z.string(),
  runmode: z.string().optional(),
  max_open_trades: z.number().optional(),
});
export type ShowConfig = z.infer<typeof ShowConfigSchema>;

/** `/health`: when the bot loop last ran. `null` before the first iteration. */
export const HealthSchema = z.looseObject({
  last_process: z.string().nullable().optional(),
  last_process_ts: z.number().nullable().optional(),
});
export type Health = z.infer<typeof HealthSchema>;

/** `/profit`: `max_drawdown` here counts closed trades only, so the agent derives its own drawdown. */
export const ProfitSchema = z.looseObject({
  profit_closed_coin: z.number(),
  profit_all_coin: z.number(),
  trade_count: z.number().int(),
  closed_trade_count: z.number().int().optional(),
  winning_trades: z.number().int(),
  losing_trades: z.number().int(),
  winrate: z.number().nullable().optional(),
  latest_trade_timestamp: z.number().int(),
});
export type Profit = z.infer<typeof ProfitSchema>;

/** One element of `/status` (open trades only). */
export const OpenTradeSchema = z.looseObject({
  trade_id: z.number().int(),
  pair: z.string(),
  is_short: z.boolean(),
  amount: z.number(),
  open_rate: z.number(),
  current_rate: NullableFloat,
  stake_amount: z.number(),
  leverage: NullableFloat,
  profit_abs: NullableFloat,
  profit_ratio: NullableFloat,
  open_timestamp: z.number().int(),
});
export type FreqtradeOpenTrade = z.infer<typeof OpenTradeSchema>;
export const StatusSchema = z.array(OpenTradeSchema);

/** `/trades`: closed trades, a page of them (`order_by_id=false`: the latest closed first). */
export const TradeHistorySchema = z.looseObject({
  trades: z.array(z.looseObject({ trade_id: z.number().int(), pair: z.string(), is_open: z.boolean() })),
  total_trades: z.number().int(),
});
export type TradeHistory = z.infer<typeof TradeHistorySchema>;

/**
 * `/balance`: `total` is the account's value in the stake currency, positions marked to market at
 * tickers Freqtrade caches for up to 10 minutes (2026.9 `get_conversion_rate(cached=True)`), so a
 * crash shows here late; `currencies` gives the bot's cash (the stake currency's `est_stake_bot`).
 */
export const BalanceSchema = z.looseObject({
  total: z.number(),
  total_bot: NullableFloat,
  stake: z.string(),
  starting_capital: NullableFloat,
  currencies: z.array(z.looseObject({ currency: z.string(), est_stake_bot: NullableFloat })).optional(),
});
export type Balance = z.infer<typeof BalanceSchema>;

/** `/count`: `total_stake` is the stake in open trades (the exposure the ladder watches). */
export const CountSchema = z.looseObject({
  current: z.number().int(),
  max: z.number(),
  total_stake: z.number(),
});
export type Count = z.infer<typeof CountSchema>;

/** `/daily?timescale=1`: today's closed-trade profit (UTC day), newest first. */
export const DailySchema = z.looseObject({
  data: z.array(
    z.looseObject({
      date: z.string(),
      abs_profit: z.number(),
      trade_count: z.number().int(),
    }),
  ),
});
export type Daily = z.infer<typeof DailySchema>;

/** Freqtrade's answer to a state-dependent refusal (RPCException → HTTP 502). */
export const RpcErrorSchema = z.looseObject({ error: z.string() });
