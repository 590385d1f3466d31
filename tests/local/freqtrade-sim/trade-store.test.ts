import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deepMerge } from '../../../local/freqtrade-sim/config';
import { ConfigError, type FreqtradeSimHandle } from '../../../local/freqtrade-sim/index';
import { ManualClock } from '../../../shared/domain/clock';
import { get, post, startSim, tickUntil } from './helpers';

interface StatusTrade {
  trade_id: number;
  pair: string;
  open_rate: number;
  is_open: boolean;
}
interface Profit {
  closed_trade_count: number;
  trade_count: number;
  profit_closed_coin: number;
}

const statusOf = async (sim: { url: string }) => (await get(sim.url, '/api/v1/status')).body as StatusTrade[];
const tradesOf = async (sim: { url: string }) =>
  ((await get(sim.url, '/api/v1/trades')).body as { trades: (StatusTrade & Record<string, unknown>)[] })
    .trades;
/** /trades lists closed trades only (as Freqtrade's trade history); /status the open ones. */
const tradeIdsOf = async (sim: { url: string }) =>
  [...(await statusOf(sim)), ...(await tradesOf(sim))].map((trade) => trade.trade_id).sort((a, b) => a - b);
const profitOf = async (sim: { url: string }) => (await get(sim.url, '/api/v1/profit')).body as Profit;

/** Busy enough that a few hundred ticks open and close trades. */
const BUSY = {
  initial_state: 'running',
  minimal_roi: { '0': 0.004 },
  stoploss: -0.004,
  sim: { seed: 7, entry_probability: 0.5, volatility: 0.004 },
};

