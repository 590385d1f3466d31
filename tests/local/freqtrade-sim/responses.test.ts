import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  BalancesSchema,
  CountSchema,
  DailyWeeklyMonthlySchema,
  HealthSchema,
  HttpErrorSchema,
  LocksSchema,
  OpenTradeSchema,
  ProfitSchema,
  ShowConfigSchema,
  SimStateSchema,
  TradeResponseSchema,
  VersionSchema,
  WhitelistResponseSchema,
} from '../../../local/freqtrade-sim/index';
import { get, post, startSim, tickUntil } from './helpers';

/** Parses like the agent will, and also refuses keys the schema does not know (FastAPI's response_model). */
const parseExactly = <T extends z.ZodObject>(schema: T, body: unknown): z.output<T> => {
  const strict = schema.strict().safeParse(body);
  if (!strict.success) throw new Error(`response does not match its schema: ${strict.error.message}`);
  return schema.parse(body);
};

/** A running bot with open positions and some closed trades. */
const busySim = async () => {
  const sim = await startSim(
    {
      initial_state: 'running',
      sim: { open_trades_at_start: 2, volatility: 0.02, entry_probability: 0.5 },
    },
    { autoTick: false },
  );
  const state = () => sim.state();
  tickUntil(sim, () => state().closed_trades >= 3 && state().open_trades >= 1, 'closed and open trades');
  return sim;
};

