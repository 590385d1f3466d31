import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../../local/freqtrade-sim/cli';
import {
  CountSchema,
  ShowConfigSchema,
  StatusMsgSchema,
  startFreqtradeSim,
} from '../../../local/freqtrade-sim/index';
import { get, post, simConfig, startSim } from './helpers';

const showConfig = async (url: string) =>
  ShowConfigSchema.parse((await get(url, '/api/v1/show_config')).body);

/**
 * Freqtrade before 2025.4 (rpc.py `_rpc_stopentry`): no PAUSED state and no /pause route; /stopentry
 * (and /stopbuy) set `max_open_trades` to 0 while the state stays RUNNING, until /reload_config.
 */
describe('FreqtradeSim: the 2024 era (/stopentry)', () => {
  it('reports a 2024 version and has no /pause route', async () => {
    // Prepare
    const sim = await startSim({ initial_state: 'running', sim: { era: '2024' } }, { autoTick: false });

    // Act
    const pause = await post(sim.url, '/api/v1/pause');
    const version = (await get(sim.url, '/api/v1/version')).body;

    // Assess
    expect(pause.status).toBe(404);
    expect(pause.body).toEqual({ detail: 'Not Found' });
    expect(version).toEqual({ version: expect.stringMatching(/^2024\./) });
    expect((await showConfig(sim.url)).version).toMatch(/^2024\./);
  });

  it('stops entries with /stopentry: state stays running, max_open_trades reads 0, no new trade opens', async () => {
    // Prepare
    const sim = await startSim(
      { initial_state: 'running', sim: { era: '2024', entry_probability: 1 } },
      { autoTick: false },
    );

    // Act
    const answer = StatusMsgSchema.parse((await post(sim.url, '/api/v1/stopentry')).body);
    sim.tick();
    const config = await showConfig(sim.url);

    // Assess
    expect(answer.status).toBe('No more entries will occur from now. Run /reload_config to reset.');
    expect(config.state).toBe('running');
    expect(config.max_open_trades).toBe(0);
    expect(CountSchema.parse((await get(sim.url, '/api/v1/count')).body).max).toBe(0);
    expect(sim.state().open_trades).toBe(0);
  });

  it('turns entries back on only with /reload_config (/start says already running)', async () => {
    // Prepare
    const sim = await startSim(
      { initial_state: 'running', sim: { era: '2024', entry_probability: 1 } },
      { autoTick: false },
    );
    await post(sim.url, '/api/v1/stopentry');

    // Act
    const start = StatusMsgSchema.parse((await post(sim.url, '/api/v1/start')).body);
    const afterStart = await showConfig(sim.url);
    await post(sim.url, '/api/v1/reload_config');
    sim.tick();
    const afterReload = await showConfig(sim.url);

    // Assess
    expect(start.status).toBe('already running');
    expect(afterStart.max_open_trades).toBe(0);
    expect(afterReload).toMatchObject({ state: 'running', max_open_trades: 3 });
    expect(sim.state().open_trades).toBeGreaterThan(0);
  });

  it('leaves a stopped bot stopped on /stopentry', async () => {
    // Prepare
    const sim = await startSim({ initial_state: 'stopped', sim: { era: '2024' } }, { autoTick: false });

    // Act
    await post(sim.url, '/api/v1/stopentry');

    // Assess
    expect(await showConfig(sim.url)).toMatchObject({ state: 'stopped', max_open_trades: 3 });
  });

  it("refuses initial_state 'paused', which Freqtrade before 2025.4 does not know", async () => {
    await expect(
      startFreqtradeSim(simConfig({ initial_state: 'paused', sim: { era: '2024' } })),
    ).rejects.toThrow(/initial_state/);
  });

  it('takes the era from FREQTRADE__SIM__ERA (a number once parsed) and from --era', async () => {
    // Prepare
    const config = simConfig({ initial_state: 'running' });

    // Act
    const sim = await startFreqtradeSim(config, { env: { FREQTRADE__SIM__ERA: '2024' } });
    const version = (await showConfig(sim.url ?? '')).version;
    await sim.close();
    const parsed = parseArgs(['trade', '--config', 'c.json', '--era', '2024']);

    // Assess
    expect(version).toMatch(/^2024\./);
    expect(parsed).toMatchObject({ kind: 'run', values: { era: '2024' } });
  });
});
