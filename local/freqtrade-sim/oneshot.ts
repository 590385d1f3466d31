/**
 * `freqtrade backtesting` and `freqtrade hyperopt` as one-shot runs: a paper backtest on the seeded
 * market, its result written where Freqtrade writes it, then exit 0. The `crash` scenario makes the
 * run exit with its code instead (nothing written); `hang` makes it never finish.
 *
 * Result files follow Freqtrade's JSON layout (2024.x): `backtest-result-<date>.json` with
 * `{strategy: {<name>: stats}, strategy_comparison: [...]}`, a `.meta.json` beside it and
 * `.last_result.json` in the folder; hyperopt writes one JSON line per epoch to
 * `hyperopt_results/strategy_<name>_<date>.fthypt`. Freqtrade 2025+ zips backtest results instead.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { Clock } from '../../shared/domain/clock';
import { PaperBot } from './bot';
import type { FreqtradeConfig } from './config';
import { decimalsPerCoin, formatDate, formatTimedelta, round, timeframeMinutes } from './format';
import { createLogger, type Logger, silentSink } from './logger';
import { createRng, PaperMarket } from './market';
import * as rpc from './rpc';

export interface OneShotArgs {
  timerange?: string;
  export?: string;
  exportFilename?: string;
  backtestDirectory?: string;
  userdir?: string;
  epochs?: number;
  minTrades?: number;
  notes?: string;
}

export interface OneShotDeps {
  clock: Clock;
  logger: Logger;
  /** Prints the human-readable report (stdout in the CLI). */
  print: (text: string) => void;
  sleep: (ms: number) => Promise<void>;
}

const DAY_MS = 86_400_000;
/** The simulator's cap, so a long timerange cannot make a one-shot run take minutes. */
const MAX_CANDLES = 5_000;

const parseDay = (text: string): number | null => {
  if (/^\d{8}$/.test(text))
    return Date.UTC(Number(text.slice(0, 4)), Number(text.slice(4, 6)) - 1, Number(text.slice(6, 8)));
  if (/^\d{9,10}$/.test(text)) return Number(text) * 1000;
  return null;
};

/** Freqtrade's `--timerange` (`20240101-20240201`, `20240101-`, `-20240201`); 30 days to today by default. */
export const parseTimerange = (
  timerange: string | undefined,
  now: number,
): { start: number; end: number } => {
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  const [from = '', to = ''] = (timerange ?? '').split('-');
  const end = parseDay(to) ?? today;
  const start = parseDay(from) ?? end - 30 * DAY_MS;
  return start < end ? { start, end } : { start: end - 30 * DAY_MS, end };
};

/** A clock the backtest moves candle by candle. */
class CandleClock implements Clock {
  #now: number;
  constructor(start: number) {
    this.#now = start;
  }
  now(): number {
    return this.#now;
  }
  advance(ms: number): void {
    this.#now += ms;
  }
}

export interface PaperBacktest {
  bot: PaperBot;
  start: number;
  end: number;
  candles: number;
  /** The market's first and last prices, for Freqtrade's `market_change`. */
  marketChange: number;
}

/** Runs the paper strategy over the timerange, one market step per candle, and closes what is left open. */
export const runPaperBacktest = (
  config: FreqtradeConfig,
  range: { start: number; end: number },
): PaperBacktest => {
  const candleMs = Math.max(1, timeframeMinutes(config.timeframe)) * 60_000;
  const candles = Math.min(Math.floor((range.end - range.start) / candleMs), MAX_CANDLES);
  const clock = new CandleClock(range.start);
  const market = new PaperMarket({
    pairs: config.exchange.pair_whitelist,
    seed: config.sim.seed,
    volatility: config.sim.volatility,
    drift: config.sim.drift,
    startPrices: config.sim.start_prices,
  });
  const first = market.snapshot();
  // Backtesting does not log each trade; the summary is the output.
  const logger = createLogger(clock, silentSink);
  const bot = new PaperBot(
    { ...config, initial_state: 'running' },
    { clock, logger, market, rng: createRng(config.sim.seed, 3) },
  );
  for (let candle = 0; candle < candles; candle++) {
    market.step();
    bot.process();
    clock.advance(candleMs);
  }
  // Freqtrade closes trades still open at the end of the backtest ("force_exit" at the last close);
  // pausing first keeps that last iteration from entering new trades.
  bot.command('pause');
  bot.forceExit('all', 'market');
  bot.process();
  const last = market.snapshot();
  const changes = Object.keys(first).map((pair) => (last[pair] ?? 0) / (first[pair] ?? 1) - 1);
  return {
    bot,
    start: range.start,
    end: range.start + candles * candleMs,
    candles,
    marketChange: changes.length ? changes.reduce((a, b) => a + b, 0) / changes.length : 0,
  };
};

