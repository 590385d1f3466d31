/**
 * Freqtrade REST API v1 response and payload shapes, written from Freqtrade's own
 * `freqtrade/rpc/api_server/api_schemas.py` (pydantic models) and the dicts `freqtrade/rpc/rpc.py`
 * returns. The simulator answers with these shapes and the container agent parses real Freqtrade
 * with the same schemas, so field names must stay Freqtrade's.
 *
 * Objects are not strict: real Freqtrade adds fields between versions (and `/trades` has no
 * response model, so every `Trade.to_json()` key goes out), and a client must not break on them.
 * Fields that only newer Freqtrade versions send are optional.
 *
 * Wire details worth knowing (they are not visible in the pydantic models):
 * - Freqtrade serialises NaN and +/-Infinity as `null` (pydantic JSON mode, then orjson), so a
 *   field declared `float` can arrive as `null`: `profit_factor` is `null` while there is no losing
 *   trade, and a trade's profit is `null` when its pair has no price.
 * - Timestamps called `*_timestamp` are milliseconds; `/health`'s `*_ts` are seconds.
 * - Dates called `*_date` are `YYYY-MM-DD HH:MM:SS` in UTC; `/health`'s datetimes are ISO 8601.
 */
import * as z from 'zod';

/** A float Freqtrade may send as `null` (NaN or infinity on its side). */
const NullableFloat = z.number().nullable();
const OptionalFloat = z.number().nullable().optional();
const OptionalInt = z.number().int().nullable().optional();
const OptionalString = z.string().nullable().optional();

export const PingSchema = z.object({ status: z.string() });
export type Ping = z.infer<typeof PingSchema>;

export const VersionSchema = z.object({ version: z.string() });
export type Version = z.infer<typeof VersionSchema>;

/** Answer of /start, /stop, /pause (/stopentry, /stopbuy) and /reload_config. */
export const StatusMsgSchema = z.object({ status: z.string() });
export type StatusMsg = z.infer<typeof StatusMsgSchema>;

/** Answer of /forceexit. */
export const ResultMsgSchema = z.object({ result: z.string() });
export type ResultMsg = z.infer<typeof ResultMsgSchema>;

export const AccessTokenSchema = z.object({ access_token: z.string() });
export type AccessToken = z.infer<typeof AccessTokenSchema>;

export const AccessAndRefreshTokenSchema = AccessTokenSchema.extend({ refresh_token: z.string() });
export type AccessAndRefreshToken = z.infer<typeof AccessAndRefreshTokenSchema>;

/** `max` is -1 when `max_open_trades` is unlimited; `total_stake` is open_rate * amount (notional). */
export const CountSchema = z.object({
  current: z.number().int(),
  max: z.number().int(),
  total_stake: z.number(),
});
export type Count = z.infer<typeof CountSchema>;

export const BalanceSchema = z.object({
  currency: z.string(),
  free: z.number(),
  balance: z.number(),
  used: z.number(),
  bot_owned: OptionalFloat,
  est_stake: z.number(),
  est_stake_bot: OptionalFloat,
  stake: z.string(),
  side: z.string(),
  is_position: z.boolean(),
  position: z.number(),
  is_bot_managed: z.boolean(),
});
export type Balance = z.infer<typeof BalanceSchema>;

/** `total` / `total_bot` are the account's value in the stake currency, open positions marked to market. */
export const BalancesSchema = z.object({
  currencies: z.array(BalanceSchema),
  total: z.number(),
  total_bot: z.number(),
  symbol: z.string(),
  value: z.number(),
  value_bot: z.number(),
  stake: z.string(),
  note: z.string(),
  starting_capital: z.number(),
  starting_capital_ratio: z.number(),
  starting_capital_pct: z.number(),
  starting_capital_fiat: z.number(),
  starting_capital_fiat_ratio: z.number(),
  starting_capital_fiat_pct: z.number(),
});
export type Balances = z.infer<typeof BalancesSchema>;

/**
 * `/profit`. Beware: `max_drawdown` (a ratio, 0.12 = 12 %) and `max_drawdown_abs` are computed from
 * CLOSED trades only (the realised equity curve); an open position's loss never shows there. The
 * unrealised part is in `profit_all_coin` (closed + open) and in `/balance`.
 */