describe('FreqtradeSim: response shapes', () => {
  it('answers every info route with Freqtrade schema, and nothing more', async () => {
    // Prepare
    const sim = await busySim();

    // Act
    const routes = [
      'show_config',
      'health',
      'profit',
      'status',
      'balance',
      'count',
      'daily',
      'version',
      'whitelist',
      'locks',
    ];
    const responses = await Promise.all(routes.map((route) => get(sim.url, `/api/v1/${route}`)));
    const body = Object.fromEntries(routes.map((route, index) => [route, responses[index]?.body]));

    // Assess
    expect(parseExactly(ShowConfigSchema, body.show_config)).toMatchObject({
      state: 'running',
      runmode: 'dry_run',
      dry_run: true,
      stake_currency: 'USDT',
      stake_amount: '100',
      max_open_trades: 3,
      strategy: 'SampleStrategy',
      exchange: 'binance',
      trading_mode: 'spot',
      timeframe: '5m',
      timeframe_ms: 300_000,
      bot_name: 'freqtrade',
    });
    const healthBody = parseExactly(HealthSchema, body.health);
    expect(healthBody.last_process_ts).toBeTypeOf('number');
    expect(healthBody.last_process).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$/);
    const profitBody = parseExactly(ProfitSchema, body.profit);
    expect(profitBody.closed_trade_count).toBeGreaterThanOrEqual(3);
    expect(profitBody.trade_count).toBe(profitBody.closed_trade_count + sim.state().open_trades);
    expect(profitBody.winning_trades + profitBody.losing_trades).toBe(profitBody.closed_trade_count);
    const statusBody = (body.status as unknown[]).map((trade) => parseExactly(OpenTradeSchema, trade));
    expect(statusBody.length).toBe(sim.state().open_trades);
    for (const trade of statusBody) {
      expect(trade).toMatchObject({ is_open: true, leverage: 1, is_short: false, has_open_orders: false });
      expect(trade.profit_pct).toBeCloseTo((trade.profit_ratio ?? 0) * 100, 1);
      expect(trade.open_timestamp).toBeGreaterThan(1_000_000_000_000);
    }
    const balanceBody = parseExactly(BalancesSchema, body.balance);
    expect(balanceBody.starting_capital).toBe(1000);
    expect(balanceBody.note).toBe('Simulated balances');
    expect(balanceBody.total).toBeCloseTo(sim.state().equity, 0);
    expect(parseExactly(CountSchema, body.count)).toMatchObject({
      current: sim.state().open_trades,
      max: 3,
    });
    const dailyBody = parseExactly(DailyWeeklyMonthlySchema, body.daily);
    expect(dailyBody.data).toHaveLength(7);
    expect(dailyBody.data[0]?.trade_count).toBe(profitBody.closed_trade_count);
    expect(parseExactly(VersionSchema, body.version).version).toBe(sim.config.sim.version);
    expect(parseExactly(WhitelistResponseSchema, body.whitelist).length).toBe(4);
    expect(parseExactly(LocksSchema, body.locks)).toEqual({ lock_count: 0, locks: [] });
  });

  it('lists closed trades on /trades with every Trade.to_json key', async () => {
    const sim = await busySim();

    const response = await get(sim.url, '/api/v1/trades?limit=2&offset=1');

    const body = TradeResponseSchema.parse(response.body);
    expect(body.trades_count).toBe(2);
    expect(body.offset).toBe(1);
    expect(body.total_trades).toBe(sim.state().closed_trades);
    expect(body.trades.every((trade) => !trade.is_open && trade.exit_reason !== null)).toBe(true);
    // /trades has no response model in Freqtrade, so keys outside TradeSchema go out too.
    expect((response.body as { trades: Record<string, unknown>[] }).trades[0]).toHaveProperty(
      'trade_duration',
    );
  });

  it('answers /daily with the requested number of days and refuses a bad timescale with 422', async () => {
    const sim = await startSim();

    const three = await get(sim.url, '/api/v1/daily?timescale=3');
    const zero = await get(sim.url, '/api/v1/daily?timescale=0');
    const text = await get(sim.url, '/api/v1/daily?timescale=abc');

    expect(DailyWeeklyMonthlySchema.parse(three.body).data.map((day) => day.date)).toHaveLength(3);
    expect(zero.status).toBe(422);
    expect(text.status).toBe(422);
    expect(HttpErrorSchema.parse(zero.body).detail).toHaveLength(1);
  });

  it('sends null for an infinite profit factor, as Freqtrade does', async () => {
    const sim = await startSim();

    const body = ProfitSchema.parse((await get(sim.url, '/api/v1/profit')).body);

    expect(body.profit_factor).toBeNull();
    expect(body.trade_count).toBe(0);
    expect(body.first_trade_date).toBe('');
  });

  it('answers 404 for unknown routes and 405 for a known route with the wrong method', async () => {
    const sim = await startSim();

    const unknown = await get(sim.url, '/api/v1/nope');
    const wrongMethod = await get(sim.url, '/api/v1/start');
    const missingTrade = await get(sim.url, '/api/v1/trade/999');

    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ detail: 'Not Found' });
    expect(wrongMethod.status).toBe(405);
    expect(missingTrade.status).toBe(404);
    expect(missingTrade.body).toEqual({ detail: 'Trade not found.' });
  });

  it('reports its own state on /sim/state', async () => {
    const sim = await startSim({ sim: { open_trades_at_start: 1 } });

    const body = SimStateSchema.parse((await get(sim.url, '/sim/state')).body);

    expect(body).toMatchObject({ state: 'stopped', open_trades: 1, starting_capital: 1000 });
    expect(Object.keys(body.prices)).toEqual(['BTC/USDT', 'ETH/USDT', 'SOL/USDT', 'XRP/USDT']);
  });

  it('shows leverage, shorts and positions in futures mode', async () => {
    // Prepare: every entry a 3x short.
    const sim = await startSim(
      {
        trading_mode: 'futures',
        margin_mode: 'isolated',
        stake_currency: 'USDT',
        exchange: { pair_whitelist: ['BTC/USDT:USDT', 'ETH/USDT:USDT'] },
        initial_state: 'running',
        force_entry_enable: true,
        sim: { leverage: 3, short_share: 1, entry_probability: 0 },
      },
      { autoTick: false },
    );

    // Act
    const entered = await post(sim.url, '/api/v1/forceenter', { pair: 'ETH/USDT:USDT', side: 'short' });
    sim.tick();
    const status = (await get(sim.url, '/api/v1/status')).body as unknown[];
    const balance = BalancesSchema.parse((await get(sim.url, '/api/v1/balance')).body);
    const config = ShowConfigSchema.parse((await get(sim.url, '/api/v1/show_config')).body);

    // Assess
    expect(entered.status).toBe(200);
    const trade = OpenTradeSchema.parse(status[0]);
    expect(trade).toMatchObject({
      pair: 'ETH/USDT:USDT',
      is_short: true,
      leverage: 3,
      trading_mode: 'futures',
    });
    expect(trade.liquidation_price).toBeGreaterThan(trade.open_rate);
    // A short at 3x: three times Freqtrade's short ratio, 1 - close value / open value (0.1 % fee per leg).
    const closeValue = (trade.current_rate ?? 0) * 1.001;
    const openValue = trade.open_rate * 0.999;
    expect(trade.profit_ratio).toBeCloseTo(3 * (1 - closeValue / openValue), 6);
    expect(balance.currencies.find((row) => row.is_position)).toMatchObject({
      side: 'short',
      currency: 'ETH/USDT:USDT',
    });
    expect(config).toMatchObject({ trading_mode: 'futures', margin_mode: 'isolated', short_allowed: true });
  });
});
