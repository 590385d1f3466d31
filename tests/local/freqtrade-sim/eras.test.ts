import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CountSchema,
  ShowConfigSchema,
  StatusMsgSchema,
  startFreqtradeSim,
} from '../../../local/freqtrade-sim/index';
import { get, post, simConfig, startSim, waitFor } from './helpers';

const BIN = resolve(import.meta.dirname, '../../../local/freqtrade-sim/bin/freqtrade');

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

  it('takes the era from FREQTRADE__SIM__ERA (a number once parsed)', async () => {
    // Act
    const sim = await startFreqtradeSim(simConfig({ initial_state: 'running' }), {
      env: { FREQTRADE__SIM__ERA: '2024' },
    });
    const version = (await showConfig(sim.url ?? '')).version;
    await sim.close();

    // Assess
    expect(version).toMatch(/^2024\./);
  });

  it('takes the era from `freqtrade trade --era 2024`', async () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'ftsim-era-'));
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify(simConfig({ initial_state: 'running' })));
    const child = spawn(BIN, ['trade', '--config', config, '--era', '2024'], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    try {
      // Act
      const port = await waitFor(
        () => /Listening on 127\.0\.0\.1:(\d+)/.exec(stderr)?.[1],
        'the simulator to listen',
        20_000,
      );
      const pause = await post(`http://127.0.0.1:${port}`, '/api/v1/pause');

      // Assess
      expect((await showConfig(`http://127.0.0.1:${port}`)).version).toMatch(/^2024\./);
      expect(pause.status).toBe(404);
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
