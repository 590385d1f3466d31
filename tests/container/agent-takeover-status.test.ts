import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Heartbeat } from '../../shared/domain/heartbeat';
import type { SessionStore } from '../../shared/domain/session-store';
import { type Fixture, startFixture } from './support/fixture';
import { pollUntil } from './support/poll';
import { type RunningAgent, startAgent } from './support/run';

/** The store, with every heartbeat the agent sends kept for the test (the session item shows only the last). */
const recording = (store: SessionStore, heartbeats: Heartbeat[]): SessionStore =>
  new Proxy(store, {
    get(target, property) {
      if (property === 'recordHeartbeat') {
        return (heartbeat: Heartbeat) => {
          heartbeats.push(heartbeat);
          return target.recordHeartbeat(heartbeat);
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });

describe('Agent: a takeover that finds its trades on the durable trade store', () => {
  let fx: Fixture;
  let storeDir: string;
  const agents: RunningAgent[] = [];

  beforeAll(async () => {
    fx = await startFixture();
  });
  afterEach(async () => {
    for (const agent of agents.splice(0)) await agent.handle.shutdown('test over');
    if (storeDir) await rm(storeDir, { recursive: true, force: true });
  });
  afterAll(async () => {
    await fx.close();
  });

  it('marks the paused start of its Freqtrade as nobody’s intent until it trades again, so the status does not follow it (a found takeover paged paused, then resumed)', async () => {
    // prepare: a first task's Freqtrade opens two trades in the strategy's trade store, then the task goes
    storeDir = await mkdtemp(join(tmpdir(), 'tradai-takeover-store-'));
    const { runId, options } = await fx.session({
      sim: { open_trades_at_start: 2, entry_probability: 0, volatility: 0, tick_ms: 100 },
    });
    const tradeDbUrl = `sqlite:///${join(storeDir, 'tradesv3.dry-run.sqlite')}`;
    const first = await startAgent({ ...options, tradeDbUrl }, { store: fx.store });
    await pollUntil('the first task reporting two trades', async () =>
      (await fx.store.get(runId))?.open_trades.length === 2 ? true : undefined,
    );
    await first.handle.shutdown('task replaced');
    const heartbeats: Heartbeat[] = [];

    // act: the replacement, on a fresh work folder and the same trade store
    const second = await startAgent(
      { ...options, tradeDbUrl, workDir: join(storeDir, 'second-task') },
      { store: recording(fx.store, heartbeats) },
    );
    agents.push(second);
    await pollUntil(
      'the replacement trading again',
      () => heartbeats.some((heartbeat) => heartbeat.health.freqtrade_state === 'running') || undefined,
      30_000,
    );

    // assess
    const paused = heartbeats.filter((heartbeat) => heartbeat.health.freqtrade_state === 'paused');
    expect(paused.every((heartbeat) => heartbeat.health.entries_held === 'takeover_guard')).toBe(true);
    expect(paused.every((heartbeat) => heartbeat.health.draining === true)).toBe(true);
    expect(heartbeats.some((heartbeat) => heartbeat.health.missing_trades)).toBe(false);
    const running = heartbeats.filter((heartbeat) => heartbeat.health.freqtrade_state === 'running');
    expect(running.every((heartbeat) => heartbeat.health.draining !== true)).toBe(true);
    expect(running.every((heartbeat) => heartbeat.health.entries_held === null)).toBe(true);
  });
});
