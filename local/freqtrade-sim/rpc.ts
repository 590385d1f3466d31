/**
 * Builds Freqtrade's response bodies from the paper bot, following `freqtrade/rpc/rpc.py`
 * (`_rpc_trade_statistics`, `_rpc_balance`, `_rpc_timeunit_profit`, `_rpc_count`, `health`, ...).
 * Bodies are parsed with the response schema before they leave, which both strips extra keys (as
 * FastAPI's `response_model` does) and fails loudly if the simulator ever drifts from the schema.
 */
import { type BotState, CAPABILITIES, type PaperBot, type RpcResult } from './bot';
import { API_VERSION } from './constants';
import {
  decimalsPerCoin,
  formatDate,
  formatDay,
  formatTimedelta,
  humanizeSince,
  isoDatetime,
  round,
  timeframeMinutes,
} from './format';
import {
  type Balance,
  type Balances,
  BalancesSchema,
  type Count,
  CountSchema,
  type DailyWeeklyMonthly,
  DailyWeeklyMonthlySchema,
  type Health,
  HealthSchema,
  type Locks,
  type OpenTrade,
  OpenTradeSchema,
  type Profit,
  ProfitSchema,
  type ShowConfig,
  ShowConfigSchema,
  type TradeResponse,
  TradeResponseSchema,
  type WhitelistResponse,
} from './schemas';
import type { PaperTrade } from './trade';

/** NaN and infinities go out as null, as Freqtrade's serialiser writes them. */
const finiteOrNull = (value: number): number | null => (Number.isFinite(value) ? value : null);

const mean = (values: number[]): number =>
  values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length;

const sum = (values: number[]): number => values.reduce((total, value) => total + value, 0);

/** numpy's std (population, ddof=0) or pandas' (sample, ddof=1). */
const stdev = (values: number[], ddof: 0 | 1): number => {
  if (values.length - ddof <= 0) return Number.NaN;
  const avg = mean(values);
  return Math.sqrt(values.reduce((total, value) => total + (value - avg) ** 2, 0) / (values.length - ddof));
};

const DAY_MS = 86_400_000;

export const showConfig = (bot: PaperBot, state: BotState | ''): ShowConfig => {
  const config = bot.config;
  const extra = config as Readonly<Record<string, unknown>>;
  const record = (key: string): Record<string, unknown> => {
    const value = extra[key];
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  };
  const minutes = timeframeMinutes(config.timeframe);
  return ShowConfigSchema.parse({
    version: config.sim.version,
    strategy_version: null,
    api_version: API_VERSION,
    dry_run: config.dry_run,
    trading_mode: config.trading_mode,
    margin_mode: config.margin_mode,
    short_allowed: config.trading_mode !== 'spot',
    stake_currency: config.stake_currency,
    stake_amount: String(config.stake_amount),
    available_capital: config.available_capital ?? null,
    stake_currency_decimals: decimalsPerCoin(config.stake_currency),
    max_open_trades: bot.configuredMaxOpenTrades(),
    minimal_roi: config.minimal_roi,
    stoploss: config.stoploss,
    stoploss_on_exchange: config.order_types?.stoploss_on_exchange ?? false,
    trailing_stop: extra.trailing_stop ?? false,
    trailing_stop_positive: extra.trailing_stop_positive ?? null,
    trailing_stop_positive_offset: extra.trailing_stop_positive_offset ?? 0,
    trailing_only_offset_is_reached: extra.trailing_only_offset_is_reached ?? false,
    unfilledtimeout: extra.unfilledtimeout ?? { entry: 10, exit: 10, exit_timeout_count: 0, unit: 'minutes' },
    order_types: config.order_types ?? {
      entry: 'limit',
      exit: 'limit',
      stoploss: 'market',
      stoploss_on_exchange: false,
    },
    use_custom_stoploss: extra.use_custom_stoploss ?? false,
    bot_name: config.bot_name,
    timeframe: config.timeframe,
    timeframe_ms: Math.round(minutes * 60_000),
    timeframe_min: Math.round(minutes),
    exchange: config.exchange.name,
    strategy: config.strategy,
    force_entry_enable: config.force_entry_enable,
    exit_pricing: record('exit_pricing'),
    entry_pricing: record('entry_pricing'),
    state,
    runmode: config.dry_run ? 'dry_run' : 'live',
    position_adjustment_enable: config.position_adjustment_enable,
    max_entry_position_adjustment: config.max_entry_position_adjustment,
  });
};