describe('Freqtrade simulator: trade database at db_url', () => {
  let dir: string;
  let dbPath: string;
  let clock: ManualClock;
  const options = () => ({ autoTick: false, clock });
  const withDb = (overrides: Record<string, unknown> = {}) =>
    deepMerge({ ...BUSY, db_url: `sqlite:///${dbPath}` }, overrides);
  /** Ticks with time moving, as the loop would, until `done` holds. */
  const run = (sim: FreqtradeSimHandle, done: () => boolean, what: string) =>
    tickUntil(
      sim,
      () => {
        clock.advance(1_000);
        return done();
      },
      what,
    );

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tradai-sim-db-'));
    dbPath = join(dir, 'tradesv3.live.sqlite');
    clock = new ManualClock(Date.parse('2026-03-01T00:00:00Z'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps open trades (same ids) and closed profit across a restart on the same db_url (trade ids restarted at 1, PnL reset to 0)', async () => {
    const first = await startSim(withDb(), options());
    run(
      first,
      () => first.state().closed_trades >= 2 && first.state().open_trades >= 1,
      'closed and open trades',
    );
    const openBefore = await statusOf(first);
    const profitBefore = await profitOf(first);
    // No close(): a killed process gets no chance to flush, so the store must already be on disk.

    const second = await startSim(withDb(), options());
    const openAfter = await statusOf(second);
    const profitAfter = await profitOf(second);

    expect(openAfter.map((trade) => [trade.trade_id, trade.pair, trade.open_rate])).toEqual(
      openBefore.map((trade) => [trade.trade_id, trade.pair, trade.open_rate]),
    );
    expect(profitAfter.closed_trade_count).toBe(profitBefore.closed_trade_count);
    expect(profitAfter.trade_count).toBe(profitBefore.trade_count);
    expect(profitAfter.profit_closed_coin).toBeCloseTo(profitBefore.profit_closed_coin, 8);
    expect(profitAfter.profit_closed_coin).not.toBe(0);
  });

  it('numbers new trades after the stored ones, as the database would', async () => {
    const first = await startSim(withDb(), options());
    run(first, () => first.state().open_trades + first.state().closed_trades >= 3, 'three trades');
    const known = await tradeIdsOf(first);

    const second = await startSim(withDb(), options());
    run(
      second,
      () => second.state().open_trades + second.state().closed_trades > known.length,
      'a new trade',
    );
    const fresh = (await tradeIdsOf(second)).filter((id) => !known.includes(id));

    expect(fresh.length).toBeGreaterThan(0);
    expect(Math.min(...fresh)).toBe(Math.max(...known) + 1);
  });

  it('keeps an exit order placed by /forceexit across a restart, and fills it', async () => {
    const first = await startSim(withDb({ force_entry_enable: true }), options());
    const entered = await post(first.url, '/api/v1/forceenter', { pair: 'BTC/USDT' });
    expect(entered.status).toBe(200);
    const tradeId = (entered.body as { trade_id: number }).trade_id;
    expect((await post(first.url, '/api/v1/forceexit', { tradeid: String(tradeId) })).status).toBe(200);

    const second = await startSim(withDb(), options());
    const [pending] = await statusOf(second);
    expect(pending?.trade_id).toBe(tradeId);
    clock.advance(1_000);
    second.tick();

    const trades = await tradesOf(second);
    expect(trades.find((trade) => trade.trade_id === tradeId)).toMatchObject({
      is_open: false,
      exit_reason: 'force_exit',
    });
  });

  it('does not open the configured start positions again when the database already has trades', async () => {
    const noEntries = { sim: { open_trades_at_start: 2, entry_probability: 0 } };
    const first = await startSim(withDb(noEntries), options());
    run(first, () => first.state().closed_trades >= 1, 'a start position to close');
    const stillOpen = (await statusOf(first)).map((trade) => trade.trade_id);

    const second = await startSim(withDb(noEntries), options());

    expect(stillOpen.length).toBeLessThan(2);
    expect((await statusOf(second)).map((trade) => trade.trade_id)).toEqual(stillOpen);
  });

  it('keeps managing an open trade whose pair left the whitelist, as Freqtrade does (the restart crashed on its price)', async () => {
    const first = await startSim(
      withDb({ sim: { open_trades_at_start: 1, entry_probability: 0 } }),
      options(),
    );
    const [open] = await statusOf(first);
    expect(open?.pair).toBe('BTC/USDT');

    const second = await startSim(
      withDb({ exchange: { pair_whitelist: ['ETH/USDT'] }, sim: { entry_probability: 0 } }),
      options(),
    );
    clock.advance(1_000);
    second.tick();

    expect((await statusOf(second)).map((trade) => [trade.trade_id, trade.pair])).toEqual([
      [open?.trade_id, 'BTC/USDT'],
    ]);
    expect(second.state().equity).toBeGreaterThan(0);
  });

  it('starts with no trades on a db_url whose file does not exist yet (a lost trade store)', async () => {
    const sim = await startSim(withDb({ sim: { open_trades_at_start: 0 } }), options());

    expect(await statusOf(sim)).toEqual([]);
    expect(existsSync(dbPath)).toBe(false);
  });

  it('writes the store atomically: no temporary file is left beside it', async () => {
    const sim = await startSim(withDb(), options());
    run(sim, () => sim.state().open_trades >= 1, 'an open trade');
    const siblings = readdirSync(dir);

    expect(siblings).toEqual(['tradesv3.live.sqlite']);
    expect(JSON.parse(await readFile(dbPath, 'utf8'))).toMatchObject({ format: 'freqtrade-sim-trades' });
  });

  it('refuses to start on a store it cannot read, naming db_url (as Freqtrade on a corrupt database)', async () => {
    await writeFile(dbPath, 'not a trade store');

    await expect(startSim(withDb(), options())).rejects.toThrow(ConfigError);
    await expect(startSim(withDb(), options())).rejects.toThrow(/db_url/);
  });

  it('refuses a db_url in a folder that does not exist, naming db_url', async () => {
    const missing = `sqlite:///${join(dir, 'gone', 'tradesv3.live.sqlite')}`;

    await expect(startSim(withDb({ db_url: missing }), options())).rejects.toThrow(/db_url/);
  });

  it('keeps trades in memory only for sqlite:// (an in-memory database)', async () => {
    const sim = await startSim(withDb({ db_url: 'sqlite://' }), options());
    run(sim, () => sim.state().open_trades >= 1, 'an open trade');

    const again = await startSim(withDb({ db_url: 'sqlite://' }), options());

    expect(again.state().open_trades).toBe(0);
  });
});
