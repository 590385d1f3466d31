import type { Clock } from '../../shared/domain/clock';
import { drawdownBaseline, drawdownPct, type RiskSnapshot } from '../../shared/domain/risk';
import {
  type FreqtradeState,
  MAX_OPEN_TRADES_SNAPSHOT,
  type OpenTrade,
  type SessionMetrics,
} from '../../shared/domain/session';
import type { CallFailure, CallResult, FreqtradeClient } from './freqtrade/client';
import type {
  Balance,
  Count,
  Daily,
  FreqtradeOpenTrade,
  Health,
  Profit,
  ShowConfig,
} from './freqtrade/schemas';

/** What one poll of Freqtrade learned; `failures` is empty when the poll counts as a success. */
export interface PollOutcome {
  at: number;
  failures: string[];
  freqtradeState: FreqtradeState;
  /** `undefined` when the loop is not expected to run (Freqtrade stopped) or has not run yet. */
  loopAlive: boolean | undefined;
}

const isoOfMs = (ms: number) => new Date(ms).toISOString();

/** Freqtrade's trade dates are milliseconds since the epoch; `0` means "none yet". */
const isoOrNull = (ms: number | undefined | null) =>
  ms === undefined || ms === null || ms <= 0 ? null : isoOfMs(ms);

const toOpenTrade = (trade: FreqtradeOpenTrade): OpenTrade => ({
  trade_id: trade.trade_id,
  pair: trade.pair.slice(0, 64),
  is_short: trade.is_short,
  amount: trade.amount,
  open_rate: trade.open_rate,
  current_rate: trade.current_rate ?? null,
  stake_amount: trade.stake_amount,
  leverage: trade.leverage ?? 1,
  profit_abs: trade.profit_abs ?? 0,
  profit_ratio: trade.profit_ratio ?? 0,
  open_date: isoOfMs(trade.open_timestamp),
});

const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export interface MetricsCollectorOptions {
  clock: Clock;
  /** A last_process older than this means the bot loop is stuck. */
  loopStaleAfterMs: number;
  /** Peak equity carried over from the session (a restarted agent must not forget the high-water mark). */
  initialPeakEquity?: number;
  /**
   * The last snapshot the session holds (a restarted agent keeps its predecessor's peak and whether the
   * operator had acknowledged losses); supersedes `initialPeakEquity`.
   */
  previous?: RiskSnapshot | null;
  /** `risk_limits.starting_capital`: where given, it is the capital the session started with. */
  startingCapital?: number;
}

/**
 * Polls Freqtrade and keeps the latest known figures, so a failed poll still leaves the heartbeat
 * with the last truth (and the failure counted). Derives what Freqtrade does not give directly:
 * equity drawdown from its peak including unrealized PnL, today's PnL with open losses, exposure,
 * highest leverage, exchange connectivity and bot-loop liveness.
 */
export class MetricsCollector {
  readonly #clock: Clock;
  readonly #loopStaleAfterMs: number;
  #config: ShowConfig | undefined;
  #health: Health | undefined;
  #profit: Profit | undefined;
  #trades: FreqtradeOpenTrade[] = [];
  #balance: Balance | undefined;
  #count: Count | undefined;
  #daily: Daily | undefined;
  #balanceOk = false;
  /** Equity at the last poll whose /balance, /status and /profit all answered and agreed (see #valuedPoll). */
  #equity: number | undefined;
  /** Today's PnL at the last poll whose /status and /daily answered and agreed: its UTC day and figure. */
  #pnlToday: { day: string; pnl: number } | undefined;
  /** The previous /balance's `starting_capital`, null where it gave none: the candidate awaiting a second. */
  #reportedStartingCapital: number | null | undefined;
  /** Freqtrade's starting capital once two /balance replies in a row reported it. */
  #freqtradeStartingCapital: number | null | undefined;
  #peakEquity: number;
  readonly #startingCapitalLimit: number | undefined;
  /** Set when the operator resumed past a breach: the starting capital no longer is the baseline. */
  #lossesAcknowledgedAt: string | null;
  #consecutiveFailures = 0;
  /** The polled Freqtrade predates /pause (its pause is max_open_trades 0 while running). */
  #stopEntryEra = false;
  #lastOutcome: PollOutcome | undefined;
  /** After an operator resumes past a breach, today's losses up to then are acknowledged. */
  #dailyAck: { day: string; pnl: number } | undefined;

