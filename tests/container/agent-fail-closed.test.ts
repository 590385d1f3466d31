import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STARTUP_GRACE_MS } from '../../container/agent/constants';
import { type HttpFetch, nodeHttpFetch } from '../../container/agent/http';
import { ManualClock } from '../../shared/domain/clock';
import { useAgentFixture } from './support/fixture';
import { pollUntil } from './support/poll';
import { startAgent } from './support/run';
import { attachTo, startSim } from './support/sim';

/** Freqtrade's HTTP with one command broken: refused with a 500, or "accepted" without effect. */
const breaking = (route: string, mode: 'fail' | 'ignore'): HttpFetch => {
  return async (url, init) => {
    if (init.method === 'POST' && new URL(url).pathname.endsWith(route)) {
      if (mode === 'fail') return { ok: false, status: 500, text: async () => 'Internal Server Error' };
      return { ok: true, status: 200, text: async () => JSON.stringify({ status: 'paused' }) };
    }
    return nodeHttpFetch(url, init);
  };
};

const reachable = async (url: string | undefined) => {
  if (url === undefined) return false;
  try {
    await nodeHttpFetch(`${url}/api/v1/ping`, {
      method: 'GET',
      headers: {},
      signal: AbortSignal.timeout(500),
    });
    return true;
  } catch {
    return false;
  }
};

describe('Agent: fail-closed means closed (issue 8 finding 3)', () => {
  const { fx, agents, sims } = useAgentFixture();

  const breachWith = async (fetch: HttpFetch) => {
    const { runId, options } = await fx.session({
      limits: { max_drawdown_pct: 5 },
      sim: { scenario: { name: 'drawdown', at_s: 1.5, depth_pct: 8 } },
    });
    const agent = await startAgent(
      { ...options, commandConfirmTimeoutS: 0.5 },
      { store: fx.store, freqtradeFetch: fetch },
    );
    agents.push(agent);
    return { runId, agent };
  };

  it('stops the Freqtrade process when /pause fails at a breach (the latch was set while Freqtrade kept trading)', async () => {
    // prepare
    const { runId, agent } = await breachWith(breaking('/pause', 'fail'));
    const url = await pollUntil('freqtrade up', () => agent.handle.status().freqtradeUrl, 30_000);
    // act
    const session = await pollUntil(
      'fail-closed report on the session',
      async () => {
        const s = await fx.store.get(runId);
        return s?.health?.fail_closed ? s : undefined;
      },
      30_000,
    );
    // assess
    expect(session.health?.fail_closed).toMatchObject({ command: 'pause', action: 'process_stopped' });
    expect(session.health?.fail_closed?.failure).toContain('500');
    expect(session.health?.freqtrade_state).toBe('stopped');
    expect(await reachable(url)).toBe(false);
    await pollUntil('agent held', () => agent.handle.status().phase === 'held');
    // healthy to ECS: a replacement task would start the Freqtrade that did not obey again
    const health = await fetch(agent.handle.healthUrl ?? '');
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', held: true });
    expect(agent.exits).toEqual([]);
  });

  it('stays held when its desired state is set back to running (the API refuses that resume; a scope resume or a race still writes it): no restart, heartbeats say stopped and why', async () => {
    // prepare: held after a failed /pause at a breach
    const { runId, agent } = await breachWith(breaking('/pause', 'fail'));
    const url = await pollUntil('freqtrade up', () => agent.handle.status().freqtradeUrl, 30_000);
    await pollUntil('agent held', () => agent.handle.status().phase === 'held', 30_000);
    // act: running intent again, as the API's resume wrote it before it refused held agents
    await fx.store.setDesiredState(runId, 'running');
    const beatSeq = async () => (await fx.store.beatsOf([runId])).get(runId)?.heartbeat_seq ?? 0;
    const seqAtResume = Math.max((await fx.store.get(runId))?.heartbeat_seq ?? 0, await beatSeq());
    await pollUntil('two heartbeats after the resume', async () => (await beatSeq()) >= seqAtResume + 2);
    const later = await fx.store.get(runId);
    if (later === undefined) throw new Error('session gone');
    // assess
    expect(later.desired_state).toBe('running');
    expect(later.health).toMatchObject({
      freqtrade_state: 'stopped',
      fail_closed: { command: 'pause', action: 'process_stopped' },
    });
    expect(agent.handle.status().phase).toBe('held');
    expect(await reachable(url)).toBe(false);
  });

  it('stops the process when /pause answers 200 but Freqtrade still shows running (not confirmed)', async () => {
    // prepare
    const { runId, agent } = await breachWith(breaking('/pause', 'ignore'));
    const url = await pollUntil('freqtrade up', () => agent.handle.status().freqtradeUrl, 30_000);
    // act
    const session = await pollUntil(
      'fail-closed report on the session',
      async () => {
        const s = await fx.store.get(runId);
        return s?.health?.fail_closed ? s : undefined;
      },
      30_000,
    );
    // assess
    expect(session.health?.fail_closed).toMatchObject({ command: 'pause', action: 'process_stopped' });
    expect(session.health?.fail_closed?.failure).toMatch(/not confirmed/);
    expect(await reachable(url)).toBe(false);
  });

  it('stops a Freqtrade whose API never answers once the start-up grace is over (it could trade blind forever)', async () => {
    // prepare: a "Freqtrade" that runs but never serves its API, under a clock the test moves
    const script = join(fx.dir, 'no-api.sh');
    await writeFile(script, '#!/bin/sh\nwhile true; do sleep 0.05; done\n');
    await chmod(script, 0o700);
    const clock = new ManualClock('2026-06-01T12:00:00.000Z');
    const { runId, options } = await fx.session({ limits: { max_monitor_failures: 2 } });
    const agent = await startAgent(
      { ...options, freqtradeCmd: script, commandConfirmTimeoutS: 0.5 },
      { store: fx.store, clock },
    );
    agents.push(agent);
    await pollUntil('a heartbeat', async () => ((await fx.store.get(runId))?.heartbeat_seq ?? 0) > 0);
    // act: the 90 s start-up grace passes without one answer
    clock.advance(STARTUP_GRACE_MS + 1000);
    const session = await pollUntil('fail-closed report', async () => {
      const s = await fx.store.get(runId);
      return s?.health?.fail_closed ? s : undefined;
    });
    // assess
    expect(session.health?.fail_closed).toMatchObject({ command: 'pause', action: 'process_stopped' });
    await pollUntil('agent held', () => agent.handle.status().phase === 'held');
  });

  it('in attach mode says it has no process to stop (the operator must stop the bot by hand)', async () => {
    // prepare
    const sim = await startSim();
    sims.push(sim);
    const { runId, options } = await fx.session({ limits: { max_drawdown_pct: 5 } });
    const agent = await startAgent(
      { ...options, attach: attachTo(sim), commandConfirmTimeoutS: 0.5 },
      { store: fx.store, freqtradeFetch: breaking('/pause', 'fail') },
    );
    agents.push(agent);
    await pollUntil(
      'first heartbeat',
      async () => (await fx.store.get(runId))?.metrics?.equity !== undefined,
    );
    // act
    sim.setScenario({ name: 'drawdown', at_s: 0, depth_pct: 8 });
    const session = await pollUntil('fail-closed report', async () => {
      const s = await fx.store.get(runId);
      return s?.health?.fail_closed ? s : undefined;
    });
    // assess
    expect(session.health?.fail_closed).toMatchObject({ command: 'pause', action: 'attach_mode_no_process' });
    expect(sim.state().state).toBe('running');
  });
});
