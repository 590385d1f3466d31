import { describe, expect, it } from 'vitest';
import { useAgentFixture } from './support/fixture';
import { pollUntil } from './support/poll';
import { startAgent } from './support/run';
import { attachTo, startSim } from './support/sim';

describe('Agent: a pause or resume it applied is confirmed by a heartbeat at once', () => {
  const { fx, agents, sims } = useAgentFixture();

  it('reports paused and then running right after reconciling (not only at the next heartbeat interval)', async () => {
    // prepare: an interval so long that no interval heartbeat can fall inside the test; only events send one
    const sim = await startSim();
    sims.push(sim);
    const { runId, options } = await fx.session();
    const agent = await startAgent(
      { ...options, heartbeatIntervalS: 3600, attach: attachTo(sim) },
      { store: fx.store },
    );
    agents.push(agent);
    const started = await pollUntil('first heartbeat', async () => {
      const session = await fx.store.get(runId);
      return session?.health?.freqtrade_state === 'running' ? session : undefined;
    });
    const seqBeforePause = started.heartbeat_seq ?? 0;

    // act: pause
    await fx.store.setDesiredState(runId, 'paused');
    await pollUntil('freqtrade paused', () => sim.state().state === 'paused');
    // assess: the confirmation reached the session, in one more heartbeat
    const paused = await pollUntil('paused reported', async () => {
      const session = await fx.store.get(runId);
      return session?.health?.freqtrade_state === 'paused' ? session : undefined;
    });
    expect(paused.heartbeat_seq ?? 0).toBeGreaterThan(seqBeforePause);

    // act: resume
    await fx.store.setDesiredState(runId, 'running');
    await pollUntil('freqtrade running', () => sim.state().state === 'running');
    const resumed = await pollUntil('running reported', async () => {
      const session = await fx.store.get(runId);
      return session?.health?.freqtrade_state === 'running' ? session : undefined;
    });
    expect(resumed.heartbeat_seq ?? 0).toBeGreaterThan(paused.heartbeat_seq ?? 0);
  });
});