export const health = (bot: PaperBot): Health =>
  HealthSchema.parse({
    last_process: bot.lastProcessAt === null ? null : isoDatetime(bot.lastProcessAt),
    last_process_ts: bot.lastProcessAt === null ? null : Math.floor(bot.lastProcessAt / 1000),
    bot_start: isoDatetime(bot.startedAt),
    bot_start_ts: Math.floor(bot.startedAt / 1000),
    bot_startup: isoDatetime(bot.startedAt),
    bot_startup_ts: Math.floor(bot.startedAt / 1000),
  });

export const count = (bot: PaperBot): RpcResult<Count> => {
  if (!CAPABILITIES[bot.state].count) return { ok: false, reason: 'trader is not running' };
  const open = bot.openTrades();
  return {
    ok: true,
    value: CountSchema.parse({
      current: open.length,
      max: bot.configuredMaxOpenTrades(),
      total_stake: round(sum(open.map((trade) => trade.openRate * trade.amount)), 8),
    }),
  };
};

/** A trade as /status and /trade/{id} show it; a closed trade shows its close. */
const statusOf = (bot: PaperBot, trade: PaperTrade): OpenTrade => {
  if (trade.isOpen) return OpenTradeSchema.parse(trade.toStatusJson(bot.rate(trade.pair)));
  return OpenTradeSchema.parse({
    ...trade.toJson(),
    current_rate: trade.closeRate,
    total_profit_abs: trade.closeProfitAbs,
    total_profit_ratio: trade.closeProfit,
  });
};

/** /status: open trades; `[]` when there are none, whatever the state (Freqtrade swallows the error). */
export const status = (bot: PaperBot): OpenTrade[] => bot.openTrades().map((trade) => statusOf(bot, trade));

export const tradeById = (bot: PaperBot, id: number): OpenTrade | null => {
  const trade = bot.trades.find((candidate) => candidate.id === id);
  return trade ? statusOf(bot, trade) : null;
};

/** /trades: closed trades only, by id (or newest close first). */
export const tradeHistory = (
  bot: PaperBot,
  limit: number,
  offset: number,
  orderById: boolean,
): TradeResponse => {
  const closed = bot.closedTrades();
  const ordered = orderById
    ? [...closed].sort((a, b) => a.id - b.id)
    : [...closed].sort((a, b) => (b.closedAt ?? 0) - (a.closedAt ?? 0));
  const page = ordered.slice(offset, offset + limit).map((trade) => trade.toJson());
  const body = { trades: page, trades_count: page.length, offset, total_trades: closed.length };
  // Validated, but sent as is: this route has no response model in Freqtrade, so every `to_json()` key goes out.
  TradeResponseSchema.parse(body);
  return body;
};

interface DrawdownResult {
  drawdownAbs: number;
  highDate: number | null;
  lowDate: number | null;
  highValue: number;
  lowValue: number;
  relative: number;
  currentRelative: number;
  currentAbs: number;
  currentHighValue: number;
  currentHighDate: number | null;
}

const NO_DRAWDOWN: DrawdownResult = {
  drawdownAbs: 0,
  highDate: null,
  lowDate: null,
  highValue: 0,
  lowValue: 0,
  relative: 0,
  currentRelative: 0,
  currentAbs: 0,
  currentHighValue: 0,
  currentHighDate: null,
};

/**
 * Freqtrade's `calculate_max_drawdown` over closed trades in close order. Its quirks are kept: the
 * running high starts at the first trade's result (not at zero), so a loss on the very first trade
 * is no drawdown, and "no drawdown" is all zeros.
 */
const closedTradeDrawdown = (closed: readonly PaperTrade[], startingBalance: number): DrawdownResult => {
  const ordered = [...closed].sort((a, b) => (a.closedAt ?? 0) - (b.closedAt ?? 0));
  if (ordered.length === 0) return NO_DRAWDOWN;
  const rows: {
    date: number;
    cumulative: number;
    high: number;
    drawdown: number;
    relative: number;
    highIndex: number;
  }[] = [];
  let cumulative = 0;
  let high = Number.NEGATIVE_INFINITY;
  let highIndex = 0;
  for (const [index, trade] of ordered.entries()) {
    cumulative += trade.closeProfitAbs ?? 0;
    if (cumulative > high) {
      high = cumulative;
      highIndex = index;
    }
    const relative =
      startingBalance > 0
        ? (startingBalance + high - (startingBalance + cumulative)) / (startingBalance + high)
        : (high - cumulative) / high;
    rows.push({
      date: trade.closedAt ?? 0,
      cumulative,
      high,
      drawdown: cumulative - high,
      relative,
      highIndex,
    });
  }
  let lowIndex = 0;
  for (const [index, row] of rows.entries())
    if (row.drawdown < (rows[lowIndex]?.drawdown ?? 0)) lowIndex = index;
  const last = rows.at(-1);
  const current =
    last === undefined
      ? {}
      : {
          currentRelative: finiteOrNull(last.relative) ?? 0,
          currentAbs: Math.abs(last.drawdown),
          currentHighValue: last.high,
          currentHighDate: rows[last.highIndex]?.date ?? null,
        };
  const low = rows[lowIndex];
  if (lowIndex === 0 || low === undefined) return { ...NO_DRAWDOWN, ...current };
  const peak = rows[low.highIndex];
  return {
    ...NO_DRAWDOWN,
    ...current,
    drawdownAbs: Math.abs(low.drawdown),
    highDate: peak?.date ?? null,
    lowDate: low.date,
    highValue: peak?.cumulative ?? 0,
    lowValue: low.cumulative,
    relative: finiteOrNull(low.relative) ?? 0,
  };
};

