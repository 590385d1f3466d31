import { afterEach, describe, expect, it } from 'vitest';
import { eraOfVersion, shutdownCommandFor } from '../../container/agent/control';
import { FreqtradeClient } from '../../container/agent/freqtrade/client';
import { type HttpFetch, nodeHttpFetch } from '../../container/agent/http';
import { MetricsCollector } from '../../container/agent/metrics';
import { type FreqtradeSimHandle, startFreqtradeSim } from '../../local/freqtrade-sim';
import { systemClock } from '../../shared/domain/clock';
import { baseConfig, useAgentFixture } from './support/fixture';
import { pollUntil } from './support/poll';
import { startAgent } from './support/run';
import {
  attachTo,
  type RecordedRequest,
  recordingFetch,
  SIM_PASSWORD,
  SIM_USER,
  startSim,
} from './support/sim';

/** The simulator as a Freqtrade of one era, in-process (attach mode), in the given initial state. */
const simOfEra = (
  era: '2024' | '2025.4',
  initialState: 'running' | 'stopped' = 'running',
  config: Record<string, unknown> = {},
) =>
  startFreqtradeSim({
    ...baseConfig({ era, open_trades_at_start: 1 }),
    ...config,
    strategy: 'SimStrategy',
    timeframe: '5m',
    initial_state: initialState,
    api_server: {
      enabled: true,
      listen_ip_address: '127.0.0.1',
      listen_port: 0,
      username: SIM_USER,
      password: SIM_PASSWORD,
      jwt_secret_key: 'sim-jwt-secret-for-tests',
    },
  });

const clientOf = (sim: FreqtradeSimHandle) => new FreqtradeClient(attachTo(sim));

const showConfigOf = async (client: FreqtradeClient) => {
  const config = await client.showConfig();
  if (!config.ok) throw new Error(config.failure.message);
  return config.value;
};

describe('Control: Freqtrade eras', () => {
  it.each([
    ['2024.12', 'stopentry'],
    ['2025.3', 'stopentry'],
    ['2025.4', 'pause'],
    ['2025.6-sim', 'pause'],
    ['2026.9', 'pause'],
    ['2024.12-sim', 'stopentry'],
    ['develop', 'unknown'],
    [undefined, 'unknown'],
  ] as const)('reads version %s as the %s era', (version, era) => {
    expect(eraOfVersion(version)).toBe(era);
  });

  it.each([
    ['running', 'paused', 'pause'],
    ['unknown', 'paused', 'pause'],
    ['paused', 'paused', null],
    ['stopped', 'paused', null],
    ['stopped', 'stopped', null],
    ['running', 'stopped', 'stop'],
    ['unknown', 'stopped', 'stop'],
    ['paused', 'running', null],
    ['running', 'running', 'pause'],
  ] as const)('on SIGTERM sends for Freqtrade %s (target %s): %s', (observed, target, command) => {
    expect(shutdownCommandFor({ observed, target })).toBe(command);
  });
});

