import { createServer, type Server } from 'node:http';

/**
 * A Freqtrade REST API that answers with replies shaped exactly like Freqtrade 2026.9's own
 * (`freqtrade/rpc/api_server/api_schemas.py`: Balances, Profit, ShowConfig, Health, Count,
 * DailyWeeklyMonthly; `rpc.py` `_rpc_balance`, `_rpc_trade_statistics`, `_rpc_pause`), every field
 * present, for replaying a real bot's situation through the agent. Figures are set by the test.
 */
export interface ReplayedBot {
  /** Freqtrade's state as `/show_config` reports it. */
  state: 'running' | 'paused' | 'stopped';
  /** `/balance` `total_bot` and `total`: the account's value in the stake currency. */
  equity: number;
  /** `/balance` `starting_capital`: `available_capital`, or the wallet when the bot first started. */
  startingCapital: number;
  /** `/profit` `max_drawdown` (closed trades only, a ratio) and its absolute figure. */
  closedMaxDrawdown: number;
  /** HTTP status forced on a route (e.g. `{'/balance': 502}`), for fault replays. */
  failRoutes: Record<string, number>;
}

export interface ReplayServer {
  url: string;
  bot: ReplayedBot;
  /** `METHOD /path` of every call, in order. */
  calls: string[];
  close(): Promise<void>;
}

const USDT = 'USDT';

const round = (value: number, digits = 8) => Math.round(value * 10 ** digits) / 10 ** digits;

const balanceOf = (bot: ReplayedBot) => {
  const ratio = bot.startingCapital ? bot.equity / bot.startingCapital - 1 : 0;
  return {
    currencies: [
      {
        currency: USDT,
        free: bot.equity,
        balance: bot.equity,
        used: 0,
        bot_owned: bot.equity,
        est_stake: bot.equity,
        est_stake_bot: bot.equity,
        stake: USDT,
        side: 'long',
        position: 0,
        is_bot_managed: true,
        is_position: false,
      },
    ],
    total: bot.equity,
    total_bot: bot.equity,
    symbol: 'USD',
    value: bot.equity,
    value_bot: bot.equity,
    stake: USDT,
    note: 'Simulated balances',
    starting_capital: bot.startingCapital,
    starting_capital_ratio: ratio,
    starting_capital_pct: round(ratio * 100, 2),
    starting_capital_fiat: bot.startingCapital,
    starting_capital_fiat_ratio: ratio,
    starting_capital_fiat_pct: round(ratio * 100, 2),
  };
};

const profitOf = (bot: ReplayedBot, nowMs: number) => {
  const closed = bot.equity - bot.startingCapital;
  const ratio = closed / bot.startingCapital;
  const day = 86_400_000;
  const first = nowMs - 10 * day;
  const latest = nowMs - day;
  const date = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
  return {
    profit_closed_coin: closed,
    profit_closed_percent_mean: round(ratio * 10, 2),
    profit_closed_ratio_mean: ratio / 10,
    profit_closed_percent_sum: round(ratio * 100, 2),
    profit_closed_ratio_sum: ratio,
    profit_closed_percent: round(ratio * 100, 2),
    profit_closed_ratio: ratio,
    profit_closed_fiat: closed,
    profit_all_coin: closed,
    profit_all_percent_mean: round(ratio * 10, 2),
    profit_all_ratio_mean: ratio / 10,
    profit_all_percent_sum: round(ratio * 100, 2),
    profit_all_ratio_sum: ratio,
    profit_all_percent: round(ratio * 100, 2),
    profit_all_ratio: ratio,
    profit_all_fiat: closed,
    trade_count: 10,
    closed_trade_count: 10,
    first_trade_date: '10 days ago',
    first_trade_humanized: '10 days ago',
    first_trade_timestamp: first,
    latest_trade_date: 'a day ago',
    latest_trade_humanized: 'a day ago',
    latest_trade_timestamp: latest,
    avg_duration: '6:00:00',
    best_pair: 'BTC/USDT',
    best_rate: 1.2,
    best_pair_profit_ratio: 0.012,
    best_pair_profit_abs: 15.6,
    winning_trades: 2,
    losing_trades: 8,
    profit_factor: 0.05,
    winrate: 0.2,
    expectancy: closed / 10,
    expectancy_ratio: -0.9,
    sharpe: -3.1,
    sortino: -2.4,
    sqn: -2.2,
    calmar: -11.5,
    cagr: -0.99,
    max_drawdown: bot.closedMaxDrawdown,
    max_drawdown_abs: round(bot.closedMaxDrawdown * bot.startingCapital, 4),
    max_drawdown_start: date(first),
    max_drawdown_start_timestamp: first,
    max_drawdown_end: date(latest),
    max_drawdown_end_timestamp: latest,
    current_drawdown: bot.closedMaxDrawdown,
    current_drawdown_abs: round(bot.closedMaxDrawdown * bot.startingCapital, 4),
    current_drawdown_high: bot.startingCapital,
    current_drawdown_start: date(first),
    current_drawdown_start_timestamp: first,
    trading_volume: 26_000,
    bot_start_timestamp: first - day,
    bot_start_date: date(first - day),
  };
};