const expectancyOf = (profits: number[]): { expectancy: number; ratio: number } => {
  if (profits.length === 0) return { expectancy: 0, ratio: 100 };
  const wins = profits.filter((profit) => profit > 0);
  const losses = profits.filter((profit) => profit < 0);
  const averageWin = wins.length ? sum(wins) / wins.length : 0;
  const averageLoss = losses.length ? Math.abs(sum(losses)) / losses.length : 0;
  const winrate = wins.length / profits.length;
  const loserate = losses.length / profits.length;
  const expectancy = winrate * averageWin - loserate * averageLoss;
  const ratio = averageLoss > 0 ? (1 + averageWin / averageLoss) * winrate - 1 : 100;
  return { expectancy, ratio };
};

/** /profit, following `_rpc_trade_statistics` (open trades count in `profit_all_*` at the current rate). */
export const profit = (bot: PaperBot, now: number): Profit => {
  const trades = [...bot.trades].sort((a, b) => a.id - b.id);
  const startingBalance = bot.startingCapital();
  const closed = trades.filter((trade) => !trade.isOpen);
  const profitAllCoin: number[] = [];
  const profitAllRatio: number[] = [];
  const closedCoin: number[] = [];
  const closedRatio: number[] = [];
  const durations: number[] = [];
  let winningTrades = 0;
  let losingTrades = 0;
  let winningProfit = 0;
  let losingProfit = 0;
  for (const trade of trades) {
    if (!trade.isOpen) {
      const ratio = trade.closeProfit ?? 0;
      const abs = trade.closeProfitAbs ?? 0;
      durations.push(((trade.closedAt ?? trade.openedAt) - trade.openedAt) / 1000);
      closedCoin.push(abs);
      closedRatio.push(ratio);
      // Freqtrade counts a zero-profit trade as winning here (and as a draw in /stats).
      if (ratio >= 0) {
        winningTrades++;
        winningProfit += abs;
      } else {
        losingTrades++;
        losingProfit += abs;
      }
      profitAllCoin.push(abs);
      profitAllRatio.push(ratio);
    } else {
      const current = trade.profitAt(bot.rate(trade.pair));
      profitAllCoin.push(current.profitAbs);
      profitAllRatio.push(current.profitRatio);
    }
  }
  const closedCoinSum = round(sum(closedCoin), 8);
  const allCoinSum = round(sum(profitAllCoin), 8);
  const byPair = new Map<string, { ratio: number; abs: number }>();
  for (const trade of closed) {
    const entry = byPair.get(trade.pair) ?? { ratio: 0, abs: 0 };
    byPair.set(trade.pair, {
      ratio: entry.ratio + (trade.closeProfit ?? 0),
      abs: entry.abs + (trade.closeProfitAbs ?? 0),
    });
  }
  let bestPair: { pair: string; ratio: number; abs: number } | null = null;
  for (const [pair, value] of byPair)
    if (bestPair === null || value.ratio > bestPair.ratio) bestPair = { pair, ...value };
  const tradingVolume = sum(
    trades.flatMap((trade) =>
      trade.orders.filter((order) => order.filledAt !== null).map((o) => o.amount * o.price),
    ),
  );
  const drawdown = closedTradeDrawdown(closed, startingBalance);
  const { expectancy, ratio: expectancyRatio } = expectancyOf(closedCoin);
  const firstDate = trades[0]?.openedAt ?? null;
  const lastDate = trades.at(-1)?.openedAt ?? null;
  const days =
    firstDate !== null && lastDate !== null ? Math.max(1, Math.floor((lastDate - firstDate) / DAY_MS)) : 1;
  const datesUsable = closed.length > 0 && firstDate !== null && lastDate !== null && firstDate !== lastDate;
  const returns = closedCoin.map((value) => value / startingBalance);
  const meanDailyReturn = sum(returns) / days;
  const sharpeStd = stdev(returns, 0);
  const sortinoStd = stdev(
    returns.filter((value) => value < 0),
    0,
  );
  const sqnStd = stdev(returns, 1);
  const currentBalance = startingBalance + closedCoinSum;
  return ProfitSchema.parse({
    profit_closed_coin: closedCoinSum,
    profit_closed_percent_mean: round(mean(closedRatio) * 100, 2),
    profit_closed_ratio_mean: mean(closedRatio),
    profit_closed_percent_sum: round(sum(closedRatio) * 100, 2),
    profit_closed_ratio_sum: sum(closedRatio),
    profit_closed_ratio: closedCoinSum / startingBalance,
    profit_closed_percent: round((closedCoinSum / startingBalance) * 100, 2),
    profit_closed_fiat: 0,
    profit_all_coin: allCoinSum,
    profit_all_percent_mean: round(mean(profitAllRatio) * 100, 2),
    profit_all_ratio_mean: mean(profitAllRatio),
    profit_all_percent_sum: round(sum(profitAllRatio) * 100, 2),
    profit_all_ratio_sum: sum(profitAllRatio),
    profit_all_ratio: allCoinSum / startingBalance,
    profit_all_percent: round((allCoinSum / startingBalance) * 100, 2),
    profit_all_fiat: 0,
    trade_count: trades.length,
    closed_trade_count: closed.length,
    first_trade_date: formatDate(firstDate),
    first_trade_humanized: firstDate === null ? '' : humanizeSince(firstDate, now),
    first_trade_timestamp: firstDate ?? 0,
    latest_trade_date: formatDate(lastDate),
    latest_trade_humanized: lastDate === null ? '' : humanizeSince(lastDate, now),
    latest_trade_timestamp: lastDate ?? 0,
    avg_duration: formatTimedelta(sum(durations) / (durations.length || 1)),
    best_pair: bestPair?.pair ?? '',
    best_rate: bestPair ? round(bestPair.ratio * 100, 2) : 0,
    best_pair_profit_ratio: bestPair?.ratio ?? 0,
    best_pair_profit_abs: bestPair?.abs ?? 0,
    winning_trades: winningTrades,
    losing_trades: losingTrades,
    profit_factor: losingProfit ? finiteOrNull(winningProfit / Math.abs(losingProfit)) : null,
    winrate: closed.length > 0 ? winningTrades / closed.length : 0,
    expectancy,
    expectancy_ratio: expectancyRatio,
    sharpe: datesUsable ? (sharpeStd ? (meanDailyReturn / sharpeStd) * Math.sqrt(365) : -100) : 0,
    sortino: datesUsable
      ? sortinoStd && !Number.isNaN(sortinoStd)
        ? (meanDailyReturn / sortinoStd) * Math.sqrt(365)
        : -100
      : 0,
    sqn:
      closed.length === 0
        ? 0
        : sqnStd && !Number.isNaN(sqnStd)
          ? round(Math.sqrt(closed.length) * (mean(returns) / sqnStd), 4)
          : -100,
    calmar: datesUsable
      ? drawdown.relative
        ? (((closedCoinSum / startingBalance / days) * 100) / drawdown.relative) * Math.sqrt(365)
        : -100
      : 0,
    cagr:
      currentBalance < 0
        ? 0
        : (finiteOrNull((currentBalance / startingBalance) ** (1 / (days / 365)) - 1) ?? 0),
    max_drawdown: drawdown.relative,
    max_drawdown_abs: drawdown.drawdownAbs,
    max_drawdown_start: formatDate(drawdown.highDate),
    max_drawdown_start_timestamp: drawdown.highDate ?? 0,
    max_drawdown_end: formatDate(drawdown.lowDate),
    max_drawdown_end_timestamp: drawdown.lowDate ?? 0,
    current_drawdown: drawdown.currentRelative,
    current_drawdown_abs: drawdown.currentAbs,
    current_drawdown_high: drawdown.currentHighValue,
    current_drawdown_start: formatDate(drawdown.currentHighDate),
    current_drawdown_start_timestamp: drawdown.currentHighDate ?? 0,
    trading_volume: tradingVolume,
    bot_start_timestamp: bot.startedAt,
    bot_start_date: formatDate(bot.startedAt),
  });
};