export const ProfitSchema = z.object({
  profit_closed_coin: z.number(),
  profit_closed_percent_mean: z.number(),
  profit_closed_ratio_mean: z.number(),
  profit_closed_percent_sum: z.number(),
  profit_closed_ratio_sum: z.number(),
  profit_closed_percent: z.number(),
  profit_closed_ratio: z.number(),
  profit_closed_fiat: z.number(),
  profit_all_coin: z.number(),
  profit_all_percent_mean: z.number(),
  profit_all_ratio_mean: z.number(),
  profit_all_percent_sum: z.number(),
  profit_all_ratio_sum: z.number(),
  profit_all_percent: z.number(),
  profit_all_ratio: z.number(),
  profit_all_fiat: z.number(),
  trade_count: z.number().int(),
  closed_trade_count: z.number().int(),
  first_trade_date: z.string(),
  first_trade_humanized: z.string(),
  first_trade_timestamp: z.number().int(),
  latest_trade_date: z.string(),
  latest_trade_humanized: z.string(),
  latest_trade_timestamp: z.number().int(),
  avg_duration: z.string(),
  best_pair: z.string(),
  best_rate: z.number(),
  best_pair_profit_ratio: z.number(),
  best_pair_profit_abs: z.number().optional(),
  winning_trades: z.number().int(),
  losing_trades: z.number().int(),
  /** `null` while there is no losing trade (infinity on Freqtrade's side). */
  profit_factor: NullableFloat,
  winrate: z.number(),
  expectancy: z.number(),
  expectancy_ratio: z.number(),
  sharpe: z.number().optional(),
  sortino: z.number().optional(),
  sqn: z.number().optional(),
  calmar: z.number().optional(),
  cagr: z.number().optional(),
  max_drawdown: z.number(),
  max_drawdown_abs: z.number(),
  max_drawdown_start: z.string(),
  max_drawdown_start_timestamp: z.number().int(),
  max_drawdown_end: z.string(),
  max_drawdown_end_timestamp: z.number().int(),
  current_drawdown: z.number().optional(),
  current_drawdown_abs: z.number().optional(),
  current_drawdown_high: z.number().optional(),
  current_drawdown_start: z.string().optional(),
  current_drawdown_start_timestamp: z.number().int().optional(),
  trading_volume: OptionalFloat,
  bot_start_timestamp: z.number().int(),
  bot_start_date: z.string(),
});
export type Profit = z.infer<typeof ProfitSchema>;

export const DailyWeeklyMonthlyRecordSchema = z.object({
  /** `YYYY-MM-DD` (UTC). */
  date: z.iso.date(),
  abs_profit: z.number(),
  rel_profit: z.number(),
  starting_balance: z.number(),
  fiat_value: z.number(),
  trade_count: z.number().int(),
});
export type DailyWeeklyMonthlyRecord = z.infer<typeof DailyWeeklyMonthlyRecordSchema>;

/** `/daily?timescale=N` (newest day first), also `/weekly` and `/monthly`. */
export const DailyWeeklyMonthlySchema = z.object({
  data: z.array(DailyWeeklyMonthlyRecordSchema),
  fiat_display_currency: z.string(),
  stake_currency: z.string(),
});
export type DailyWeeklyMonthly = z.infer<typeof DailyWeeklyMonthlySchema>;

export const OrderTypeValueSchema = z.enum(['limit', 'market']);
export type OrderTypeValue = z.infer<typeof OrderTypeValueSchema>;

export const UnfilledTimeoutSchema = z.object({
  entry: OptionalInt,
  exit: OptionalInt,
  unit: OptionalString,
  exit_timeout_count: OptionalInt,
});

export const OrderTypesSchema = z.object({
  entry: OrderTypeValueSchema,
  exit: OrderTypeValueSchema,
  emergency_exit: OrderTypeValueSchema.nullable().optional(),
  force_exit: OrderTypeValueSchema.nullable().optional(),
  force_entry: OrderTypeValueSchema.nullable().optional(),
  stoploss: OrderTypeValueSchema,
  stoploss_on_exchange: z.boolean(),
  stoploss_on_exchange_interval: OptionalInt,
});

/** The lowercase names of Freqtrade's `State` enum as `/show_config` reports them. */
export const BotStateNameSchema = z.enum(['running', 'paused', 'stopped', 'reload_config']);
export type BotStateName = z.infer<typeof BotStateNameSchema>;

/**
 * `/show_config`. `state` is one of {@link BotStateNameSchema} (`paused` exists since Freqtrade
 * 2025.4); `runmode` is `dry_run` or `live`; `max_open_trades` is -1 for unlimited.
 */
