import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FreqtradeSimHandle } from '../../local/freqtrade-sim';
import { type Fixture, startFixture } from './support/fixture';
import { pollUntil } from './support/poll';
import { type RunningAgent, startAgent } from './support/run';
import { attachTo, startSim } from './support/sim';

describe('Agent: records the operator resume for the platform high-loss floor', () => {
  let fx: Fixture;
  const sims: FreqtradeSimHandle[] = [];
  const agents: RunningAgent[] = [];
  beforeAll(async () => {
    fx = await startFixture();
  });
  afterEach(async () => {
    for (const agent of agents.splice(0)) await agent.handle.shutdown('test over');
    for (const sim of sims.splice(0)) await sim.close();
  });
  afterAll(async () => {
    await fx.close();
  });

  it('reports risk.resumed stamped with the resume after a pause and resume', async () => {
    // prepare
    const sim = await startSim();
    sims.push(sim);
    const { runId, options } = await fx.session();
    agents.push(await startAgent({ ...options, attach: attachTo(sim) }, { store: fx.store }));
    await pollUntil('a heartbeat', async () => ((await fx.store.get(runId))?.heartbeat_seq ?? 0) >= 1);
    await fx.store.setDesiredState(runId, 'paused');
    await pollUntil('paused', () => sim.state().state === 'paused');
    // act
    await fx.store.setDesiredState(runId, 'running');
    const session = await pollUntil('the resume on the session', async () => {
      const current = await fx.store.get(runId);
      return current?.risk?.resumed ? current : undefined;
    });
    // assess
    expect(session.risk?.resumed?.at).toBe(session.desired_state_changed_at);
    expect(session.risk?.resumed?.daily_pnl).toBeTypeOf('number');
  });
});