const dateAppendix = (ms: number): string => {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)}_${iso.slice(11, 19).replaceAll(':', '-')}`;
};

const writeJson = (path: string, value: unknown, logger: Logger): void => {
  mkdirSync(dirname(path), { recursive: true });
  logger.log('INFO', 'freqtrade.misc', `dumping json to "${path}"`);
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
};

/** Where Freqtrade puts a backtest result: `--backtest-directory`, `--export-filename` (file or folder), or user_data. */
export const backtestResultPath = (args: OneShotArgs, config: FreqtradeConfig, appendix: string): string => {
  const userdir = args.userdir ?? config.user_data_dir ?? 'user_data';
  if (args.backtestDirectory) return join(args.backtestDirectory, `backtest-result-${appendix}.json`);
  if (args.exportFilename) {
    const target = args.exportFilename;
    if (existsSync(target) && statSync(target).isDirectory())
      return join(target, `backtest-result-${appendix}.json`);
    return join(dirname(target), `${basename(target, extname(target))}-${appendix}.json`);
  }
  return join(userdir, 'backtest_results', `backtest-result-${appendix}.json`);
};

const strategyStats = (
  config: FreqtradeConfig,
  run: PaperBacktest,
  runStart: number,
  runEnd: number,
  timerange: string,
) => {
  const bot = run.bot;
  const profit = rpc.profit(bot, run.end);
  const closed = bot.closedTrades();
  const wins = closed.filter((trade) => (trade.closeProfitAbs ?? 0) > 0).length;
  const losses = closed.filter((trade) => (trade.closeProfitAbs ?? 0) < 0).length;
  const ratios = closed.map((trade) => trade.closeProfit ?? 0).sort((a, b) => a - b);
  const median = ratios.length ? (ratios[Math.floor((ratios.length - 1) / 2)] ?? 0) : 0;
  const days = Math.max(1, Math.round((run.end - run.start) / DAY_MS));
  const perPair = config.exchange.pair_whitelist.map((pair) => {
    const trades = closed.filter((trade) => trade.pair === pair);
    const abs = trades.reduce((sum, trade) => sum + (trade.closeProfitAbs ?? 0), 0);
    return {
      key: pair,
      trades: trades.length,
      profit_total_abs: round(abs, 8),
      profit_total: abs / bot.startingCapital(),
      profit_mean: trades.length
        ? trades.reduce((sum, trade) => sum + (trade.closeProfit ?? 0), 0) / trades.length
        : 0,
      wins: trades.filter((trade) => (trade.closeProfitAbs ?? 0) > 0).length,
      losses: trades.filter((trade) => (trade.closeProfitAbs ?? 0) < 0).length,
    };
  });
  const byProfit = [...perPair].sort((a, b) => b.profit_total_abs - a.profit_total_abs);
  const reasons = [...new Set(closed.map((trade) => trade.exitReason ?? 'unknown'))].map((reason) => ({
    key: reason,
    trades: closed.filter((trade) => trade.exitReason === reason).length,
  }));
  const holdingS = closed.length
    ? closed.reduce((sum, trade) => sum + ((trade.closedAt ?? 0) - trade.openedAt) / 1000, 0) / closed.length
    : 0;
  return {
    trades: closed.map((trade) => trade.toJson()),
    locks: [],
    best_pair: byProfit[0] ?? null,
    worst_pair: byProfit.at(-1) ?? null,
    results_per_pair: perPair,
    exit_reason_summary: reasons,
    left_open_trades: [],
    total_trades: closed.length,
    trade_count_long: closed.filter((trade) => !trade.isShort).length,
    trade_count_short: closed.filter((trade) => trade.isShort).length,
    total_volume: profit.trading_volume ?? 0,
    avg_stake_amount: closed.length
      ? closed.reduce((sum, trade) => sum + trade.stakeAmount, 0) / closed.length
      : 0,
    profit_mean: profit.profit_closed_ratio_mean,
    profit_median: median,
    profit_total: profit.profit_closed_ratio,
    profit_total_abs: profit.profit_closed_coin,
    cagr: profit.cagr ?? 0,
    expectancy: profit.expectancy,
    expectancy_ratio: profit.expectancy_ratio,
    sharpe: profit.sharpe ?? 0,
    sortino: profit.sortino ?? 0,
    calmar: profit.calmar ?? 0,
    profit_factor: profit.profit_factor ?? 0,
    wins,
    losses,
    draws: closed.length - wins - losses,
    winrate: closed.length ? wins / closed.length : 0,
    holding_avg: formatTimedelta(holdingS),
    holding_avg_s: holdingS,
    backtest_start: formatDate(run.start),
    backtest_start_ts: run.start,
    backtest_end: formatDate(run.end),
    backtest_end_ts: run.end,
    backtest_days: days,
    backtest_run_start_ts: Math.floor(runStart / 1000),
    backtest_run_end_ts: Math.floor(runEnd / 1000),
    trades_per_day: round(closed.length / days, 2),
    market_change: run.marketChange,
    pairlist: [...config.exchange.pair_whitelist],
    stake_amount: config.stake_amount,
    stake_currency: config.stake_currency,
    stake_currency_decimals: decimalsPerCoin(config.stake_currency),
    starting_balance: bot.startingCapital(),
    dry_run_wallet: config.dry_run_wallet,
    final_balance: bot.startingCapital() + profit.profit_closed_coin,
    rejected_signals: 0,
    timedout_entry_orders: 0,
    timedout_exit_orders: 0,
    canceled_trade_entries: 0,
    canceled_entry_orders: 0,
    replaced_entry_orders: 0,
    max_open_trades: config.max_open_trades,
    max_open_trades_setting: config.max_open_trades,
    timeframe: config.timeframe,
    timeframe_detail: '',
    timerange,
    enable_protections: false,
    strategy_name: config.strategy,
    stoploss: config.stoploss,
    minimal_roi: config.minimal_roi,
    trading_mode: config.trading_mode,
    margin_mode: config.margin_mode,
    max_drawdown_account: profit.max_drawdown,
    max_relative_drawdown: profit.max_drawdown,
    max_drawdown_abs: profit.max_drawdown_abs,
    drawdown_start: profit.max_drawdown_start,
    drawdown_start_ts: profit.max_drawdown_start_timestamp,
    drawdown_end: profit.max_drawdown_end,
    drawdown_end_ts: profit.max_drawdown_end_timestamp,
  };
};

const crashOrHang = async (config: FreqtradeConfig, deps: OneShotDeps): Promise<number | null> => {
  const scenario = config.sim.scenario;
  if (scenario.name === 'crash') {
    await deps.sleep(Math.min(scenario.at_s * 1000, config.sim.oneshot_ms));
    deps.logger.log(
      'ERROR',
      'freqtrade',
      `Fatal exception! (simulated crash, exit code ${scenario.exit_code})`,
    );
    return scenario.exit_code;
  }
  if (scenario.name === 'hang') {
    deps.logger.log('INFO', 'freqtrade.simulator', 'Scenario hang: this run never finishes.');
    await new Promise<never>(() => {});
  }
  return null;
};

/**
 * FreqAI in backtesting with `save_backtest_models` (a train run, seed §5): Freqtrade leaves the trained
 * models in `<user_data_dir>/models/<identifier>`, a `sub-train-<COIN>_<timestamp>` folder per pair and
 * `pair_dictionary.json` naming each pair's model file, training time and folder (absolute). The
 * simulator writes the same layout with placeholder model bytes, so the agent's registration has the
 * real shape to register.
 */
const writeFreqaiModels = (
  config: FreqtradeConfig,
  args: OneShotArgs,
  trainedAtMs: number,
  logger: Logger,
) => {
  const freqai = (
    config as { freqai?: { enabled?: unknown; identifier?: unknown; save_backtest_models?: unknown } }
  ).freqai;
  if (
    freqai?.enabled !== true ||
    typeof freqai.identifier !== 'string' ||
    freqai.save_backtest_models !== true
  )
    return;
  const root = resolve(args.userdir ?? config.user_data_dir ?? 'user_data', 'models', freqai.identifier);
  const trainedAt = Math.floor(trainedAtMs / 1000);
  const dictionary: Record<string, unknown> = {};
  for (const pair of config.exchange.pair_whitelist) {
    const coin = (pair.split('/')[0] ?? pair).replace(/[^A-Za-z0-9]/g, '');
    const folder = join(root, `sub-train-${coin}_${trainedAt}`);
    const filename = `cb_${coin.toLowerCase()}_${trainedAt}`;
    mkdirSync(folder, { recursive: true });
    writeFileSync(
      join(folder, `${filename}_model.joblib`),
      `simulated model of ${pair} trained at ${trainedAt}\n`,
    );
    writeFileSync(
      join(folder, `${filename}_metadata.json`),
      `${JSON.stringify({ pair, trained_timestamp: trainedAt })}\n`,
    );
    dictionary[pair] = {
      model_filename: filename,
      trained_timestamp: trainedAt,
      data_path: folder,
      extras: {},
    };
  }
  writeJson(join(root, 'pair_dictionary.json'), dictionary, logger);
};

/** `freqtrade backtesting`: returns the process exit code. */
export const runBacktesting = async (
  config: FreqtradeConfig,
  args: OneShotArgs,
  deps: OneShotDeps,
): Promise<number> => {
  const runStart = deps.clock.now();
  deps.logger.log('INFO', 'freqtrade.optimize.backtesting', `Using strategy ${config.strategy}`);
  const failure = await crashOrHang(config, deps);
  if (failure !== null) return failure;
  const range = parseTimerange(args.timerange, runStart);
  const run = runPaperBacktest(config, range);
  await deps.sleep(config.sim.oneshot_ms);
  const runEnd = deps.clock.now();
  const stats = strategyStats(config, run, runStart, runEnd, args.timerange ?? '');
  writeFreqaiModels(config, args, runEnd, deps.logger);
  const result = {
    strategy: { [config.strategy]: stats },
    strategy_comparison: [
      {
        key: config.strategy,
        trades: stats.total_trades,
        profit_mean: stats.profit_mean,
        profit_mean_pct: round(stats.profit_mean * 100, 2),
        profit_total_abs: stats.profit_total_abs,
        profit_total: stats.profit_total,
        profit_total_pct: round(stats.profit_total * 100, 2),
        duration_avg: stats.holding_avg,
        wins: stats.wins,
        draws: stats.draws,
        losses: stats.losses,
        winrate: stats.winrate,
        max_drawdown_account: stats.max_drawdown_account,
        max_drawdown_abs: stats.max_drawdown_abs,
      },
    ],
  };
  deps.print(
    [
      `Result for strategy ${config.strategy}`,
      `Backtesting from ${stats.backtest_start} to ${stats.backtest_end} (${run.candles} candles)`,
      `Total trades: ${stats.total_trades}, wins/draws/losses: ${stats.wins}/${stats.draws}/${stats.losses}`,
      `Total profit: ${round(stats.profit_total_abs, 3)} ${config.stake_currency} (${round(stats.profit_total * 100, 2)}%)`,
      `Max drawdown (account): ${round(stats.max_drawdown_account * 100, 2)}%`,
    ].join('\n'),
  );
  if (args.export === 'none') return 0;
  const appendix = dateAppendix(runStart);
  const path = backtestResultPath(args, config, appendix);
  writeJson(path, result, deps.logger);
  writeJson(
    path.replace(/\.json$/, '.meta.json'),
    {
      [config.strategy]: {
        run_id: `sim-${config.sim.seed}-${runStart}`,
        backtest_start_time: Math.floor(runStart / 1000),
        timeframe: config.timeframe,
        timeframe_detail: null,
        backtest_start_ts: Math.floor(run.start / 1000),
        backtest_end_ts: Math.floor(run.end / 1000),
        notes: args.notes ?? '',
      },
    },
    deps.logger,
  );
  writeJson(join(dirname(path), '.last_result.json'), { latest_backtest: basename(path) }, deps.logger);
  return 0;
};

/** `freqtrade hyperopt`: each epoch draws ROI and stoploss, backtests them, and appends a line. */
export const runHyperopt = async (
  config: FreqtradeConfig,
  args: OneShotArgs,
  deps: OneShotDeps,
): Promise<number> => {
  const runStart = deps.clock.now();
  deps.logger.log('INFO', 'freqtrade.optimize.hyperopt', `Using optimizer for strategy ${config.strategy}`);
  const failure = await crashOrHang(config, deps);
  if (failure !== null) return failure;
  const epochs = Math.min(args.epochs ?? 100, 1000);
  const minTrades = args.minTrades ?? 1;
  const rng = createRng(config.sim.seed, 4);
  const range = parseTimerange(args.timerange, runStart);
  const lines: string[] = [];
  let best: { epoch: number; loss: number; explanation: string } | null = null;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const roi = round(0.01 + rng.next() * 0.19, 3);
    const stoploss = round(-(0.02 + rng.next() * 0.28), 3);
    const run = runPaperBacktest({ ...config, minimal_roi: { '0': roi }, stoploss }, range);
    const profit = rpc.profit(run.bot, run.end);
    const trades = profit.closed_trade_count;
    // A loss that only ranks epochs: better profit is lower; too few trades is worst.
    const loss = trades < minTrades ? 100_000 : round(-profit.profit_closed_ratio, 8);
    const isBest = best === null || loss < best.loss;
    const explanation =
      `${String(trades).padStart(6)} trades. ${profit.winning_trades}/0/${profit.losing_trades} Wins/Draws/Losses. ` +
      `Avg profit ${round(profit.profit_closed_ratio_mean * 100, 2)}%. ` +
      `Total profit ${round(profit.profit_closed_coin, 8)} ${config.stake_currency} (${round(profit.profit_closed_ratio * 100, 2)}%).`;
    if (isBest) best = { epoch, loss, explanation };
    lines.push(
      JSON.stringify({
        loss,
        params_dict: { roi_p1: roi, stoploss },
        params_details: { roi: { '0': roi }, stoploss: { stoploss } },
        params_not_optimized: {},
        results_metrics: {
          total_trades: trades,
          profit_total: profit.profit_closed_ratio,
          profit_total_abs: profit.profit_closed_coin,
          profit_mean: profit.profit_closed_ratio_mean,
          wins: profit.winning_trades,
          losses: profit.losing_trades,
          draws: 0,
          max_drawdown_account: profit.max_drawdown,
          max_drawdown_abs: profit.max_drawdown_abs,
        },
        results_explanation: explanation,
        total_profit: profit.profit_closed_coin,
        current_epoch: epoch,
        is_initial_point: epoch <= Math.min(30, epochs),
        is_random: false,
        is_best: isBest,
      }),
    );
  }
  await deps.sleep(config.sim.oneshot_ms);
  const userdir = args.userdir ?? config.user_data_dir ?? 'user_data';
  const path = join(
    userdir,
    'hyperopt_results',
    `strategy_${config.strategy}_${dateAppendix(runStart)}.fthypt`,
  );
  mkdirSync(dirname(path), { recursive: true });
  deps.logger.log('INFO', 'freqtrade.optimize.hyperopt', `${epochs} epochs saved to '${path}'.`);
  writeFileSync(path, `${lines.join('\n')}\n`);
  writeJson(join(dirname(path), '.last_result.json'), { latest_hyperopt: basename(path) }, deps.logger);
  if (best)
    deps.print(`Best result:\n\n*  ${best.epoch}/${epochs}: ${best.explanation} Objective: ${best.loss}`);
  return 0;
};