const showConfigOf = (bot: ReplayedBot) => ({
  version: '2026.9',
  strategy_version: null,
  api_version: 2.5,
  dry_run: true,
  trading_mode: 'spot',
  margin_mode: '',
  short_allowed: false,
  stake_currency: USDT,
  stake_amount: '100',
  available_capital: bot.startingCapital,
  stake_currency_decimals: 3,
  max_open_trades: 3,
  minimal_roi: { '0': 0.04 },
  stoploss: -0.1,
  stoploss_on_exchange: false,
  trailing_stop: false,
  unfilledtimeout: { entry: 10, exit: 10, unit: 'minutes', exit_timeout_count: 0 },
  order_types: {
    entry: 'limit',
    exit: 'limit',
    emergency_exit: 'market',
    force_exit: 'market',
    force_entry: 'market',
    stoploss: 'market',
    stoploss_on_exchange: false,
    stoploss_on_exchange_interval: 60,
  },
  use_custom_stoploss: false,
  timeframe: '5m',
  timeframe_ms: 300_000,
  timeframe_min: 5,
  exchange: 'binance',
  demo_trading: false,
  strategy: 'SampleStrategy',
  force_entry_enable: false,
  exit_pricing: { price_side: 'same', use_order_book: true, order_book_top: 1 },
  entry_pricing: { price_side: 'same', use_order_book: true, order_book_top: 1 },
  bot_name: 'freqtrade',
  state: bot.state,
  runmode: 'dry_run',
  position_adjustment_enable: false,
  max_entry_position_adjustment: -1,
});

/** `_rpc_start`, `_rpc_stop` and `_rpc_pause` of Freqtrade 2026.9, with their answers. */
const control = (bot: ReplayedBot, action: string): { status: string } | undefined => {
  switch (action) {
    case 'start':
      if (bot.state === 'running') return { status: 'already running' };
      bot.state = 'running';
      return { status: 'starting trader ...' };
    case 'stop':
      if (bot.state === 'stopped') return { status: 'already stopped' };
      bot.state = 'stopped';
      return { status: 'stopping trader ...' };
    case 'pause':
    case 'stopentry':
    case 'stopbuy':
      if (bot.state === 'stopped') {
        bot.state = 'paused';
        return {
          status:
            'starting bot with trader in paused state, no entries will occur. Run /start to enable entries.',
        };
      }
      bot.state = 'paused';
      return { status: 'paused, no more entries will occur from now. Run /start to enable entries.' };
    default:
      return undefined;
  }
};

export const startReplayServer = async (
  initial: Partial<ReplayedBot> = {},
  now: () => number = Date.now,
): Promise<ReplayServer> => {
  const bot: ReplayedBot = {
    state: 'running',
    equity: 1000,
    startingCapital: 1000,
    closedMaxDrawdown: 0,
    failRoutes: {},
    ...initial,
  };
  const calls: string[] = [];
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const route = url.pathname.replace(/^\/api\/v1/, '');
    calls.push(`${request.method} ${route}`);
    const reply = (status: number, body: unknown) =>
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const forced = bot.failRoutes[route];
    if (forced !== undefined) {
      // Freqtrade answers an RPCException with 502 {"error": "Error querying <path>: <message>"}.
      reply(
        forced,
        forced === 502
          ? { error: `Error querying ${url.pathname}: Error getting current tickers.` }
          : { detail: 'Internal Server Error' },
      );
      return;
    }
    const nowMs = now();
    if (request.method === 'POST') {
      const answer = control(bot, route.slice(1));
      if (answer === undefined) reply(404, { detail: 'Not Found' });
      else reply(200, answer);
      return;
    }
    switch (route) {
      case '/ping':
        return reply(200, { status: 'pong' });
      case '/version':
        return reply(200, { version: '2026.9' });
      case '/show_config':
        return reply(200, showConfigOf(bot));
      case '/health': {
        const lastS = Math.floor(nowMs / 1000);
        const iso = new Date(lastS * 1000).toISOString().replace('Z', '+00:00');
        return reply(200, {
          last_process: iso,
          last_process_ts: lastS,
          bot_start: iso,
          bot_start_ts: lastS - 864_000,
          bot_startup: iso,
          bot_startup_ts: lastS - 864_000,
        });
      }
      case '/status':
        return reply(200, []);
      case '/balance':
        return reply(200, balanceOf(bot));
      case '/profit':
        return reply(200, profitOf(bot, nowMs));
      case '/count':
        // rpc.py `_rpc_count` refuses while the trader is stopped.
        if (bot.state === 'stopped') {
          return reply(502, { error: `Error querying ${url.pathname}: trader is not running` });
        }
        return reply(200, { current: 0, max: 3, total_stake: 0 });
      case '/daily':
        return reply(200, {
          data: [
            {
              date: new Date(nowMs).toISOString().slice(0, 10),
              abs_profit: 0,
              rel_profit: 0,
              starting_balance: bot.equity,
              fiat_value: 0,
              trade_count: 0,
            },
          ],
          fiat_display_currency: 'USD',
          stake_currency: USDT,
        });
      default:
        return reply(404, { detail: 'Not Found' });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    bot,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};
