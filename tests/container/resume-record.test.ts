import { describe, expect, it } from 'vitest';
import { useAgentFixture } from './support/fixture';
import { pollUntil } from './support/poll';
import { startAgent } from './support/run';
import { attachTo, startSim } from './support/sim';

describe('Agent: records the operator resume for the platform high-loss floor', () => {
  const { fx, agents, sims } = useAgentFixture();

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