export const ShowConfigSchema = z.object({
  version: z.string(),
  strategy_version: OptionalString,
  api_version: z.number(),
  dry_run: z.boolean(),
  trading_mode: z.string(),
  margin_mode: z.string().optional(),
  short_allowed: z.boolean(),
  stake_currency: z.string(),
  stake_amount: z.string(),
  available_capital: OptionalFloat,
  stake_currency_decimals: z.number().int(),
  max_open_trades: z.number(),
  minimal_roi: z.record(z.string(), z.unknown()),
  stoploss: OptionalFloat,
  stoploss_on_exchange: z.boolean(),
  trailing_stop: z.boolean().nullable().optional(),
  trailing_stop_positive: OptionalFloat,
  trailing_stop_positive_offset: OptionalFloat,
  trailing_only_offset_is_reached: z.boolean().nullable().optional(),
  unfilledtimeout: UnfilledTimeoutSchema.nullable().optional(),
  order_types: OrderTypesSchema.nullable().optional(),
  use_custom_stoploss: z.boolean().nullable().optional(),
  timeframe: OptionalString,
  timeframe_ms: z.number().int(),
  timeframe_min: z.number().int(),
  exchange: z.string(),
  strategy: OptionalString,
  force_entry_enable: z.boolean(),
  exit_pricing: z.record(z.string(), z.unknown()),
  entry_pricing: z.record(z.string(), z.unknown()),
  bot_name: z.string(),
  state: z.string(),
  runmode: z.string(),
  position_adjustment_enable: z.boolean(),
  max_entry_position_adjustment: z.number().int(),
});
export type ShowConfig = z.infer<typeof ShowConfigSchema>;

export const OrderSchema = z.object({
  pair: z.string(),
  order_id: z.string(),
  status: z.string(),
  remaining: OptionalFloat,
  amount: z.number(),
  safe_price: z.number(),
  cost: z.number(),
  filled: OptionalFloat,
  ft_order_side: z.string(),
  order_type: z.string(),
  is_open: z.boolean(),
  order_timestamp: OptionalInt,
  order_filled_timestamp: OptionalInt,
  ft_fee_base: OptionalFloat,
  ft_order_tag: OptionalString,
});
export type Order = z.infer<typeof OrderSchema>;

export const TradingModeSchema = z.enum(['spot', 'margin', 'futures']);
export type TradingMode = z.infer<typeof TradingModeSchema>;

/** One trade as `Trade.to_json()` renders it (`/trades`, and the base of `/status`). */
export const TradeSchema = z.object({
  trade_id: z.number().int(),
  pair: z.string(),
  base_currency: z.string(),
  quote_currency: z.string(),
  is_open: z.boolean(),
  is_short: z.boolean(),
  exchange: z.string(),
  amount: z.number(),
  amount_requested: OptionalFloat,
  stake_amount: z.number(),
  max_stake_amount: OptionalFloat,
  strategy: z.string(),
  enter_tag: OptionalString,
  timeframe: z.number().int(),
  fee_open: OptionalFloat,
  fee_open_cost: OptionalFloat,
  fee_open_currency: OptionalString,
  fee_close: OptionalFloat,
  fee_close_cost: OptionalFloat,
  fee_close_currency: OptionalString,
  open_date: z.string(),
  open_timestamp: z.number().int(),
  open_fill_date: OptionalString,
  open_fill_timestamp: OptionalInt,
  open_rate: z.number(),
  open_rate_requested: OptionalFloat,
  open_trade_value: z.number(),
  close_date: OptionalString,
  close_timestamp: OptionalInt,
  close_rate: OptionalFloat,
  close_rate_requested: OptionalFloat,
  close_profit: OptionalFloat,
  close_profit_pct: OptionalFloat,
  close_profit_abs: OptionalFloat,
  profit_ratio: OptionalFloat,
  profit_pct: OptionalFloat,
  profit_abs: OptionalFloat,
  profit_fiat: OptionalFloat,
  realized_profit: z.number(),
  realized_profit_ratio: OptionalFloat,
  exit_reason: OptionalString,
  exit_order_status: OptionalString,
  stop_loss_abs: OptionalFloat,
  stop_loss_ratio: OptionalFloat,
  stop_loss_pct: OptionalFloat,
  stoploss_last_update: OptionalString,
  stoploss_last_update_timestamp: OptionalInt,
  initial_stop_loss_abs: OptionalFloat,
  initial_stop_loss_ratio: OptionalFloat,
  initial_stop_loss_pct: OptionalFloat,
  min_rate: OptionalFloat,
  max_rate: OptionalFloat,
  nr_of_successful_entries: z.number().int().optional(),
  nr_of_successful_exits: z.number().int().optional(),
  has_open_orders: z.boolean(),
  orders: z.array(OrderSchema),
  leverage: OptionalFloat,
  interest_rate: OptionalFloat,
  liquidation_price: OptionalFloat,
  funding_fees: OptionalFloat,
  trading_mode: TradingModeSchema.nullable().optional(),
  amount_precision: OptionalFloat,
  price_precision: OptionalFloat,
  precision_mode: OptionalInt,
});
export type Trade = z.infer<typeof TradeSchema>;

