import { describe, expect, it } from 'vitest';
import {
  CountSchema,
  HealthSchema,
  OpenTradeSchema,
  ProfitSchema,
  ResultMsgSchema,
  RpcErrorSchema,
  ShowConfigSchema,
  StatusMsgSchema,
  TradeResponseSchema,
} from '../../../local/freqtrade-sim/index';
import { get, post, simConfig, startSim, tickUntil } from './helpers';

const stateOf = async (url: string): Promise<string> =>
  ShowConfigSchema.parse((await get(url, '/api/v1/show_config')).body).state;

const openTrades = async (url: string) =>
  ((await get(url, '/api/v1/status')).body as unknown[]).map((trade) => OpenTradeSchema.parse(trade));

describe('FreqtradeSim: bot states', () => {
  it('starts STOPPED by default, refuses /count with 502 and runs no loop', async () => {
    // Prepare
    const sim = await startSim({}, { autoTick: false });

    // Act
    for (let i = 0; i < 20; i++) sim.tick();
    const count = await get(sim.url, '/api/v1/count');
    const health = HealthSchema.parse((await get(sim.url, '/api/v1/health')).body);

    // Assess
    expect(await stateOf(sim.url)).toBe('stopped');
    expect(count.status).toBe(502);
    expect(RpcErrorSchema.parse(count.body)).toEqual({
      error: 'Error querying /api/v1/count: trader is not running',
    });
    expect(health.last_process).toBeNull();
    expect(health.bot_start_ts).toBeTypeOf('number');
    expect(sim.state().process_count).toBe(0);
  });

  it('starts, answers "already running" the second time, and advances last_process', async () => {
    const sim = await startSim({}, { autoTick: false });

    const first = StatusMsgSchema.parse((await post(sim.url, '/api/v1/start')).body);
    const second = StatusMsgSchema.parse((await post(sim.url, '/api/v1/start')).body);
    sim.tick();

    expect(first.status).toBe('starting trader ...');
    expect(second.status).toBe('already running');
    expect(await stateOf(sim.url)).toBe('running');
    expect(HealthSchema.parse((await get(sim.url, '/api/v1/health')).body).last_process_ts).toBeTypeOf(
      'number',
    );
    expect(CountSchema.parse((await get(sim.url, '/api/v1/count')).body).max).toBe(3);
  });

  it('pauses: no new entries, but open trades are still managed and closed', async () => {
    // Prepare: two positions, a strategy that would enter on every tick, a volatile market.
    const sim = await startSim(
      { initial_state: 'running', sim: { open_trades_at_start: 2, entry_probability: 1, volatility: 0.03 } },
      { autoTick: false },
    );

    // Act
    const paused = StatusMsgSchema.parse((await post(sim.url, '/api/v1/pause')).body);
    tickUntil(sim, () => sim.state().open_trades === 0, 'both positions closing while paused');

    // Assess
    expect(paused.status).toBe('paused, no more entries will occur from now. Run /start to enable entries.');
    expect(await stateOf(sim.url)).toBe('paused');
    const profit = ProfitSchema.parse((await get(sim.url, '/api/v1/profit')).body);
    expect(profit.trade_count).toBe(2);
    expect(profit.closed_trade_count).toBe(2);
    expect(HealthSchema.parse((await get(sim.url, '/api/v1/health')).body).last_process_ts).toBeTypeOf(
      'number',
    );
    // /count and /forceexit keep working while paused (only STOPPED refuses them).
    expect((await get(sim.url, '/api/v1/count')).status).toBe(200);
  });

  it('resumes entries with /start after a pause', async () => {
    const sim = await startSim(
      { initial_state: 'paused', sim: { entry_probability: 1 } },
      { autoTick: false },
    );
    sim.tick();
    expect(sim.state().open_trades).toBe(0);

    const resumed = StatusMsgSchema.parse((await post(sim.url, '/api/v1/start')).body);
    sim.tick();

    expect(resumed.status).toBe('starting trader ...');
    expect(sim.state().open_trades).toBe(3);
  });

  it('treats /stopentry and /stopbuy as /pause, and pauses a stopped bot with its own message', async () => {
    const sim = await startSim({}, { autoTick: false });

    const fromStopped = StatusMsgSchema.parse((await post(sim.url, '/api/v1/stopentry')).body);
    await post(sim.url, '/api/v1/start');
    const stopbuy = StatusMsgSchema.parse((await post(sim.url, '/api/v1/stopbuy')).body);

    expect(fromStopped.status).toBe(
      'starting bot with trader in paused state, no entries will occur. Run /start to enable entries.',
    );
    expect(stopbuy.status).toContain('paused, no more entries');
    expect(await stateOf(sim.url)).toBe('paused');
  });

  it('stops: open trades stay open and unmanaged, /forceexit is refused with 502', async () => {
    // Prepare
    const sim = await startSim(
      { initial_state: 'running', sim: { open_trades_at_start: 2, entry_probability: 0, volatility: 0.05 } },
      { autoTick: false },
    );

    // Act
    const stopped = StatusMsgSchema.parse((await post(sim.url, '/api/v1/stop')).body);
    const processedBefore = sim.state().process_count;
    for (let i = 0; i < 500; i++) sim.tick();
    const forceExit = await post(sim.url, '/api/v1/forceexit', { tradeid: 'all' });
    const again = StatusMsgSchema.parse((await post(sim.url, '/api/v1/stop')).body);

    // Assess
    expect(stopped.status).toBe('stopping trader ...');
    expect(again.status).toBe('already stopped');
    expect(await openTrades(sim.url)).toHaveLength(2);
    expect(sim.state().process_count).toBe(processedBefore);
    expect(forceExit.status).toBe(502);
    expect(forceExit.body).toEqual({ error: 'Error querying /api/v1/forceexit: trader is not running' });
  });

  it('closes every open trade on /forceexit all, at the next loop iteration', async () => {
    // Prepare
    const sim = await startSim(
      { initial_state: 'running', sim: { open_trades_at_start: 3, entry_probability: 0 } },
      { autoTick: false },
    );

    // Act
    const response = await post(sim.url, '/api/v1/forceexit', { tradeid: 'all', ordertype: 'market' });
    const pending = await openTrades(sim.url);
    sim.tick();

    // Assess
    expect(ResultMsgSchema.parse(response.body)).toEqual({
      result: 'Created exit orders for all open trades.',
    });
    expect(pending.every((trade) => trade.has_open_orders)).toBe(true);
    expect(await openTrades(sim.url)).toEqual([]);
    const history = TradeResponseSchema.parse((await get(sim.url, '/api/v1/trades')).body);
    expect(history.trades.map((trade) => trade.exit_reason)).toEqual([
      'force_exit',
      'force_exit',
      'force_exit',
    ]);
  });

  it('exits one trade by id and refuses an unknown id with 502 and a missing body with 422', async () => {
    const sim = await startSim(
      { initial_state: 'running', sim: { open_trades_at_start: 2, entry_probability: 0 } },
      { autoTick: false },
    );

    const one = await post(sim.url, '/api/v1/forceexit', { tradeid: 1 });
    const unknown = await post(sim.url, '/api/v1/forceexit', { tradeid: '99' });
    const missing = await post(sim.url, '/api/v1/forceexit');
    sim.tick();

    expect(ResultMsgSchema.parse(one.body)).toEqual({ result: 'Created exit order for trade 1.' });
    expect(unknown.status).toBe(502);
    expect(unknown.body).toEqual({ error: 'Error querying /api/v1/forceexit: invalid argument' });
    expect(missing.status).toBe(422);
    expect((await openTrades(sim.url)).map((trade) => trade.trade_id)).toEqual([2]);
  });

  it('refuses /forceenter with 502 unless force_entry_enable is set and the bot runs', async () => {
    const disabled = await startSim({ initial_state: 'running' }, { autoTick: false });
    const paused = await startSim({ initial_state: 'paused', force_entry_enable: true }, { autoTick: false });

    const whenDisabled = await post(disabled.url, '/api/v1/forceenter', { pair: 'BTC/USDT' });
    const whenPaused = await post(paused.url, '/api/v1/forceenter', { pair: 'BTC/USDT' });

    expect(whenDisabled.body).toEqual({
      error: 'Error querying /api/v1/forceenter: Force_entry not enabled.',
    });
    expect(whenPaused.status).toBe(502);
    expect(whenPaused.body).toEqual({ error: 'Error querying /api/v1/forceenter: trader is not running' });
  });

  it('goes back to initial_state on /reload_config and takes the new configuration', async () => {
    // Prepare: the "file" on disk now says max_open_trades 1.
    const sim = await startSim(
      { initial_state: 'paused' },
      { autoTick: false, reloadConfig: () => simConfig({ initial_state: 'paused', max_open_trades: 1 }) },
    );
    await post(sim.url, '/api/v1/start');

    // Act
    const reloading = StatusMsgSchema.parse((await post(sim.url, '/api/v1/reload_config')).body);
    const during = await stateOf(sim.url);
    sim.tick();

    // Assess
    expect(reloading.status).toBe('Reloading config ...');
    expect(during).toBe('reload_config');
    expect(await stateOf(sim.url)).toBe('paused');
    expect(CountSchema.parse((await get(sim.url, '/api/v1/count')).body).max).toBe(1);
  });

  it('dies with exit code 1 when /reload_config finds an invalid configuration', async () => {
    const sim = await startSim(
      { initial_state: 'running' },
      { autoTick: false, reloadConfig: () => simConfig({ stake_amount: -5 }) },
    );

    await post(sim.url, '/api/v1/reload_config');
    sim.tick();

    expect(await sim.exited).toBe(1);
  });
});
