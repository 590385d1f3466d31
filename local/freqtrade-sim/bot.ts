/**
 * The paper bot: Freqtrade's states and what each allows, trade entries and exits on the paper
 * market, and the wallet. One call of `process()` is one iteration of Freqtrade's bot loop
 * (exits first, then entries), which Freqtrade runs while RUNNING or PAUSED.
 */
import type { Clock } from '../../shared/domain/clock';
import type { FreqtradeConfig } from './config';
import { round, timeframeMinutes } from './format';
import type { Logger } from './logger';
import type { PaperMarket, Rng } from './market';
import type { BotStateName, ForceEnterPayload, OrderTypeValue, ResultMsg, StatusMsg } from './schemas';
import { type ExitReason, PaperTrade } from './trade';

export type BotState = BotStateName;
export type BotCommand = 'start' | 'stop' | 'pause' | 'reload_config';

/** A refusal Freqtrade raises as RPCException (HTTP 502), as a typed result. */
export type RpcResult<T> = { ok: true; value: T } | { ok: false; reason: string };

const ok = <T>(value: T): RpcResult<T> => ({ ok: true, value });
const refuse = <T>(reason: string): RpcResult<T> => ({ ok: false, reason });

const PAUSED_STATUS = 'paused, no more entries will occur from now. Run /start to enable entries.';
const STOPENTRY_STATUS = 'No more entries will occur from now. Run /reload_config to reset.';

/**
 * Freqtrade's transitions (rpc.py `_rpc_start`, `_rpc_stop`, `_rpc_pause`, `_rpc_reload_config`,
 * since 2025.4 where PAUSED replaced /stopentry's "max_open_trades = 0") with their answers.
 */
export const TRANSITIONS: Readonly<
  Record<BotState, Readonly<Record<BotCommand, { next: BotState; status: string }>>>
> = {
  running: {
    start: { next: 'running', status: 'already running' },
    stop: { next: 'stopped', status: 'stopping trader ...' },
    pause: { next: 'paused', status: PAUSED_STATUS },
    reload_config: { next: 'reload_config', status: 'Reloading config ...' },
  },
  paused: {
    start: { next: 'running', status: 'starting trader ...' },
    stop: { next: 'stopped', status: 'stopping trader ...' },
    pause: { next: 'paused', status: PAUSED_STATUS },
    reload_config: { next: 'reload_config', status: 'Reloading config ...' },
  },
  stopped: {
    start: { next: 'running', status: 'starting trader ...' },
    stop: { next: 'stopped', status: 'already stopped' },
    pause: {
      next: 'paused',
      status:
        'starting bot with trader in paused state, no entries will occur. Run /start to enable entries.',
    },
    reload_config: { next: 'reload_config', status: 'Reloading config ...' },
  },
  reload_config: {
    start: { next: 'running', status: 'starting trader ...' },
    stop: { next: 'stopped', status: 'stopping trader ...' },
    pause: { next: 'reload_config', status: PAUSED_STATUS },
    reload_config: { next: 'reload_config', status: 'Reloading config ...' },
  },
};

/**
 * What each state allows. The loop (and so exits and `last_process`) runs in RUNNING and PAUSED;
 * entries only in RUNNING; /forceexit and /count are refused only when STOPPED.
 */
export const CAPABILITIES: Readonly<
  Record<
    BotState,
    { loop: boolean; entries: boolean; forceExit: boolean; count: boolean; forceEnter: boolean }
  >
> = {
  running: { loop: true, entries: true, forceExit: true, count: true, forceEnter: true },
  paused: { loop: true, entries: false, forceExit: true, count: true, forceEnter: false },
  stopped: { loop: false, entries: false, forceExit: false, count: false, forceEnter: false },
  reload_config: { loop: false, entries: false, forceExit: true, count: true, forceEnter: false },
};

const NOT_RUNNING = 'trader is not running';

export interface BotDeps {
  clock: Clock;
  logger: Logger;
  market: PaperMarket;
  /** The bot's own random stream (entry signals, long or short). */
  rng: Rng;
  /** Called after every change to the trades (entry, exit order placed, exit filled): the database commit. */
  onTradesChanged?: () => void;
}

export class PaperBot {
  #config: FreqtradeConfig;
  readonly #deps: BotDeps;
  #state: BotState;
  #nextTradeId = 1;
  /** Every trade by id; open and closed ones are also kept apart so a long run stays cheap per tick. */
  readonly #trades: PaperTrade[] = [];
  #open: PaperTrade[] = [];
  readonly #closed: PaperTrade[] = [];
  #closedProfit = 0;
  lastProcessAt: number | null = null;
  processCount = 0;
  /** 2024 era: /stopentry has set max_open_trades to 0 in the running config, until /reload_config. */
  #entriesStopped = false;
  readonly startedAt: number;

