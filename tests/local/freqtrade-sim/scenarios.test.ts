import { describe, expect, it } from 'vitest';
import { ConfigError, HealthSchema, SimStateSchema } from '../../../local/freqtrade-sim/index';
import { ManualClock } from '../../../shared/domain/clock';
import { call, get, post, startSim, waitFor } from './helpers';

/** Whether a request gets no answer within `ms` (it is aborted by the client). */
const unanswered = async (url: string, path: string, ms = 300): Promise<boolean> => {
  try {
    await call(url, path, { timeoutMs: ms });
    return false;
  } catch (error) {
    return error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
  }
};

describe('FreqtradeSim: failure scenarios', () => {
  it('hangs: accepts connections, never answers, and freezes last_process_ts', async () => {
    // Prepare: a running bot whose loop has run.
    const sim = await startSim({ initial_state: 'running' });
    await waitFor(() => sim.state().process_count > 2, 'the loop to run');

    // Act
    sim.setScenario({ name: 'hang' });
    const frozenAt = sim.state().process_count;
    const ticksAt = sim.state().tick_count;
    await waitFor(() => sim.state().tick_count > ticksAt + 5, 'ticks while hung');

    // Assess
    expect(await unanswered(sim.url, '/api/v1/ping')).toBe(true);
    expect(await unanswered(sim.url, '/api/v1/health')).toBe(true);
    expect(sim.state().process_count).toBe(frozenAt);
    // The simulator's own routes still answer, so a test can steer it back.
    const state = SimStateSchema.parse((await get(sim.url, '/sim/state')).body);
    expect(state.scenario).toEqual({ name: 'hang', at_s: 0 });
    await post(sim.url, '/sim/scenario', { name: 'steady' });
    expect((await get(sim.url, '/api/v1/ping')).status).toBe(200);
  });

  it('starts hanging only once at_s has passed', async () => {
    const clock = new ManualClock();
    const sim = await startSim({ sim: { scenario: { name: 'hang', at_s: 30 } } }, { clock, autoTick: false });

    const before = await get(sim.url, '/api/v1/ping');
    clock.advance(30_000);

    expect(before.status).toBe(200);
    expect(await unanswered(sim.url, '/api/v1/ping')).toBe(true);
  });

  it('answers every API route with the scenario error status', async () => {
    const sim = await startSim({}, { autoTick: false });

    sim.setScenario({ name: 'errors', status: 503 });
    const unavailable = [await get(sim.url, '/api/v1/ping'), await get(sim.url, '/api/v1/status')];
    sim.setScenario({ name: 'errors', status: 500 });
    const failing = await get(sim.url, '/api/v1/health');

    expect(unavailable.map((response) => response.status)).toEqual([503, 503]);
    expect(failing.status).toBe(500);
    expect(failing.body).toBe('Internal Server Error');
  });

  it('delays answers in the slow scenario', async () => {
    const sim = await startSim({ sim: { scenario: { name: 'slow', delay_ms: 1_000 } } }, { autoTick: false });

    const tooImpatient = await unanswered(sim.url, '/api/v1/ping', 100);
    const patient = await call(sim.url, '/api/v1/ping', { timeoutMs: 10_000 });

    expect(tooImpatient).toBe(true);
    expect(patient.status).toBe(200);
  });

  it('keeps answering but freezes last_process_ts in the stuck_loop scenario', async () => {
    const sim = await startSim({ initial_state: 'running' });
    await waitFor(() => sim.state().process_count > 2, 'the loop to run');

    await post(sim.url, '/sim/scenario', { name: 'stuck_loop' });
    const frozen = HealthSchema.parse((await get(sim.url, '/api/v1/health')).body);
    const ticksAt = sim.state().tick_count;
    await waitFor(() => sim.state().tick_count > ticksAt + 5, 'ticks while stuck');
    const later = HealthSchema.parse((await get(sim.url, '/api/v1/health')).body);

    expect(later.last_process).toBe(frozen.last_process);
    expect(sim.state().scenario_triggered).toBe(true);
  });

  it('crashes in-process by closing and resolving exited with the exit code', async () => {
    const sim = await startSim({ sim: { scenario: { name: 'crash', exit_code: 9 } } });

    const code = await sim.exited;

    expect(code).toBe(9);
    await expect(call(sim.url, '/api/v1/ping', { timeoutMs: 1_000 })).rejects.toThrow();
  });

  it('validates scenarios: 422 on POST /sim/scenario, ConfigError in-process, 401 without credentials', async () => {
    const sim = await startSim({}, { autoTick: false });

    const invalid = await post(sim.url, '/sim/scenario', { name: 'drawdown', depth_pct: 150 });
    const unknown = await post(sim.url, '/sim/scenario', { name: 'meteor' });
    const anonymous = await post(sim.url, '/sim/scenario', { name: 'steady' }, null);

    expect(invalid.status).toBe(422);
    expect(JSON.stringify(invalid.body)).toContain('depth_pct');
    expect(unknown.status).toBe(422);
    expect(anonymous.status).toBe(401);
    expect(() => sim.setScenario({ name: 'errors', status: 404 } as never)).toThrow(ConfigError);
  });
});