  constructor(options: MetricsCollectorOptions) {
    this.#clock = options.clock;
    this.#loopStaleAfterMs = options.loopStaleAfterMs;
    this.#peakEquity = options.previous?.peak_equity ?? options.initialPeakEquity ?? 0;
    this.#lossesAcknowledgedAt = options.previous?.losses_acknowledged_at ?? null;
    this.#startingCapitalLimit = options.startingCapital;
  }

  get consecutiveFailures(): number {
    return this.#consecutiveFailures;
  }

  get lastOutcome(): PollOutcome | undefined {
    return this.#lastOutcome;
  }

  get hasData(): boolean {
    return this.#balance !== undefined;
  }

  /** One poll. `countFailures` is false while Freqtrade is (re)starting, so a normal boot is not a breach. */
  async poll(client: FreqtradeClient | undefined, countFailures: boolean): Promise<PollOutcome> {
    const at = this.#clock.now();
    const failures: string[] = [];
    if (client === undefined) {
      failures.push('freqtrade is not running');
    } else {
      // /balance first, then /status: Freqtrade commits a new trade before it debits the wallet, so every
      // stake /balance has taken is in the /status that follows (asked together, /status could miss a
      // trade whose stake /balance had already taken: a whole stake read as lost, a false breach).
      const balance = await client.balance();
      const [config, health, bracketed] = await Promise.all([
        client.showConfig(),
        client.health(),
        this.#bracketed(client),
      ]);
      const { status, profit, count, daily, settled } = bracketed;
      if (!settled) failures.push('freqtrade opened or closed trades while polled, twice: not valued');
      // Every failed call counts, 5xx included: a /balance stuck at 502 ("Error getting current tickers")
      // would otherwise freeze equity at its last value while the account moves.
      const keep = <T>(result: CallResult<T>, set: (value: T) => void) => {
        if (result.ok) set(result.value);
        else failures.push(describe(result.failure));
      };
      keep(config, (value) => {
        this.#config = value;
      });
      keep(health, (value) => {
        this.#health = value;
      });
      keep(status, (value) => {
        this.#trades = value;
      });
      this.#balanceOk = balance.ok;
      keep(balance, (value) => {
        this.#balance = value;
      });
      keep(profit, (value) => {
        this.#profit = value;
      });
      if (!count.ok && isStoppedRefusal(count.failure)) {
        // Freqtrade's `_rpc_count` refuses while the trader is stopped: expected, and exposure then
        // comes from /status rather than from a count of a running trader.
        this.#count = undefined;
      } else {
        keep(count, (value) => {
          this.#count = value;
        });
      }
      keep(daily, (value) => {
        this.#daily = value;
      });
      if (status.ok && daily.ok && settled) this.#pnlToday = this.#valuedPnlToday(at);
      if (balance.ok && status.ok && profit.ok && settled) {
        const unsettled = this.#valuedPoll(balance.value);
        if (unsettled !== undefined) failures.push(unsettled);
      }
    }
    this.#stopEntryEra = client?.era === 'stopentry';
    const freqtradeState = this.#stateOf(failures.length === 0 || this.#config !== undefined);
    const loopAlive = this.#loopAlive(at, freqtradeState);
    if (loopAlive === false) failures.push('freqtrade bot loop is stuck (last_process too old)');
    if (failures.length === 0) this.#consecutiveFailures = 0;
    else if (countFailures) this.#consecutiveFailures += 1;
    this.#lastOutcome = { at, failures: [...new Set(failures)], freqtradeState, loopAlive };
    return this.#lastOutcome;
  }