  constructor(config: FreqtradeConfig, deps: BotDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#state = config.initial_state;
    this.startedAt = deps.clock.now();
  }

  get config(): FreqtradeConfig {
    return this.#config;
  }

  get state(): BotState {
    return this.#state;
  }

  get trades(): readonly PaperTrade[] {
    return this.#trades;
  }

  openTrades(): PaperTrade[] {
    return [...this.#open];
  }

  closedTrades(): readonly PaperTrade[] {
    return this.#closed;
  }

  #log(level: 'INFO' | 'WARNING', name: string, message: string): void {
    this.#deps.logger.log(level, name, message);
  }

  /** The price a trade would exit at now (the simulator has no spread). */
  rate(pair: string): number {
    const price = this.#deps.market.price(pair);
    if (price === undefined) throw new Error(`no price for ${pair}`);
    return price;
  }

  /** -1 in the config means unlimited. */
  maxOpenTrades(): number {
    const configured = this.configuredMaxOpenTrades();
    return configured === -1 ? Number.POSITIVE_INFINITY : configured;
  }

  /** `max_open_trades` as /show_config and /count report it (-1: unlimited; 0 after a 2024 /stopentry). */
  configuredMaxOpenTrades(): number {
    return this.#entriesStopped ? 0 : this.#config.max_open_trades;
  }

  /**
   * /stopentry (and /stopbuy) before 2025.4 (rpc.py `_rpc_stopentry`): a running bot's max_open_trades
   * becomes 0, the state stays RUNNING; a stopped bot is left as it is. Only /reload_config undoes it.
   */
  stopEntries(): StatusMsg {
    if (this.#state === 'running') {
      this.#entriesStopped = true;
      this.#log('INFO', 'freqtrade.rpc.rpc', 'max_open_trades set to 0 (stopentry)');
    }
    return { status: STOPENTRY_STATUS };
  }

  /** Freqtrade's starting balance: `available_capital` if set, else `dry_run_wallet`. */
  startingCapital(): number {
    return this.#config.available_capital ?? this.#config.dry_run_wallet;
  }

  closedProfit(): number {
    return this.#closedProfit;
  }

  /**
   * What the dry-run wallet started with: `dry_run_wallet` (wallets.py `_start_cap`), even where
   * `available_capital` says otherwise (that is only the starting capital /balance reports).
   */
  walletStart(): number {
    return this.#config.dry_run_wallet;
  }

  /** Stake currency not tied up in open trades (Freqtrade's dry-run wallet arithmetic). */
  freeStake(): number {
    const inTrades = this.#open.reduce((sum, trade) => sum + trade.stakeAmount, 0);
    return this.walletStart() + this.closedProfit() - inTrades;
  }