/** /balance: the stake currency, then spot coins or futures positions, marked to market. */
export const balance = (bot: PaperBot): Balances => {
  const config = bot.config;
  const stake = config.stake_currency;
  const futures = config.trading_mode !== 'spot';
  const open = bot.openTrades();
  const free = bot.freeStake();
  const collateral = sum(open.map((trade) => trade.stakeAmount));
  const stakeRow: Balance = {
    currency: stake,
    free,
    balance: futures ? free + collateral : free,
    used: futures ? collateral : 0,
    bot_owned: free,
    est_stake: free,
    est_stake_bot: free,
    stake,
    side: 'long',
    is_position: false,
    position: 0,
    is_bot_managed: true,
  };
  const rows: Balance[] = [stakeRow];
  for (const trade of open) {
    const rate = bot.rate(trade.pair);
    if (futures) {
      // Equity of a leveraged position: collateral plus unlevered PnL (rpc.py's comment).
      const value = trade.isShort
        ? trade.stakeAmount * (1 + trade.leverage) - rate * trade.amount
        : rate * trade.amount - trade.stakeAmount * (trade.leverage - 1);
      rows.push({
        currency: trade.pair,
        free: 0,
        balance: 0,
        used: 0,
        est_stake: value,
        est_stake_bot: value,
        stake,
        side: trade.isShort ? 'short' : 'long',
        is_position: true,
        position: trade.amount,
        is_bot_managed: true,
      });
    } else {
      rows.push({
        currency: trade.base,
        free: trade.amount,
        balance: trade.amount,
        used: 0,
        bot_owned: trade.amount,
        est_stake: rate * trade.amount,
        est_stake_bot: rate * trade.amount,
        stake,
        side: 'long',
        is_position: false,
        position: 0,
        is_bot_managed: true,
      });
    }
  }
  const total = sum(rows.map((row) => row.est_stake));
  const startingCapital = bot.startingCapital();
  const ratio = startingCapital ? total / startingCapital - 1 : 0;
  return BalancesSchema.parse({
    currencies: rows,
    total,
    total_bot: total,
    symbol: config.fiat_display_currency ?? '',
    value: 0,
    value_bot: 0,
    stake,
    note: config.dry_run ? 'Simulated balances' : '',
    starting_capital: startingCapital,
    starting_capital_ratio: ratio,
    starting_capital_pct: round(ratio * 100, 2),
    starting_capital_fiat: 0,
    starting_capital_fiat_ratio: 0,
    starting_capital_fiat_pct: 0,
  });
};

