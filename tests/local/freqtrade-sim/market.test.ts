import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  BalancesSchema,
  createRng,
  PaperMarket,
  ProfitSchema,
  TradeResponseSchema,
} from '../../../local/freqtrade-sim/index';
import { ManualClock } from '../../../shared/domain/clock';
import { get, startSim, tickUntil } from './helpers';

/** The trades a seeded simulator makes in `ticks` loop iterations, minus wall-clock fields. */
const tradesAfter = async (seed: number, ticks: number) => {
  const sim = await startSim(
    { initial_state: 'running', sim: { seed, volatility: 0.02, entry_probability: 0.3 } },
    { autoTick: false },
  );
  for (let i = 0; i < ticks; i++) sim.tick();
  const body = TradeResponseSchema.parse((await get(sim.url, '/api/v1/trades')).body);
  return body.trades.map((trade) => ({
    id: trade.trade_id,
    pair: trade.pair,
    amount: trade.amount,
    open_rate: trade.open_rate,
    close_rate: trade.close_rate,
    profit_abs: trade.profit_abs,
    exit_reason: trade.exit_reason,
  }));
};

describe('FreqtradeSim: paper market', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('makes the same trades from the same seed, and different ones from another seed', async () => {
    const first = await tradesAfter(7, 400);
    const again = await tradesAfter(7, 400);
    const other = await tradesAfter(8, 400);

    expect(first.length).toBeGreaterThan(5);
    expect(again).toEqual(first);
    expect(other).not.toEqual(first);
  });

  it('never uses Math.random', async () => {
    const random = vi.spyOn(Math, 'random');

    await tradesAfter(3, 100);

    expect(random).not.toHaveBeenCalled();
  });

  it('moves prices by a seeded random walk', () => {
    const options = { pairs: ['BTC/USDT', 'ETH/USDT'], seed: 11, volatility: 0.01, drift: 0 };
    const a = new PaperMarket(options);
    const b = new PaperMarket(options);
    const start = a.snapshot();

    for (let i = 0; i < 50; i++) {
      a.step();
      b.step();
    }

    expect(a.snapshot()).toEqual(b.snapshot());
    expect(a.snapshot()).not.toEqual(start);
    const rng = createRng(5);
    const draws = Array.from({ length: 1000 }, () => rng.next());
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(1);
  });

  it('books realised and unrealised profit into /profit and the wallet into /balance', async () => {
    const sim = await startSim(
      {
        initial_state: 'running',
        sim: { open_trades_at_start: 1, volatility: 0.02, entry_probability: 0.3 },
      },
      { autoTick: false },
    );
    tickUntil(
      sim,
      () => sim.state().closed_trades >= 4 && sim.state().open_trades >= 1,
      'closed and open trades',
    );

    const profit = ProfitSchema.parse((await get(sim.url, '/api/v1/profit')).body);
    const balance = BalancesSchema.parse((await get(sim.url, '/api/v1/balance')).body);
    const history = TradeResponseSchema.parse((await get(sim.url, '/api/v1/trades')).body);

    const realised = history.trades.reduce((sum, trade) => sum + (trade.profit_abs ?? 0), 0);
    expect(profit.profit_closed_coin).toBeCloseTo(realised, 6);
    expect(profit.profit_all_coin).toBeCloseTo(sim.state().equity - 1000, 6);
    const stake = balance.currencies.find((row) => row.currency === 'USDT');
    expect(stake?.free).toBeCloseTo(1000 + realised - 100 * sim.state().open_trades, 6);
  });

  it('produces the configured equity drawdown on held positions', async () => {
    // Prepare: three positions, a stoploss far away so they stay open, nothing new entered.
    const sim = await startSim(
      {
        initial_state: 'running',
        stoploss: -0.99,
        sim: { open_trades_at_start: 3, entry_probability: 0, scenario: { name: 'drawdown', depth_pct: 15 } },
      },
      { autoTick: false },
    );

    // Act
    sim.tick();
    const balance = BalancesSchema.parse((await get(sim.url, '/api/v1/balance')).body);
    const profit = ProfitSchema.parse((await get(sim.url, '/api/v1/profit')).body);

    // Assess
    const state = sim.state();
    expect(state.equity_drawdown_pct).toBeGreaterThanOrEqual(15);
    expect(state.equity_drawdown_pct).toBeLessThan(16);
    expect(state.open_trades).toBe(3);
    // /balance marks the positions to market; /profit's max_drawdown only counts closed trades.
    expect(balance.total).toBeLessThan(1000 * 0.86);
    expect(profit.profit_all_coin).toBeLessThan(-140);
    expect(profit.max_drawdown).toBe(0);
  });

  it('waits for at_s before producing the drawdown', async () => {
    const clock = new ManualClock();
    const sim = await startSim(
      {
        initial_state: 'running',
        stoploss: -0.99,
        sim: {
          open_trades_at_start: 2,
          entry_probability: 0,
          volatility: 0,
          scenario: { name: 'drawdown', at_s: 60, depth_pct: 12 },
        },
      },
      { autoTick: false, clock },
    );

    sim.tick();
    const before = sim.state().equity_drawdown_pct;
    clock.advance(60_000);
    sim.tick();

    expect(before).toBeLessThan(1);
    expect(sim.state().equity_drawdown_pct).toBeGreaterThanOrEqual(12);
  });

  it('realises the drawdown through the stoploss when the bot runs', async () => {
    const sim = await startSim(
      {
        initial_state: 'running',
        stoploss: -0.05,
        sim: { open_trades_at_start: 3, entry_probability: 0, scenario: { name: 'drawdown', depth_pct: 20 } },
      },
      { autoTick: false },
    );

    sim.tick();

    const history = TradeResponseSchema.parse((await get(sim.url, '/api/v1/trades')).body);
    expect(history.trades.map((trade) => trade.exit_reason)).toEqual(['stop_loss', 'stop_loss', 'stop_loss']);
    expect(sim.state().max_equity_drawdown_pct).toBeGreaterThanOrEqual(20);
  });
});