  /**
   * /status before and after the figures that depend on which trades are open (/profit's closed profit,
   * /daily's closed today, /count's stake), asked again once when the open trades differ: a trade Freqtrade
   * closes in between is otherwise open in /status and closed in /profit, its loss counted twice (a stoploss
   * exit read as a breach), or in neither. Settled when both /status replies name the same open trades.
   */
  async #bracketed(client: FreqtradeClient) {
    let status = await client.status();
    for (let attempt = 1; ; attempt += 1) {
      const [profit, count, daily] = await Promise.all([client.profit(), client.count(), client.daily()]);
      const after = await client.status();
      const settled = !status.ok || !after.ok || sameOpenTrades(status.value, after.value);
      status = after;
      if (settled || attempt >= BRACKET_ATTEMPTS) return { status, profit, count, daily, settled };
    }
  }

  #stateOf(known: boolean): FreqtradeState {
    if (!known || this.#config === undefined) return 'unknown';
    const state = this.#config.state.toLowerCase();
    // Before 2025.4 a pause is /stopentry: RUNNING with max_open_trades 0 (no new entries, exits managed).
    if (state === 'running' && this.#stopEntryEra && this.#config.max_open_trades === 0) return 'paused';
    return state === 'running' || state === 'paused' || state === 'stopped' ? state : 'unknown';
  }

  #loopAlive(nowMs: number, state: FreqtradeState): boolean | undefined {
    if (state === 'stopped' || state === 'unknown') return undefined;
    const ts = this.#health?.last_process_ts;
    if (ts === undefined || ts === null) return undefined;
    return nowMs - ts * 1000 <= this.#loopStaleAfterMs;
  }

  get freqtradeState(): FreqtradeState {
    return this.#lastOutcome?.freqtradeState ?? 'unknown';
  }

  get loopAlive(): boolean | undefined {
    return this.#lastOutcome?.loopAlive;
  }

  get lastProcessAt(): string | null {
    const ts = this.#health?.last_process_ts;
    return ts === undefined || ts === null ? null : isoOfMs(ts * 1000);
  }

  /**
   * The bot's equity in the stake currency, open positions marked to market (unrealized PnL included):
   * the lower of two valuations, so a loss either one sees counts.
   *
   * - From profits: Freqtrade's starting capital + its closed-trade profit + each open trade's
   *   `profit_abs` from `/status` (marked at the rate of Freqtrade's latest loop, after fees).
   * - From `/balance`: `total_bot` (else `total`), plus the stake of entry orders not filled yet, plus
   *   each filled position `/balance` does not value (marked as `/status` marks it).
   *
   * Real Freqtrade 2026.9 showed why `/balance` alone is not enough: it values coins at tickers cached
   * for up to 10 minutes (a 30 % crash left `total_bot` unchanged), and `total_bot` leaves out the stake
   * of an entry order until it fills (every resting entry read as a drawdown of its stake, hence the
   * add-back). The profit valuation sees a crash at the next loop; `/balance` still catches a wallet
   * below its declared starting capital. `/status` and `/balance` are not one snapshot: a trade seen
   * before the wallet is debited would count its stake twice in the add-back and raise the peak for
   * good, which the lower of the two prevents. And `/balance` answers from wallets Freqtrade refreshes
   * after its own trading steps (for `/balance` itself at most hourly): a fill it has not refreshed since
   * is in `/status` with no line in `/balance`, whose cash has already paid for it (a whole stake read as
   * lost, a false breach at entry); a coin with no cached ticker is listed at 0 the same way.
   */
  get equity(): number | undefined {
    return this.#equity;
  }

  /**
   * Values a poll whose /balance, /status and /profit all answered: figures from different polls are not
   * one account (this poll's cash against the last poll's trades reads a stake paid since as lost).
   *
   * Freqtrade's `starting_capital` is meant to hold still (wallet at start × tradable_balance_ratio, or
   * `available_capital`), yet 2026.9 computes it from the wallet's free cash plus the live trades' stakes:
   * a /balance answered between a new trade's commit and the wallet refresh that follows it reports one
   * stake too much (1089 for 990), and its cash has not paid for that trade yet. So a figure counts once
   * two replies in a row report it, and a reply reporting another figure than the one that counts is not
   * valued: it would lift the peak for good, and every later poll would read a drawdown of that stake.
   * Such a poll is a failed one (so a figure that never settles ends in max_monitor_failures, not in a
   * frozen equity nobody is told about). Until a figure counts, each reply is valued on its own figure
   * (a bot already below its starting capital is still paused at the first poll), and lifts the peak only
   * once the next reply agrees with it.
   */
  #valuedPoll(balance: Balance): string | undefined {
    const reported = positiveOrNull(balance.starting_capital);
    const confirmed =
      this.#reportedStartingCapital !== undefined && sameCapital(reported, this.#reportedStartingCapital);
    this.#reportedStartingCapital = reported;
    if (confirmed) {
      // Before the first figure counted, every valued reply was valued on its own figure: the last of them,
      // the one this reply agrees with, was a consistent reading after all.
      if (this.#freqtradeStartingCapital === undefined && this.#equity !== undefined)
        this.#liftPeak(this.#equity);
      this.#freqtradeStartingCapital = reported;
    }
    const settled = this.#freqtradeStartingCapital;
    if (settled === undefined) {
      this.#equity = this.#valuation(balance, reported);
      return undefined;
    }
    if (!sameCapital(reported, settled))
      return `freqtrade /balance starting_capital ${reported} differs from ${settled}: not valued until two replies agree`;
    this.#equity = this.#valuation(balance, settled);
    this.#liftPeak(this.#equity);
    return undefined;
  }

  #liftPeak(equity: number): void {
    if (equity > this.#peakEquity) this.#peakEquity = equity;
  }

  #valuation(balance: Balance, start: number | null): number {
    const fromBalance = this.#balanceEquity(balance);
    const profit = this.#profit;
    const marked = this.#trades.every((trade) => typeof trade.profit_abs === 'number');
    if (start === null || profit === undefined || !marked) return fromBalance;
    return Math.min(fromBalance, start + profit.profit_closed_coin + this.#openProfit());
  }

  #balanceEquity(balance: Balance): number {
    const totalBot = balance.total_bot;
    if (totalBot === undefined || totalBot === null) return balance.total;
    const valued = new Set(
      (balance.currencies ?? [])
        .filter((line) => typeof line.est_stake_bot === 'number' && line.est_stake_bot > 0)
        .map((line) => line.currency),
    );
    const missing = this.#trades.reduce((sum, trade) => {
      const filledStake = Math.min(
        trade.stake_amount,
        (trade.amount * trade.open_rate) / (trade.leverage ?? 1),
      );
      const unfilledEntryStake = Math.max(0, trade.stake_amount - filledStake);
      const holdingListed = valued.has(trade.pair) || valued.has(baseCurrencyOf(trade.pair));
      const unlistedHolding = filledStake > 0 && !holdingListed ? filledStake + (trade.profit_abs ?? 0) : 0;
      return sum + unfilledEntryStake + unlistedHolding;
    }, 0);
    return totalBot + missing;
  }

  get peakEquity(): number {
    return this.#peakEquity;
  }

  /**
   * The capital the session started with: the operator's `risk_limits.starting_capital` where given, else
   * Freqtrade's own `/balance` `starting_capital` (its `available_capital`, or the wallet at its start) once two
   * replies in a row agree on it (until then, the latest reply's).
   */
  get startingCapital(): number | null {
    if (this.#startingCapitalLimit !== undefined) return this.#startingCapitalLimit;
    if (this.#freqtradeStartingCapital !== undefined) return this.#freqtradeStartingCapital;
    return this.#reportedStartingCapital ?? null;
  }

  get openTrades(): OpenTrade[] {
    return this.#trades.slice(0, MAX_OPEN_TRADES_SNAPSHOT).map(toOpenTrade);
  }

  get openTradeCount(): number {
    return this.#trades.length;
  }

  get exposure(): number {
    if (this.#count !== undefined) return Math.max(0, this.#count.total_stake);
    return this.#trades.reduce((sum, trade) => sum + Math.abs(trade.stake_amount), 0);
  }

  get maxLeverage(): number {
    return this.#trades.reduce((max, trade) => Math.max(max, trade.leverage ?? 1), 0);
  }

  /** Closed today (Freqtrade's /daily, UTC) plus what open trades would realise now: open losses count today. */
  get pnlToday(): number {
    const valued = this.#pnlToday;
    if (valued === undefined) return 0;
    // Past midnight UTC, until a poll values the new day, only the open trades' PnL counts toward it.
    if (valued.day === utcDay(this.#clock.now())) return valued.pnl;
    return this.#openProfit();
  }

  /** What the open trades would realise now (/status's `profit_abs`, after fees). */
  #openProfit(): number {
    return this.#trades.reduce((sum, trade) => sum + (trade.profit_abs ?? 0), 0);
  }

  #valuedPnlToday(at: number): { day: string; pnl: number } {
    const day = utcDay(at);
    const closed = this.#daily?.data.find((entry) => entry.date === day)?.abs_profit ?? 0;
    return { day, pnl: closed + this.#openProfit() };
  }

  get exchangeConnected(): boolean {
    return (
      this.#balanceOk &&
      this.loopAlive !== false &&
      !this.#trades.some((trade) => trade.current_rate === null || trade.current_rate === undefined)
    );
  }

  get stakeCurrency(): string | undefined {
    return this.#config?.stake_currency ?? this.#balance?.stake;
  }

  metrics(): SessionMetrics {
    const profit = this.#profit;
    const decided = profit === undefined ? 0 : profit.winning_trades + profit.losing_trades;
    const winRate =
      profit === undefined ? 0 : (profit.winrate ?? (decided === 0 ? 0 : profit.winning_trades / decided));
    const stake = this.stakeCurrency;
    const equity = this.equity;
    return {
      total_trades: Math.max(0, profit?.trade_count ?? 0),
      win_rate: Math.min(1, Math.max(0, winRate)),
      pnl_today: round(this.pnlToday),
      pnl_total: round(profit?.profit_all_coin ?? 0),
      open_trade_count: this.openTradeCount,
      ...(equity === undefined ? {} : { equity: round(equity) }),
      ...(stake === undefined ? {} : { stake_currency: stake.slice(0, 16) }),
    };
  }

  lastTradeAt(): string | null {
    return isoOrNull(this.#profit?.latest_trade_timestamp);
  }

  /** The numbers the risk limits are evaluated on (and re-evaluated by the control plane). */
  riskSnapshot(): RiskSnapshot {
    const basis = {
      peak_equity: this.#peakEquity,
      starting_capital: this.startingCapital,
      losses_acknowledged_at: this.#lossesAcknowledgedAt,
    };
    const baseline = drawdownBaseline({}, basis);
    // Before the first balance (Freqtrade booting) equity is unknown, not zero: an inherited peak or a
    // starting capital must not read as a 100 % drawdown. Blindness is caught by monitor_failures instead.
    const equity = this.equity ?? baseline;
    const today = utcDay(this.#clock.now());
    const ack = this.#dailyAck?.day === today ? this.#dailyAck.pnl : 0;
    return {
      equity: round(equity),
      peak_equity: round(this.#peakEquity),
      drawdown_pct: round(drawdownPct(baseline, equity)),
      starting_capital: basis.starting_capital === null ? null : round(basis.starting_capital),
      losses_acknowledged_at: basis.losses_acknowledged_at,
      daily_pnl: round(this.pnlToday - Math.min(0, ack)),
      open_trades: this.openTradeCount,
      max_leverage: this.maxLeverage,
      exposure: round(this.exposure),
      monitor_failures: this.#consecutiveFailures,
    };
  }

  /**
   * The operator resumed after a breach: the loss up to now is accepted. Drawdown is measured from
   * today's equity again (no longer from the starting capital) and today's loss limit counts from here, so the resume is not undone at the
   * next poll by the loss the operator has just accepted.
   */
  acknowledgeLosses(): void {
    const equity = this.equity;
    if (equity !== undefined) this.#peakEquity = equity;
    this.#lossesAcknowledgedAt = isoOfMs(this.#clock.now());
    this.#dailyAck = { day: utcDay(this.#clock.now()), pnl: this.pnlToday };
  }
}

/** A poll asks its bracket again once: two trade changes within two brackets' time are rare. */
const BRACKET_ATTEMPTS = 2;
const openTradesKey = (trades: readonly FreqtradeOpenTrade[]) =>
  trades
    .map((trade) => `${trade.trade_id}:${trade.amount}`)
    .sort()
    .join(',');
const sameOpenTrades = (a: readonly FreqtradeOpenTrade[], b: readonly FreqtradeOpenTrade[]) =>
  openTradesKey(a) === openTradesKey(b);

/** `BTC/USDT` and the futures `BTC/USDT:USDT` hold BTC. */
const baseCurrencyOf = (pair: string) => pair.split('/')[0] ?? pair;

const describe = (failure: CallFailure) => `${failure.kind}: ${failure.message}`;
/** rpc.py raises `RPCException("trader is not running")` (HTTP 502) for calls a stopped trader cannot answer. */
const isStoppedRefusal = (failure: CallFailure) =>
  failure.kind === 'refused' && failure.message.endsWith('trader is not running');
const round = (value: number) => Math.round(value * 1e6) / 1e6;
const positiveOrNull = (value: number | null | undefined) =>
  value === undefined || value === null || value <= 0 ? null : value;
/**
 * Within 0.1 %: a stake in flight is told apart, and one smaller than that moves a drawdown by less than
 * 0.1 % (live wallets drift by fees; consecutive replies still agree, so the figure that counts follows).
 */
const sameCapital = (a: number | null, b: number | null) =>
  a === null || b === null ? a === b : Math.abs(a - b) <= Math.max(a, b) * 1e-3;
