import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrderLog, readOrderLog } from '../../../local/freqtrade-sim/order-log';
import { basicAuth, call, startSim } from './helpers';

describe('Freqtrade simulator: the order log (what the never-two-writers test reads)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sim-order-log-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('records the bot becoming ready, each trade change, each order-capable call (authenticated only) and its exit, in time order', async () => {
    // prepare
    const path = join(dir, 'orders.jsonl');
    const sim = await startSim(
      { initial_state: 'running', sim: { tick_ms: 10, seed: 42, open_trades_at_start: 1 } },
      { autoTick: false, orderLog: new OrderLog(path, 'dry-run-s-run') },
    );

    // act
    sim.tick();
    await call(sim.url, '/api/v1/forceexit', { method: 'POST', body: { tradeid: 'all' } });
    await call(sim.url, '/api/v1/start', { method: 'POST', auth: null });
    await call(sim.url, '/api/v1/start', { method: 'POST', auth: basicAuth() });
    sim.tick();
    await sim.close();

    // assess
    const log = readOrderLog(path);
    const events = log.map((line) => line.event);
    expect(events[0]).toBe('trades_changed');
    expect(events).toContain('process_ready');
    expect(events.filter((event) => event === 'api_forceexit')).toHaveLength(1);
    expect(events.filter((event) => event === 'api_start')).toHaveLength(1);
    expect(events.at(-1)).toBe('process_exiting');
    expect(events.filter((event) => event === 'trades_changed').length).toBeGreaterThan(1);
    expect(log.every((line) => line.run_id === 'dry-run-s-run' && line.pid === process.pid)).toBe(true);
    const times = log.map((line) => line.at_ms);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });
});
