/**
 * A paper trade with Freqtrade's profit arithmetic (fees on both legs, leverage scaling the ratio,
 * shorts mirrored) and its JSON rendering (`Trade.to_json()` plus the extras /status adds).
 * Interest and funding fees are not simulated.
 */
import { formatDate, round } from './format';
import type { OrderTypeValue, TradingMode } from './schemas';
import type { TradeRecord } from './trade-store';

export type ExitReason = 'roi' | 'stop_loss' | 'liquidation' | 'force_exit';

export interface PaperOrder {
  orderId: string;
  /** Freqtrade's `ft_order_side`: buy/sell, so a short's entry is a sell. */
  side: 'buy' | 'sell';
  orderType: OrderTypeValue;
  amount: number;
  /** Requested price; the fill price once filled. */
  price: number;
  placedAt: number;
  filledAt: number | null;
  tag: string | null;
}

export interface OpenTradeParams {
  id: number;
  pair: string;
  isShort: boolean;
  leverage: number;
  stakeAmount: number;
  rate: number;
  at: number;
  fee: number;
  stoploss: number;
  tradingMode: TradingMode;
  exchange: string;
  strategy: string;
  timeframeMinutes: number;
  enterTag: string | null;
  orderType: OrderTypeValue;
}

export interface ProfitAt {
  profitAbs: number;
  profitRatio: number;
}

const orderJson = (order: PaperOrder, pair: string, isEntry: boolean) => {
  const filled = order.filledAt !== null;
  return {
    pair,
    order_id: order.orderId,
    status: filled ? 'closed' : 'open',
    remaining: filled ? 0 : order.amount,
    amount: order.amount,
    safe_price: order.price,
    cost: filled ? round(order.amount * order.price, 8) : 0,
    filled: filled ? order.amount : 0,
    ft_order_side: order.side,
    order_type: order.orderType,
    is_open: !filled,
    order_timestamp: order.placedAt,
    order_filled_timestamp: order.filledAt,
    ft_fee_base: null,
    ft_order_tag: order.tag,
    ft_is_entry: isEntry,
    average: filled ? order.price : 0,
    price: order.price,
    order_date: formatDate(order.placedAt),
    order_filled_date: order.filledAt === null ? null : formatDate(order.filledAt),
    funding_fee: 0,
  };
};

export class PaperTrade {
  readonly id: number;
  readonly pair: string;
  readonly base: string;
  readonly quote: string;
  readonly isShort: boolean;
  readonly leverage: number;
  readonly amount: number;
  readonly stakeAmount: number;
  readonly openRate: number;
  readonly openedAt: number;
  readonly fee: number;
  readonly stoploss: number;
  readonly stopLossRate: number;
  readonly liquidationRate: number | null;
  readonly tradingMode: TradingMode;
  readonly exchange: string;
  readonly strategy: string;
  readonly timeframeMinutes: number;
  readonly enterTag: string | null;
  readonly orders: PaperOrder[] = [];
  minRate: number;
  maxRate: number;
  closeRate: number | null = null;
  closedAt: number | null = null;
  exitReason: ExitReason | null = null;
  closeProfit: number | null = null;
  closeProfitAbs: number | null = null;
  /** An exit order placed (by /forceexit) and filled by the next bot loop iteration. */
  pendingExit: PaperOrder | null = null;

  /** `restored`: a trade read back from the trade store, whose stored values win over fresh arithmetic. */
  constructor(params: OpenTradeParams, restored?: TradeRecord) {
    const [base = params.pair, quoteWithSettle = ''] = params.pair.split('/');
    this.id = params.id;
    this.pair = params.pair;
    this.base = base;
    this.quote = quoteWithSettle.split(':')[0] ?? quoteWithSettle;
    this.isShort = params.isShort;
    this.leverage = params.leverage;
    this.openRate = params.rate;
    this.stakeAmount = round(params.stakeAmount, 8);
    this.amount = round((params.stakeAmount * params.leverage) / params.rate, 8);
    this.openedAt = params.at;
    this.fee = params.fee;
    this.stoploss = params.stoploss;
    // Freqtrade spreads the stoploss ratio over the leverage: -10 % at 5x is a 2 % price move.
    const stopDistance = Math.abs(params.stoploss) / params.leverage;
    this.stopLossRate = round(params.rate * (params.isShort ? 1 + stopDistance : 1 - stopDistance), 8);
    // Approximation without maintenance margin: the price move that eats the whole collateral.
    this.liquidationRate =
      params.tradingMode !== 'spot' && params.leverage > 1
        ? round(params.rate * (params.isShort ? 1 + 1 / params.leverage : 1 - 1 / params.leverage), 8)
        : null;
    this.tradingMode = params.tradingMode;
    this.exchange = params.exchange;
    this.strategy = params.strategy;
    this.timeframeMinutes = params.timeframeMinutes;
    this.enterTag = params.enterTag;
    this.minRate = params.rate;
    this.maxRate = params.rate;
    if (restored !== undefined) {
      this.amount = restored.amount;
      this.stakeAmount = restored.stakeAmount;
      this.stopLossRate = restored.stopLossRate;
      this.liquidationRate = restored.liquidationRate;
      this.minRate = restored.minRate;
      this.maxRate = restored.maxRate;
      this.closeRate = restored.closeRate;
      this.closedAt = restored.closedAt;
      this.exitReason = restored.exitReason;
      this.closeProfit = restored.closeProfit;
      this.closeProfitAbs = restored.closeProfitAbs;
      this.orders.push(...restored.orders.map((order) => ({ ...order })));
      this.pendingExit =
        restored.pendingExitIndex === null ? null : (this.orders[restored.pendingExitIndex] ?? null);
      return;
    }
    this.orders.push({
      orderId: `dry_run_${params.isShort ? 'sell' : 'buy'}_${params.pair}_${params.at / 1000}`,
      side: params.isShort ? 'sell' : 'buy',
      orderType: params.orderType,
      amount: this.amount,
      price: params.rate,
      placedAt: params.at,
      filledAt: params.at,
      tag: params.enterTag,
    });
  }