export type TimeUnit = 'days' | 'weeks' | 'months';

const periodStart = (now: number, unit: TimeUnit, back: number): number => {
  const today = new Date(now);
  const y = today.getUTCFullYear();
  const m = today.getUTCMonth();
  const d = today.getUTCDate();
  if (unit === 'months') return Date.UTC(y, m - back, 1);
  if (unit === 'weeks') {
    const monday = d - ((today.getUTCDay() + 6) % 7);
    return Date.UTC(y, m, monday - 7 * back);
  }
  return Date.UTC(y, m, d - back);
};

/**
 * /daily, /weekly, /monthly (`_rpc_timeunit_profit`): newest period first; each period's starting
 * balance is worked back from today's total by subtracting the profit closed since.
 */
export const timeunitProfit = (
  bot: PaperBot,
  timescale: number,
  unit: TimeUnit,
  now: number,
): DailyWeeklyMonthly => {
  const closed = bot.closedTrades();
  let stake = bot.startingCapital() + bot.closedProfit();
  const data = [];
  for (let back = 0; back < timescale; back++) {
    const from = periodStart(now, unit, back);
    const until = back === 0 ? Number.POSITIVE_INFINITY : periodStart(now, unit, back - 1);
    const inPeriod = closed.filter((trade) => (trade.closedAt ?? 0) >= from && (trade.closedAt ?? 0) < until);
    const profitAbs = sum(inPeriod.map((trade) => trade.closeProfitAbs ?? 0));
    stake -= profitAbs;
    data.push({
      date: formatDay(from),
      abs_profit: profitAbs,
      starting_balance: stake,
      rel_profit: stake > 0 ? round(profitAbs / stake, 8) : 0,
      fiat_value: 0,
      trade_count: inPeriod.length,
    });
  }
  return DailyWeeklyMonthlySchema.parse({
    stake_currency: bot.config.stake_currency,
    fiat_display_currency: bot.config.fiat_display_currency ?? '',
    data,
  });
};

export const whitelist = (bot: PaperBot): WhitelistResponse => ({
  whitelist: [...bot.config.exchange.pair_whitelist],
  length: bot.config.exchange.pair_whitelist.length,
  method: ['StaticPairList'],
});

export const locks = (): Locks => ({ lock_count: 0, locks: [] });
