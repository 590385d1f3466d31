import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../container/agent/constants';
import type { SessionStore } from '../../shared/domain/session-store';
import { type Fixture, useAgentFixture } from './support/fixture';
import { pollUntil } from './support/poll';
import { startAgent } from './support/run';
import { attachTo, type RecordedRequest, recordingFetch, startSim } from './support/sim';

/** A store whose DynamoDB can be made unreachable, as in a network partition. */
const partitionable = (store: SessionStore) => {
  const state = { down: false };
  const proxy = new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (state.down) return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:1 (partition)'));
        return value.apply(target, args);
      };
    },
  });
  return { store: proxy, state };
};

describe('Agent: supervising an attached Freqtrade (simulator in-process)', () => {
  const { fx, agents, sims } = useAgentFixture();

  const attached = async (
    session: Parameters<Fixture['session']>[0] = {},
    simKnobs: Record<string, unknown> = {},
    deps: Parameters<typeof startAgent>[1] = {},
  ) => {
    const sim = await startSim(simKnobs);
    sims.push(sim);
    const { runId, options } = await fx.session(session);
    const agent = await startAgent({ ...options, attach: attachTo(sim) }, { store: fx.store, ...deps });
    agents.push(agent);
    return { sim, runId, options, agent };
  };

  it('reports heartbeats with the figures Freqtrade shows, and history to the metrics table', async () => {
    // prepare
    const { sim, runId } = await attached();
    // act
    const session = await pollUntil('a heartbeat with equity', async () => {
      const s = await fx.store.get(runId);
      return s?.metrics?.equity !== undefined && s.heartbeat_seq >= 2 ? s : undefined;
    });
    // assess
    const truth = sim.state();
    expect(session.health).toMatchObject({
      freqtrade_state: 'running',
      loop_alive: true,
      exchange_connected: true,
    });
    expect(session.open_trades).toHaveLength(truth.open_trades);
    expect(session.metrics?.open_trade_count).toBe(truth.open_trades);
    expect(session.metrics?.stake_currency).toBe('USDT');
    expect(Math.abs((session.metrics?.equity ?? 0) - truth.equity) / truth.equity).toBeLessThan(0.02);
    expect(session.risk).toMatchObject({ state: 'ok', response: null });
    expect(session.risk?.snapshot?.exposure).toBeGreaterThan(0);
    const history = await pollUntil('history entries', async () => {
      const page = await fx.store.readHistory(runId);
      return page.items.length > 0 ? page.items : undefined;
    });
    expect(history[0]).toMatchObject({ run_id: runId, strategy_id: session.strategy_id });
  });

  it('pauses Freqtrade within one risk poll of a drawdown breach and records it on the session', async () => {
    // prepare
    const calls: RecordedRequest[] = [];
    const { sim, runId, agent } = await attached(
      { limits: { max_drawdown_pct: 5 } },
      {},
      { freqtradeFetch: recordingFetch(calls) },
    );
    await pollUntil(
      'first heartbeat',
      async () => (await fx.store.get(runId))?.metrics?.equity !== undefined,
    );
    // act
    sim.setScenario({ name: 'drawdown', at_s: 0, depth_pct: 8 });
    const session = await pollUntil('breach on the session', async () => {
      const s = await fx.store.get(runId);
      return s?.risk?.state === 'breached' && s.risk.response !== null ? s : undefined;
    });
    // assess
    expect(sim.state().state).toBe('paused');
    expect(session.risk?.response?.step).toBe('pause');
    expect(session.risk?.breaches.map((b) => b.rule)).toContain('drawdown');
    expect(session.risk?.breached_at).not.toBeNull();
    // The first /balance reply that showed the breach was followed by the POST /pause before any
    // later /balance: the pause went out in the same poll cycle that saw the drawdown.
    const equityOf = (body: string | undefined) => {
      const parsed: unknown = body === undefined ? undefined : JSON.parse(body);
      return typeof parsed === 'object' &&
        parsed !== null &&
        'total_bot' in parsed &&
        typeof parsed.total_bot === 'number'
        ? parsed.total_bot
        : undefined;
    };
    let peak = 0;
    const seenAt = calls.findIndex((call) => {
      if (!call.path.endsWith('/balance')) return false;
      const equity = equityOf(call.body);
      if (equity === undefined) return false;
      peak = Math.max(peak, equity);
      return equity <= peak * 0.95;
    });
    const pauseAt = calls.findIndex(
      (call, index) => index > seenAt && call.method === 'POST' && call.path.endsWith('/pause'),
    );
    expect(seenAt).toBeGreaterThan(0);
    expect(pauseAt).toBeGreaterThan(seenAt);
    expect(calls.slice(seenAt + 1, pauseAt).filter((call) => call.path.endsWith('/balance'))).toEqual([]);
    expect(agent.logs.some((line) => line.includes('risk breach: taking ladder step'))).toBe(true);
  });

  it('escalates the ladder: pause, then flatten when exposure has not fallen', async () => {
    // prepare
    const { sim, runId } = await attached({
      limits: { max_drawdown_pct: 5, breach_ladder: ['pause', 'flatten', 'stop'], escalation_grace_s: 0 },
    });
    await pollUntil(
      'first heartbeat',
      async () => (await fx.store.get(runId))?.metrics?.equity !== undefined,
    );
    // act
    sim.setScenario({ name: 'drawdown', at_s: 0, depth_pct: 8 });
    const session = await pollUntil('flatten recorded', async () => {
      const s = await fx.store.get(runId);
      return s?.risk?.response?.step === 'flatten' ? s : undefined;
    });
    // assess
    await pollUntil('positions closed', () => sim.state().open_trades === 0);
    expect(session.risk?.state).toBe('breached');
    expect(['paused', 'stopped']).toContain(sim.state().state);
  });

  it('stops trading and exits when another agent takes the session over (fencing)', async () => {
    // prepare
    const { sim, runId, agent } = await attached();
    await pollUntil('heartbeats', async () => ((await fx.store.get(runId))?.heartbeat_seq ?? 0) >= 1);
    // act
    await fx.store.claimSession({
      run_id: runId,
      agent_id: 'newer-agent',
      strategy_version: '1.0.0',
      exchange: 'binance',
      pairs: ['BTC/USDT'],
    });
    await pollUntil('agent exit', () => agent.exits.length > 0);
    // assess
    expect(agent.exits).toEqual([EXIT.fenced]);
    expect(sim.state().state).toBe('stopped');
    expect(
      agent.logs.some((line) => line.includes('fenced off by the control plane')),
      agent.logs.join('\n'),
    ).toBe(true);
  });

  it('stops trading and exits 0 when the session is over (failed by the control plane)', async () => {
    const { sim, runId, agent } = await attached();
    await pollUntil('heartbeats', async () => ((await fx.store.get(runId))?.heartbeat_seq ?? 0) >= 1);
    await fx.store.transition(runId, 'failed', { patch: { status_reason: 'test' } });
    await pollUntil('agent exit', () => agent.exits.length > 0);
    expect(agent.exits).toEqual([EXIT.ok]);
    expect(sim.state().state).toBe('stopped');
  });

  it('pauses entries when DynamoDB is unreachable for too long, and resumes once it is back', async () => {
    // prepare
    const partition = partitionable(fx.store);
    const { sim, runId, agent } = await attached({}, {}, { store: partition.store });
    await pollUntil('heartbeats', async () => ((await fx.store.get(runId))?.heartbeat_seq ?? 0) >= 1);
    // act
    partition.state.down = true;
    await pollUntil('fail-closed pause', () => sim.state().state === 'paused');
    const blindStatus = agent.handle.status();
    partition.state.down = false;
    // assess
    expect(blindStatus.failClosed).toBe(true);
    await pollUntil('resumed after recovery', () => sim.state().state === 'running');
    expect(agent.exits).toEqual([]);
  });

  it('drains on SIGTERM: pauses entries, sends a last heartbeat and exits 0 in time', async () => {
    // prepare
    const signals = new EventEmitter();
    const { sim, runId, agent, options } = await attached(
      {},
      {},
      {
        signals: {
          on: (e: string, l: (s: NodeJS.Signals) => void) => signals.on(e, l),
          off: (e: string, l: (s: NodeJS.Signals) => void) => signals.off(e, l),
        } as Pick<NodeJS.Process, 'on' | 'off'>,
      },
    );
    await pollUntil('heartbeats', async () => ((await fx.store.get(runId))?.heartbeat_seq ?? 0) >= 1);
    const before = (await fx.store.get(runId))?.heartbeat_seq ?? 0;
    // act
    signals.emit('SIGTERM', 'SIGTERM');
    const code = await pollUntil('exit', () => agent.exits[0], options.stopTimeoutS * 1000 + 1000);
    // assess
    expect(code).toBe(0);
    expect(sim.state().state).toBe('paused');
    expect((await fx.store.get(runId))?.heartbeat_seq ?? 0).toBeGreaterThan(before);
  });

  it('counts a hung Freqtrade as monitoring failures and breaches fail-closed', async () => {
    // prepare
    const { sim, runId, agent } = await attached({ limits: { max_monitor_failures: 2 } });
    await pollUntil('heartbeats', async () => (await fx.store.get(runId))?.metrics?.equity !== undefined);
    // act
    sim.setScenario({ name: 'hang', at_s: 0 });
    const session = await pollUntil(
      'monitor failure breach',
      async () => {
        const s = await fx.store.get(runId);
        return s?.risk?.breaches.some((b) => b.rule === 'monitor_failures') ? s : undefined;
      },
      20_000,
    );
    // assess
    expect(session.risk?.response?.step).toBe('pause');
    expect(session.health?.monitor_failures ?? 0).toBeGreaterThanOrEqual(2);
    const health = await fetch(agent.handle.healthUrl ?? '');
    expect(health.status).toBe(503);
  });

  it('obeys desired_state: pause, resume and stop with flatten_on_stop', async () => {
    // prepare
    const { sim, runId, agent } = await attached();
    await pollUntil('heartbeats', async () => ((await fx.store.get(runId))?.heartbeat_seq ?? 0) >= 1);
    const healthy = await pollUntil('healthy', async () => {
      const response = await fetch(agent.handle.healthUrl ?? '');
      return response.status === 200 ? response : undefined;
    });
    expect(healthy.status).toBe(200);
    // act + assess: pause
    await fx.store.setDesiredState(runId, 'paused');
    await pollUntil('paused', () => sim.state().state === 'paused');
    // resume
    await fx.store.setDesiredState(runId, 'running');
    await pollUntil('running', () => sim.state().state === 'running');
    // stop, flattening first
    await fx.store.update(runId, { flatten_on_stop: true }, ['running', 'paused']);
    await fx.store.setDesiredState(runId, 'stopped', 'operator stop');
    const code = await pollUntil('exit', () => agent.exits[0]);
    expect(code).toBe(0);
    expect(sim.state()).toMatchObject({ state: 'stopped', open_trades: 0 });
    expect((await fx.store.get(runId))?.status).toBe('stopped');
  });

  it('keeps a risk pause latched against desired_state running until the operator resumes after the breach', async () => {
    // prepare
    const { sim, runId, agent } = await attached({ limits: { max_drawdown_pct: 5 } });
    await pollUntil(
      'first heartbeat',
      async () => (await fx.store.get(runId))?.metrics?.equity !== undefined,
    );
    sim.setScenario({ name: 'drawdown', at_s: 0, depth_pct: 8 });
    await pollUntil('risk pause', async () => (await fx.store.get(runId))?.risk?.response?.step === 'pause');
    // act: desired_state is still the pre-breach "running"; a heartbeat round trip must not resume
    await fx.store.setDesiredState(runId, 'running');
    await new Promise((resolve) => setTimeout(resolve, 800));
    const stillPaused = sim.state().state;
    // the operator's deliberate resume after the breach: pause (as the stream handler does), then resume
    await fx.store.setDesiredState(runId, 'paused');
    await pollUntil('agent saw paused', () => agent.handle.status().desiredState === 'paused');
    await fx.store.setDesiredState(runId, 'running');
    // assess
    expect(stillPaused).toBe('paused');
    await pollUntil('resumed', () => sim.state().state === 'running');
    const session = await pollUntil('latch cleared', async () => {
      const s = await fx.store.get(runId);
      return s?.risk?.response === null ? s : undefined;
    });
    expect(session.risk?.state, JSON.stringify(session.risk)).toBe('ok');
  });
});