  /** A trade read back from the trade store. */
  static fromRecord(record: TradeRecord): PaperTrade {
    return new PaperTrade(
      {
        id: record.id,
        pair: record.pair,
        isShort: record.isShort,
        leverage: record.leverage,
        stakeAmount: record.stakeAmount,
        rate: record.openRate,
        at: record.openedAt,
        fee: record.fee,
        stoploss: record.stoploss,
        tradingMode: record.tradingMode,
        exchange: record.exchange,
        strategy: record.strategy,
        timeframeMinutes: record.timeframeMinutes,
        enterTag: record.enterTag,
        orderType: record.orders[0]?.orderType ?? 'limit',
      },
      record,
    );
  }

  /** What the trade store keeps of this trade (a row of Freqtrade's `trades` table and its orders). */
  toRecord(): TradeRecord {
    return {
      id: this.id,
      pair: this.pair,
      isShort: this.isShort,
      leverage: this.leverage,
      amount: this.amount,
      stakeAmount: this.stakeAmount,
      openRate: this.openRate,
      openedAt: this.openedAt,
      fee: this.fee,
      stoploss: this.stoploss,
      stopLossRate: this.stopLossRate,
      liquidationRate: this.liquidationRate,
      tradingMode: this.tradingMode,
      exchange: this.exchange,
      strategy: this.strategy,
      timeframeMinutes: this.timeframeMinutes,
      enterTag: this.enterTag,
      orders: this.orders.map((order) => ({ ...order })),
      minRate: this.minRate,
      maxRate: this.maxRate,
      closeRate: this.closeRate,
      closedAt: this.closedAt,
      exitReason: this.exitReason,
      closeProfit: this.closeProfit,
      closeProfitAbs: this.closeProfitAbs,
      pendingExitIndex: this.pendingExit === null ? null : this.orders.indexOf(this.pendingExit),
    };
  }

  get isOpen(): boolean {
    return this.closedAt === null;
  }

  get openTradeValue(): number {
    const value = this.amount * this.openRate;
    return this.isShort ? value * (1 - this.fee) : value * (1 + this.fee);
  }

  get feeOpenCost(): number {
    return this.amount * this.openRate * this.fee;
  }

  /** Notional value at `rate`, the exposure a price move acts on. */
  notionalAt(rate: number): number {
    return this.amount * rate;
  }

  profitAt(rate: number): ProfitAt {
    const gross = this.amount * rate;
    const closeValue = this.isShort ? gross * (1 + this.fee) : gross * (1 - this.fee);
    const openValue = this.openTradeValue;
    const profitAbs = this.isShort ? openValue - closeValue : closeValue - openValue;
    const ratio = this.isShort ? 1 - closeValue / openValue : closeValue / openValue - 1;
    return { profitAbs: round(profitAbs, 8), profitRatio: round(ratio * this.leverage, 8) };
  }

  /** Equity change per unit of price move (what a drawdown scenario must move). */
  sensitivity(): number {
    return this.isShort ? -this.amount * (1 + this.fee) : this.amount * (1 - this.fee);
  }

  observe(rate: number): void {
    this.minRate = Math.min(this.minRate, rate);
    this.maxRate = Math.max(this.maxRate, rate);
  }

  placeExit(orderType: OrderTypeValue, rate: number, at: number): void {
    const side = this.isShort ? 'buy' : 'sell';
    this.pendingExit = {
      orderId: `dry_run_${side}_${this.pair}_${at / 1000}`,
      side,
      orderType,
      amount: this.amount,
      price: rate,
      placedAt: at,
      filledAt: null,
      tag: 'force_exit',
    };
    this.orders.push(this.pendingExit);
  }

  close(rate: number, at: number, reason: ExitReason): void {
    const profit = this.profitAt(rate);
    const side = this.isShort ? 'buy' : 'sell';
    const exitOrder = this.pendingExit ?? {
      orderId: `dry_run_${side}_${this.pair}_${at / 1000}`,
      side,
      orderType: 'market' as const,
      amount: this.amount,
      price: rate,
      placedAt: at,
      filledAt: null,
      tag: reason,
    };
    exitOrder.price = rate;
    exitOrder.filledAt = at;
    if (!this.orders.includes(exitOrder)) this.orders.push(exitOrder);
    this.pendingExit = null;
    this.closeRate = rate;
    this.closedAt = at;
    this.exitReason = reason;
    this.closeProfit = profit.profitRatio;
    this.closeProfitAbs = profit.profitAbs;
  }