/** One element of `/status` (open trades only; `[]` when there are none, in every state). */
export const OpenTradeSchema = TradeSchema.extend({
  stoploss_current_dist: OptionalFloat,
  stoploss_current_dist_pct: OptionalFloat,
  stoploss_current_dist_ratio: OptionalFloat,
  stoploss_entry_dist: OptionalFloat,
  stoploss_entry_dist_ratio: OptionalFloat,
  /** `null` when the exchange gave no price (NaN on Freqtrade's side). */
  current_rate: NullableFloat,
  total_profit_abs: NullableFloat,
  total_profit_fiat: OptionalFloat,
  total_profit_ratio: OptionalFloat,
});
export type OpenTrade = z.infer<typeof OpenTradeSchema>;

/** `/trades?limit=&offset=`: closed trades only. */
export const TradeResponseSchema = z.object({
  trades: z.array(TradeSchema),
  trades_count: z.number().int(),
  offset: z.number().int(),
  total_trades: z.number().int(),
});
export type TradeResponse = z.infer<typeof TradeResponseSchema>;

/**
 * `/health`. `last_process` is when the bot loop last ran (RUNNING or PAUSED; it does not run when
 * STOPPED); `null` until the first iteration and again after /reload_config. `*_ts` are seconds.
 */
export const HealthSchema = z.object({
  last_process: OptionalString,
  last_process_ts: OptionalInt,
  bot_start: OptionalString,
  bot_start_ts: OptionalInt,
  bot_startup: OptionalString,
  bot_startup_ts: OptionalInt,
});
export type Health = z.infer<typeof HealthSchema>;

export const WhitelistResponseSchema = z.object({
  whitelist: z.array(z.string()),
  length: z.number().int(),
  method: z.array(z.string()),
});
export type WhitelistResponse = z.infer<typeof WhitelistResponseSchema>;

export const LocksSchema = z.object({
  lock_count: z.number().int(),
  locks: z.array(z.record(z.string(), z.unknown())),
});
export type Locks = z.infer<typeof LocksSchema>;

/** Body of POST /forceexit (/forcesell). `tradeid` is a trade id or `"all"`. */
export const ForceExitPayloadSchema = z.object({
  tradeid: z.union([z.string(), z.number().int()]),
  ordertype: OrderTypeValueSchema.nullable().optional(),
  amount: OptionalFloat,
  price: OptionalFloat,
});
export type ForceExitPayload = z.infer<typeof ForceExitPayloadSchema>;

/** Body of POST /forceenter (/forcebuy). */
export const ForceEnterPayloadSchema = z.object({
  pair: z.string(),
  side: z.enum(['long', 'short']).default('long'),
  price: OptionalFloat,
  ordertype: OrderTypeValueSchema.nullable().optional(),
  stakeamount: OptionalFloat,
  entry_tag: OptionalString,
  leverage: OptionalFloat,
});
export type ForceEnterPayload = z.infer<typeof ForceEnterPayloadSchema>;

/**
 * The body of every refusal Freqtrade raises as `RPCException`, with HTTP 502:
 * `{"error": "Error querying /api/v1/forceexit: trader is not running"}`.
 */
export const RpcErrorSchema = z.object({ error: z.string() });
export type RpcErrorBody = z.infer<typeof RpcErrorSchema>;

/** FastAPI's error body: 401/404 carry a string, 422 a list of validation issues. */
export const HttpErrorSchema = z.object({
  detail: z.union([z.string(), z.array(z.record(z.string(), z.unknown()))]),
});
export type HttpErrorBody = z.infer<typeof HttpErrorSchema>;

/** The JWT claims Freqtrade signs (HS256 with `api_server.jwt_secret_key`). */
export const JwtClaimsSchema = z.object({
  identity: z.object({ u: z.string() }),
  exp: z.number(),
  iat: z.number(),
  type: z.enum(['access', 'refresh']),
});
export type JwtClaims = z.infer<typeof JwtClaimsSchema>;

// ---------------------------------------------------------------------------------------------
// Simulator-only shapes (GET /sim/state); real Freqtrade has no such route.
// ---------------------------------------------------------------------------------------------

export const SimStateSchema = z.object({
  state: BotStateNameSchema,
  scenario: z.record(z.string(), z.unknown()),
  /** Whether the scenario's `at_s` has passed (always true for `steady` and `slow`). */
  scenario_triggered: z.boolean(),
  tick_count: z.number().int(),
  /** Loop iterations that ran the bot (RUNNING or PAUSED, not frozen by a scenario). */
  process_count: z.number().int(),
  last_process_ts: z.number().int().nullable(),
  open_trades: z.number().int(),
  closed_trades: z.number().int(),
  starting_capital: z.number(),
  /** Starting capital + realised + unrealised profit (fees included), in the stake currency. */
  equity: z.number(),
  peak_equity: z.number(),
  /** Drawdown of `equity` from `peak_equity`, in percent. */
  equity_drawdown_pct: z.number(),
  max_equity_drawdown_pct: z.number(),
  prices: z.record(z.string(), z.number()),
});
export type SimState = z.infer<typeof SimStateSchema>;
