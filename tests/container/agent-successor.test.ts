import { describe, expect, it } from 'vitest';
import { useAgentFixture } from './support/fixture';
import { pollUntil } from './support/poll';
import { startAgent } from './support/run';
import { attachTo, startSim } from './support/sim';

describe('Agent: a deploy successor goes on from its predecessor', () => {
  const { fx, agents, sims } = useAgentFixture();

  it("keeps the predecessor's drawdown peak (a deploy reset the baseline to the new task's first equity, hiding the drawdown)", async () => {
    // prepare: the predecessor last reported a peak of 20,000 and is over, superseded by the successor
    const bot = await startSim({ open_trades_at_start: 0 });
    sims.push(bot);
    const { runId: old, options } = await fx.session();
    const claim = await fx.store.claimSession({
      run_id: old,
      agent_id: 'old-task:1:abcd',
      strategy_version: '1.0.0',
      exchange: 'binance',
      pairs: ['BTC/USDT'],
    });
    if (!claim.ok) throw new Error(claim.message);
    const snapshot = {
      equity: 19_500,
      peak_equity: 20_000,
      drawdown_pct: 2.5,
      daily_pnl: 0,
      open_trades: 0,
      max_leverage: 1,
      exposure: 0,
      monitor_failures: 0,
    };
    const beat = await fx.store.recordHeartbeat({
      run_id: old,
      agent_id: 'old-task:1:abcd',
      seq: claim.session.heartbeat_seq + 1,
      at: new Date().toISOString(),
      metrics: { total_trades: 0, win_rate: 0, pnl_today: 0, pnl_total: 0, open_trade_count: 0 },
      health: { cpu_percent: 0, memory_mb: 0, exchange_connected: true, last_trade_at: null },
      risk: { state: 'ok', snapshot, breaches: [], response: null, breached_at: null },
      open_trades: [],
    });
    if (!beat.ok) throw new Error(beat.message);
    const before = claim.session;
    const next = `dry-run-${before.strategy_id}-next`;
    const created = await fx.store.createSuccessor(
      {
        run_id: next,
        strategy_id: before.strategy_id,
        strategy_name: before.strategy_name,
        trading_mode: 'dry-run',
        risk_limits: before.risk_limits,
        requested_by: 'test',
        trace_id: 'trace-next',
      },
      {
        lockHolder: old,
        superseded: [{ run_id: old, statuses: ['running'], supersededBy: null }],
        handoff: {
          kind: 'deploy',
          mode: 'carry_positions',
          wait_flat_s: 0,
          phase: 'predecessor_gone',
          from_run_id: old,
          to_run_id: next,
          rollback_of: null,
          requested_at: new Date().toISOString(),
          reason: null,
        },
      },
    );
    if (!created.ok) throw new Error(created.message);
    await fx.store.transition(old, 'stopping', { patch: { desired_state: 'stopped' } });
    await fx.store.transition(old, 'stopped', { from: ['stopping'], heldBy: 'old-task:1:abcd' });
    await fx.store.transition(next, 'launching');
    expect(await fx.store.passLock(before.strategy_id, old, next)).toEqual({ ok: true });

    // act
    const agent = await startAgent({ ...options, runId: next, attach: attachTo(bot) }, { store: fx.store });
    agents.push(agent);

    // assess
    const reported = await pollUntil('a heartbeat of the successor with a risk snapshot', async () => {
      const s = await fx.store.get(next);
      return s?.risk?.snapshot ? s : undefined;
    });
    expect(reported.agent_id).not.toBeNull();
    expect(reported.risk?.snapshot?.peak_equity).toBe(20_000);
    expect(reported.risk?.snapshot?.drawdown_pct ?? 0).toBeGreaterThan(50);
  });
});
