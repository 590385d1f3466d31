import { describe, expect, it } from 'vitest';
import { type HttpFetch, nodeHttpFetch } from '../../container/agent/http';
import { useAgentFixture } from './support/fixture';
import { pollUntil } from './support/poll';
import { startAgent } from './support/run';
import { attachTo, startSim } from './support/sim';

/** Freqtrade's HTTP with forceexit refused (exchange down, say). */
const refusingForceExit: HttpFetch = async (url, init) =>
  init.method === 'POST' && new URL(url).pathname.endsWith('/forceexit')
    ? { ok: false, status: 500, text: async () => 'Internal Server Error' }
    : nodeHttpFetch(url, init);

describe('Agent: a stop tells the truth about open positions (issue 8 finding 7, agent side)', () => {
  const { fx, agents, sims } = useAgentFixture();

  const running = async (fetch?: HttpFetch) => {
    const sim = await startSim();
    sims.push(sim);
    const { runId, options } = await fx.session();
    const agent = await startAgent(
      { ...options, attach: attachTo(sim) },
      { store: fx.store, ...(fetch === undefined ? {} : { freqtradeFetch: fetch }) },
    );
    agents.push(agent);
    const session = await pollUntil('trades reported', async () => {
      const s = await fx.store.get(runId);
      return (s?.open_trades.length ?? 0) > 0 ? s : undefined;
    });
    return { sim, runId, agent, tradeIds: session.open_trades.map((trade) => trade.trade_id) };
  };

  it('records the trades a stop without flatten leaves open (the page said "nothing to do")', async () => {
    // prepare
    const { runId, agent, tradeIds } = await running();
    // act
    await fx.store.setDesiredState(runId, 'stopped', 'operator stop');
    await pollUntil('exit', () => agent.exits[0] !== undefined);
    // assess
    const session = await fx.store.get(runId);
    expect(session?.status).toBe('stopped');
    expect(session?.stop_outcome).toMatchObject({
      plan: 'operator_stop',
      positions: 'left_open',
      open_trade_ids: tradeIds,
    });
    expect(session?.status_reason).toContain(`trades ${tradeIds.join(', ')}`);
  });

  it('records flatten_failed naming the trades when the flatten was refused (it ended stopped with an INFO page)', async () => {
    // prepare
    const { runId, agent, tradeIds } = await running(refusingForceExit);
    // act
    await fx.store.update(runId, { flatten_on_stop: true }, ['running', 'paused']);
    await fx.store.setDesiredState(runId, 'stopped', 'operator stop');
    await pollUntil('exit', () => agent.exits[0] !== undefined);
    // assess
    const session = await fx.store.get(runId);
    expect(session?.stop_outcome).toMatchObject({
      plan: 'operator_stop_flatten',
      positions: 'flatten_failed',
      open_trade_ids: tradeIds,
    });
    expect(session?.stop_outcome?.detail).toContain('flatten left');
  });

  it('ends a one-shot stopped by the operator: its command is ended, the session stopped, no positions', async () => {
    // prepare: a backtest that would run for a minute
    const { runId, options } = await fx.session({ mode: 'backtest', sim: { oneshot_ms: 60_000 } });
    const starting = startAgent(options, { store: fx.store });
    await pollUntil(
      'the backtest heartbeats',
      async () => ((await fx.store.get(runId))?.heartbeat_seq ?? 0) > 0,
    );
    // act
    await fx.store.transition(runId, 'stopping', { patch: { desired_state: 'stopped' } });
    const agent = await starting;
    const code = await agent.handle.done;
    // assess
    const session = await fx.store.get(runId);
    expect(code).toBe(0);
    expect(session?.status).toBe('stopped');
    expect(session?.stop_outcome).toMatchObject({ plan: 'one_shot_stop', positions: 'none' });
  });

  it('records flattened when the flatten closed everything', async () => {
    // prepare
    const { runId, agent, sim } = await running();
    // act
    await fx.store.update(runId, { flatten_on_stop: true }, ['running', 'paused']);
    await fx.store.setDesiredState(runId, 'stopped', 'operator stop');
    await pollUntil('exit', () => agent.exits[0] !== undefined);
    // assess
    const session = await fx.store.get(runId);
    expect(sim.state().open_trades).toBe(0);
    expect(session?.stop_outcome).toMatchObject({ positions: 'flattened', open_trade_ids: [] });
  });
});