describe('FreqtradeClient and MetricsCollector on a 2024 Freqtrade (/stopentry era)', () => {
  const sims: FreqtradeSimHandle[] = [];
  afterEach(async () => {
    for (const sim of sims.splice(0)) await sim.close();
  });
  const started = async (
    era: '2024' | '2025.4',
    initialState: 'running' | 'stopped' = 'running',
    config: Record<string, unknown> = {},
  ) => {
    const sim = await simOfEra(era, initialState, config);
    sims.push(sim);
    return sim;
  };

  it('recognises a 2024 bot whose entries /stopentry stopped as paused (status never shows paused)', async () => {
    // prepare
    const sim = await started('2024');
    const client = clientOf(sim);
    const collector = new MetricsCollector({ clock: systemClock, loopStaleAfterMs: 60_000 });
    await collector.poll(client, true);
    // act
    const paused = await client.control('pause');
    await collector.poll(client, true);
    // assess
    expect(paused.ok).toBe(true);
    expect((await showConfigOf(client)).max_open_trades).toBe(0);
    expect(collector.freqtradeState).toBe('paused');
  });

  it('turns entries back on at a resume with /reload_config, confirmed by /show_config (a resume never turns entries back on)', async () => {
    // prepare
    const sim = await started('2024');
    const client = clientOf(sim);
    await showConfigOf(client);
    await client.control('pause');
    // act
    const resumed = await client.control('start');
    const config = await showConfigOf(client);
    // assess
    expect(resumed.ok).toBe(true);
    expect(config).toMatchObject({ state: 'running', max_open_trades: 3 });
  });

  it('starts the bot again when /reload_config brings it back in a stopped initial_state', async () => {
    // prepare: an attached bot whose own config file says initial_state stopped.
    const sim = await started('2024', 'stopped');
    const client = clientOf(sim);
    await client.control('start');
    await showConfigOf(client);
    await client.control('pause');
    // act
    const resumed = await client.control('start');
    // assess
    expect(resumed.ok).toBe(true);
    expect(await showConfigOf(client)).toMatchObject({ state: 'running', max_open_trades: 3 });
  });

  it('reports a resume whose /reload_config leaves max_open_trades at 0 as unconfirmed, and does not reload again', async () => {
    // prepare: the bot's own config allows no entries.
    const sim = await started('2024', 'running', { max_open_trades: 0 });
    const calls: RecordedRequest[] = [];
    const client = new FreqtradeClient(attachTo(sim), {
      fetch: recordingFetch(calls),
      reloadConfirm: { attempts: 5, intervalMs: 50 },
    });
    await showConfigOf(client);
    // act
    const first = await client.control('start');
    const second = await client.control('start');
    // assess
    expect(!first.ok && first.failure.kind).toBe('unconfirmed');
    expect(!second.ok && second.failure.kind).toBe('unconfirmed');
    expect(calls.filter((call) => call.path.endsWith('/reload_config'))).toHaveLength(1);
  });

  it('sends no /reload_config while /show_config fails, and reports the failure', async () => {
    // prepare
    const sim = await started('2024');
    const calls: string[] = [];
    let failShowConfig = false;
    const fetch: HttpFetch = async (url, init) => {
      const path = new URL(url).pathname;
      calls.push(`${init.method} ${path}`);
      if (failShowConfig && path.endsWith('/show_config')) {
        return { ok: false, status: 503, text: async () => '{"detail":"Service Unavailable"}' };
      }
      return nodeHttpFetch(url, init);
    };
    const client = new FreqtradeClient(attachTo(sim), { fetch });
    await showConfigOf(client);
    await client.control('pause');
    failShowConfig = true;
    // act
    const resumed = await client.control('start');
    // assess
    expect(!resumed.ok && resumed.failure.status).toBe(503);
    expect(calls.filter((call) => call.endsWith('/reload_config'))).toEqual([]);
  });

  it('pauses and resumes a 2025.4+ bot with /pause and /start', async () => {
    // prepare
    const sim = await started('2025.4');
    const client = clientOf(sim);
    await showConfigOf(client);
    // act
    await client.control('pause');
    const paused = (await showConfigOf(client)).state;
    await client.control('start');
    // assess
    expect(paused).toBe('paused');
    expect(await showConfigOf(client)).toMatchObject({ state: 'running', max_open_trades: 3 });
  });
});

describe('Agent: pause and resume on a 2024 Freqtrade (attach mode)', () => {
  const { fx, agents, sims } = useAgentFixture();

  it('reports paused after /stopentry and running with entries on after a resume (a resume never turns entries back on)', async () => {
    // prepare
    const sim = await simOfEra('2024');
    sims.push(sim);
    const client = clientOf(sim);
    const { runId, options } = await fx.session();
    const agent = await startAgent({ ...options, attach: attachTo(sim) }, { store: fx.store });
    agents.push(agent);
    await pollUntil('a heartbeat', async () => ((await fx.store.get(runId))?.heartbeat_seq ?? 0) >= 1);
    // act: pause
    await fx.store.setDesiredState(runId, 'paused');
    const paused = await pollUntil('paused reported', async () => {
      const session = await fx.store.get(runId);
      return session?.health?.freqtrade_state === 'paused' ? session : undefined;
    });
    const entriesWhilePaused = (await showConfigOf(client)).max_open_trades;
    // act: resume
    await fx.store.setDesiredState(runId, 'running');
    await pollUntil('running reported', async () => {
      const session = await fx.store.get(runId);
      return session?.health?.freqtrade_state === 'running' ? session : undefined;
    });
    // assess
    expect(paused.health?.freqtrade_state).toBe('paused');
    expect(entriesWhilePaused).toBe(0);
    expect(await showConfigOf(client)).toMatchObject({ state: 'running', max_open_trades: 3 });
  });

  it('leaves an attached bot stopped by a latched risk stop stopped on SIGTERM (/pause would start it paused)', async () => {
    // prepare: a 2025.4+ bot whose ladder stops it when a drawdown persists.
    const sim = await startSim({ open_trades_at_start: 2 });
    sims.push(sim);
    const { runId, options } = await fx.session({
      limits: { max_drawdown_pct: 5, breach_ladder: ['pause', 'stop'], escalation_grace_s: 0 },
    });
    const agent = await startAgent({ ...options, attach: attachTo(sim) }, { store: fx.store });
    await pollUntil('a heartbeat', async () => ((await fx.store.get(runId))?.heartbeat_seq ?? 0) >= 1);
    sim.setScenario({ name: 'drawdown', at_s: 0, depth_pct: 8 });
    await pollUntil('the risk stop', async () => {
      const session = await fx.store.get(runId);
      return session?.risk?.response?.step === 'stop' && sim.state().state === 'stopped';
    });
    // act
    const code = await agent.handle.shutdown('SIGTERM received');
    // assess
    expect(code).toBe(0);
    expect(sim.state().state).toBe('stopped');
  });
});