  /** `Trade.to_json()`: what /trades sends (it has no response model, so extras go out too). */
  toJson() {
    const durationS = this.closedAt === null ? null : Math.floor((this.closedAt - this.openedAt) / 1000);
    const entryOrders = this.orders.filter((order) => order.side === (this.isShort ? 'sell' : 'buy'));
    return {
      trade_id: this.id,
      pair: this.pair,
      base_currency: this.base,
      quote_currency: this.quote,
      is_open: this.isOpen,
      exchange: this.exchange,
      amount: this.amount,
      amount_requested: this.amount,
      stake_amount: this.stakeAmount,
      max_stake_amount: this.stakeAmount,
      strategy: this.strategy,
      enter_tag: this.enterTag,
      timeframe: this.timeframeMinutes,
      fee_open: this.fee,
      fee_open_cost: round(this.feeOpenCost, 8),
      fee_open_currency: this.quote,
      fee_close: this.fee,
      fee_close_cost: this.closeRate === null ? null : round(this.amount * this.closeRate * this.fee, 8),
      fee_close_currency: this.closeRate === null ? null : this.quote,
      open_date: formatDate(this.openedAt),
      open_timestamp: this.openedAt,
      open_fill_date: formatDate(this.openedAt),
      open_fill_timestamp: this.openedAt,
      open_rate: this.openRate,
      open_rate_requested: this.openRate,
      open_trade_value: round(this.openTradeValue, 8),
      close_date: this.closedAt === null ? null : formatDate(this.closedAt),
      close_timestamp: this.closedAt,
      realized_profit: this.closeProfitAbs ?? 0,
      realized_profit_ratio: this.closeProfit,
      close_rate: this.closeRate,
      close_rate_requested: this.closeRate,
      close_profit: this.closeProfit,
      close_profit_pct: this.closeProfit === null ? null : round(this.closeProfit * 100, 2),
      close_profit_abs: this.closeProfitAbs,
      trade_duration_s: durationS,
      trade_duration: durationS === null ? null : Math.floor(durationS / 60),
      profit_ratio: this.closeProfit,
      profit_pct: this.closeProfit === null ? null : round(this.closeProfit * 100, 2),
      profit_abs: this.closeProfitAbs,
      exit_reason: this.exitReason,
      exit_order_status: this.pendingExit ? 'open' : this.closedAt === null ? null : 'closed',
      stop_loss_abs: this.stopLossRate,
      stop_loss_ratio: this.stoploss,
      stop_loss_pct: round(this.stoploss * 100, 2),
      stoploss_last_update: formatDate(this.openedAt),
      stoploss_last_update_timestamp: this.openedAt,
      initial_stop_loss_abs: this.stopLossRate,
      initial_stop_loss_ratio: this.stoploss,
      initial_stop_loss_pct: round(this.stoploss * 100, 2),
      min_rate: this.minRate,
      max_rate: this.maxRate,
      nr_of_successful_entries: entryOrders.filter((order) => order.filledAt !== null).length,
      nr_of_successful_exits: this.closedAt === null ? 0 : 1,
      leverage: this.leverage,
      interest_rate: 0,
      liquidation_price: this.liquidationRate,
      is_short: this.isShort,
      trading_mode: this.tradingMode,
      funding_fees: 0,
      amount_precision: 1e-8,
      price_precision: 1e-8,
      precision_mode: 4,
      precision_mode_price: 4,
      contract_size: 1,
      has_open_orders: this.pendingExit !== null,
      orders: this.orders.map((order) =>
        orderJson(order, this.pair, order.side === (this.isShort ? 'sell' : 'buy')),
      ),
    };
  }

  /** An element of /status: `to_json()` plus current profit and stoploss distances. */
  toStatusJson(currentRate: number) {
    const current = this.profitAt(currentRate);
    const atStop = this.profitAt(this.stopLossRate);
    const stopDistance = round(this.stopLossRate - currentRate, 8);
    return {
      ...this.toJson(),
      close_profit: null,
      current_rate: currentRate,
      profit_ratio: current.profitRatio,
      profit_pct: round(current.profitRatio * 100, 2),
      profit_abs: current.profitAbs,
      profit_fiat: null,
      total_profit_abs: current.profitAbs,
      total_profit_fiat: null,
      total_profit_ratio: current.profitRatio,
      stoploss_current_dist: stopDistance,
      stoploss_current_dist_ratio: round(stopDistance / currentRate, 8),
      stoploss_current_dist_pct: round((stopDistance / currentRate) * 100, 2),
      stoploss_entry_dist: atStop.profitAbs,
      stoploss_entry_dist_ratio: round(atStop.profitRatio, 8),
      open_orders: this.pendingExit
        ? `(${this.pendingExit.orderType} ${this.pendingExit.side} rem=${this.amount.toFixed(8)})`
        : '',
    };
  }
}