  /** The wallet's start plus realised and unrealised profit, fees included. */
  equity(): number {
    const unrealised = this.#open.reduce(
      (sum, trade) => sum + trade.profitAt(this.rate(trade.pair)).profitAbs,
      0,
    );
    return this.walletStart() + this.closedProfit() + unrealised;
  }

  command(command: BotCommand): StatusMsg {
    const transition = TRANSITIONS[this.#state][command];
    this.#setState(transition.next);
    return { status: transition.status };
  }

  #setState(next: BotState): void {
    if (next === this.#state) return;
    this.#log(
      'INFO',
      'freqtrade.worker',
      `Changing state from ${this.#state.toUpperCase()} to: ${next.toUpperCase()}`,
    );
    this.#state = next;
  }

  /**
   * A reloaded configuration: Freqtrade builds a new bot, so the state goes back to
   * `initial_state` and `last_process` is empty until the next iteration; trades (the database) stay.
   */
  applyConfig(config: FreqtradeConfig): void {
    this.#config = config;
    this.#entriesStopped = false;
    this.#deps.market.addPairs(config.exchange.pair_whitelist);
    this.lastProcessAt = null;
    this.#log('INFO', 'freqtrade.worker', 'config reloaded');
    this.#setState(config.initial_state);
  }

  /**
   * Trades read back from the database at start, as Freqtrade finds them in its sqlite file: open ones
   * are managed again, closed ones count in the wallet and /profit, and ids go on after the highest.
   */
  restoreTrades(trades: readonly PaperTrade[]): void {
    const sorted = [...trades].sort((a, b) => a.id - b.id);
    this.#trades.splice(0, this.#trades.length, ...sorted);
    this.#open = sorted.filter((trade) => trade.isOpen);
    this.#closed.splice(0, this.#closed.length, ...sorted.filter((trade) => !trade.isOpen));
    this.#closedProfit = this.#closed.reduce((sum, trade) => sum + (trade.closeProfitAbs ?? 0), 0);
    this.#nextTradeId = sorted.reduce((highest, trade) => Math.max(highest, trade.id), 0) + 1;
  }

  /** Positions that exist before the first iteration, like trades left in Freqtrade's database. */
  openInitialPositions(count: number): void {
    for (const pair of this.#config.exchange.pair_whitelist) {
      if (this.#open.length >= count) break;
      this.#enter(pair, { isShort: false, tag: 'sim_initial' });
    }
  }

  /** One iteration of the bot loop: pending and signalled exits, then entries when RUNNING. */
  process(): void {
    if (!CAPABILITIES[this.#state].loop) return;
    this.#exitPositions();
    if (CAPABILITIES[this.#state].entries) this.#enterPositions();
    this.lastProcessAt = this.#deps.clock.now();
    this.processCount++;
  }

  #roiAt(minutesOpen: number): number | null {
    let best: { minutes: number; ratio: number } | null = null;
    for (const [key, ratio] of Object.entries(this.#config.minimal_roi)) {
      const minutes = Number(key);
      if (minutes <= minutesOpen && (best === null || minutes > best.minutes)) best = { minutes, ratio };
    }
    return best?.ratio ?? null;
  }

  #exitReasonFor(trade: PaperTrade, rate: number, now: number): ExitReason | null {
    if (trade.pendingExit) return 'force_exit';
    const crossed = (level: number): boolean => (trade.isShort ? rate >= level : rate <= level);
    if (trade.liquidationRate !== null && crossed(trade.liquidationRate)) return 'liquidation';
    // Freqtrade checks the stoploss before ROI.
    if (crossed(trade.stopLossRate)) return 'stop_loss';
    const roi = this.#roiAt((now - trade.openedAt) / 60_000);
    if (roi !== null && trade.profitAt(rate).profitRatio >= roi) return 'roi';
    return null;
  }

  #exitPositions(): void {
    const now = this.#deps.clock.now();
    for (const trade of this.openTrades()) {
      const rate = this.rate(trade.pair);
      trade.observe(rate);
      const reason = this.#exitReasonFor(trade, rate, now);
      if (reason === null) continue;
      trade.close(rate, now, reason);
      this.#open = this.#open.filter((open) => open !== trade);
      this.#closed.push(trade);
      this.#closedProfit += trade.closeProfitAbs ?? 0;
      this.#deps.onTradesChanged?.();
      this.#log(
        'INFO',
        'freqtrade.freqtradebot',
        `Exit for ${trade.pair} detected. Reason: ${reason}. Trade ${trade.id} closed at ${rate}, ` +
          `profit ${trade.closeProfitAbs} ${this.#config.stake_currency} (${round((trade.closeProfit ?? 0) * 100, 2)}%)`,
      );
    }
  }

  #stakeFor(openCount: number): number {
    const config = this.#config;
    if (config.stake_amount !== 'unlimited') return config.stake_amount;
    // Freqtrade's "unlimited": the tradable balance split over the slots still free.
    const tradable = (this.startingCapital() + this.closedProfit()) * config.tradable_balance_ratio;
    const inTrades = this.#open.reduce((sum, trade) => sum + trade.stakeAmount, 0);
    const slots = Number.isFinite(this.maxOpenTrades()) ? this.maxOpenTrades() - openCount : 1;
    return slots > 0 ? (tradable - inTrades) / slots : 0;
  }

  #enterPositions(): void {
    const rng = this.#deps.rng;
    const config = this.#config;
    const held = new Set(this.#open.map((trade) => trade.pair));
    for (const pair of config.exchange.pair_whitelist) {
      if (this.#open.length >= this.maxOpenTrades()) return;
      if (held.has(pair) || config.exchange.pair_blacklist.includes(pair)) continue;
      if (rng.next() >= config.sim.entry_probability) continue;
      const isShort =
        config.trading_mode !== 'spot' && config.sim.short_share > 0 && rng.next() < config.sim.short_share;
      this.#enter(pair, { isShort, tag: null });
    }
  }

  #enter(
    pair: string,
    options: {
      isShort: boolean;
      tag: string | null;
      stake?: number;
      leverage?: number;
      rate?: number;
      orderType?: OrderTypeValue;
    },
  ): PaperTrade | null {
    const config = this.#config;
    const stake = options.stake ?? this.#stakeFor(this.#open.length);
    const free = this.freeStake();
    if (stake <= 0 || stake > free) {
      this.#log(
        'WARNING',
        'freqtrade.freqtradebot',
        `Unable to create trade for ${pair}: Available balance (${round(free, 8)} ${config.stake_currency}) ` +
          `is lower than stake amount (${round(stake, 8)} ${config.stake_currency})`,
      );
      return null;
    }
    const leverage = config.trading_mode === 'spot' ? 1 : (options.leverage ?? config.sim.leverage);
    const rate = options.rate ?? this.rate(pair);
    const trade = new PaperTrade({
      id: this.#nextTradeId++,
      pair,
      isShort: options.isShort,
      leverage,
      stakeAmount: stake,
      rate,
      at: this.#deps.clock.now(),
      fee: config.sim.fee,
      stoploss: config.stoploss,
      tradingMode: config.trading_mode,
      exchange: config.exchange.name.toLowerCase(),
      strategy: config.strategy,
      timeframeMinutes: timeframeMinutes(config.timeframe),
      enterTag: options.tag,
      orderType: options.orderType ?? config.order_types?.entry ?? 'limit',
    });
    this.#trades.push(trade);
    this.#open.push(trade);
    this.#deps.onTradesChanged?.();
    this.#log(
      'INFO',
      'freqtrade.freqtradebot',
      `${options.isShort ? 'Short' : 'Long'} signal found: about create a new trade for ${pair} with ` +
        `stake_amount: ${trade.stakeAmount} and price: ${rate} ...`,
    );
    return trade;
  }

  #exitOrderType(requested: OrderTypeValue | null | undefined): OrderTypeValue {
    const orderTypes = this.#config.order_types;
    const forceExit = orderTypes?.force_exit;
    const fromConfig = forceExit === 'limit' || forceExit === 'market' ? forceExit : orderTypes?.exit;
    return requested ?? fromConfig ?? 'limit';
  }

  /**
   * /forceexit: places exit orders that the next loop iteration fills, as on an exchange. Partial
   * exits (`amount`) are not simulated: the whole position is exited.
   */
  forceExit(tradeId: string, orderType?: OrderTypeValue | null): RpcResult<ResultMsg> {
    if (!CAPABILITIES[this.#state].forceExit) return refuse(NOT_RUNNING);
    const now = this.#deps.clock.now();
    const type = this.#exitOrderType(orderType);
    if (tradeId === 'all') {
      for (const trade of this.openTrades()) trade.placeExit(type, this.rate(trade.pair), now);
      this.#deps.onTradesChanged?.();
      return ok({ result: 'Created exit orders for all open trades.' });
    }
    const trade = /^\d+$/.test(tradeId)
      ? this.openTrades().find((open) => open.id === Number(tradeId))
      : undefined;
    if (!trade) {
      this.#log('WARNING', 'freqtrade.rpc.rpc', 'force_exit: Invalid argument received');
      return refuse('invalid argument');
    }
    trade.placeExit(type, this.rate(trade.pair), now);
    this.#deps.onTradesChanged?.();
    return ok({ result: `Created exit order for trade ${tradeId}.` });
  }

  /** /forceenter, with Freqtrade's checks in Freqtrade's order. */
  forceEnter(payload: ForceEnterPayload): RpcResult<PaperTrade> {
    const config = this.#config;
    if (!config.force_entry_enable) return refuse('Force_entry not enabled.');
    if (!CAPABILITIES[this.#state].forceEnter) return refuse(NOT_RUNNING);
    if (payload.side === 'short' && config.trading_mode === 'spot')
      return refuse("Can't go short on Spot markets.");
    if (this.#deps.market.price(payload.pair) === undefined) {
      return refuse('Symbol does not exist or market is not active.');
    }
    const quote = payload.pair.split('/')[1]?.split(':')[0];
    if (quote !== config.stake_currency) {
      return refuse(`Wrong pair selected. Only pairs with stake-currency ${config.stake_currency} allowed.`);
    }
    const existing = this.openTrades().find((trade) => trade.pair === payload.pair);
    if (existing) return refuse(`position for ${payload.pair} already open - id: ${existing.id}`);
    if (this.#open.length >= this.maxOpenTrades()) return refuse('Maximum number of trades is reached.');
    const trade = this.#enter(payload.pair, {
      isShort: payload.side === 'short',
      tag: payload.entry_tag ?? 'force_entry',
      stake: payload.stakeamount ?? undefined,
      leverage: payload.leverage ?? undefined,
      rate: payload.price ?? undefined,
      orderType: payload.ordertype ?? undefined,
    });
    return trade ? ok(trade) : refuse(`Failed to enter position for ${payload.pair}.`);
  }
}
