import { describe, expect, it } from 'vitest';
import {
  AGENT_PHASES,
  canEnterPhase,
  type KnownTrades,
  PHASE_TRANSITIONS,
  planFor,
  positionsOutcome,
  STOP_PLANS,
  type StopCause,
} from '../../container/agent/lifecycle';
import { executeStopPlan, type StopPorts } from '../../container/agent/stop';
import { STOP_PLAN_NAMES, StopOutcomeSchema } from '../../shared/domain/agent-report';
import { SessionSchema } from '../../shared/domain/session';
import { SessionPatchSchema } from '../../shared/domain/session-store';

/** Ports that record what a plan did, over a bot with `open` trades that a flatten may or may not close. */
const fakePorts = (
  knobs: {
    open?: number[];
    flattenCloses?: boolean;
    pauseFails?: boolean;
    state?: 'running' | 'paused' | 'stopped';
    trades?: boolean;
  } = {},
) => {
  const calls: string[] = [];
  let open: KnownTrades = knobs.open ?? [];
  let state = knobs.state ?? 'running';
  let now = 1_700_000_000_000;
  const ports: StopPorts = {
    now: () => now,
    trades: knobs.trades ?? true,
    freqtradeState: () => state,
    openTradeIds: () => open,
    refresh: async () => {
      calls.push('refresh');
    },
    command: async (action) => {
      calls.push(action);
      if (action === 'pause' && knobs.pauseFails) return { ok: false, detail: 'HTTP 500' };
      state = action === 'pause' ? 'paused' : 'stopped';
      return { ok: true, detail: 'ok' };
    },
    flatten: async () => {
      calls.push('flatten');
      now += 1000;
      if (knobs.flattenCloses) open = [];
      return open;
    },
    stopProcess: async () => {
      calls.push('stopProcess');
      return 'stopped';
    },
    killOneShot: () => {
      calls.push('killOneShot');
    },
    heartbeat: async (kind) => {
      calls.push(`heartbeat:${kind}`);
    },
    writeFinal: async (_outcome, status) => {
      calls.push(`final:${status}`);
    },
  };
  return { ports, calls };
};

const budget = { stopTimeoutMs: 5000, flattenTimeoutMs: 30_000 };

describe('Agent lifecycle: phases as data', () => {
  it('allows only the transitions in the table, and done is final', () => {
    for (const from of AGENT_PHASES) {
      for (const to of AGENT_PHASES) {
        expect(canEnterPhase(from, to)).toBe(PHASE_TRANSITIONS[from].includes(to));
      }
    }
    expect(PHASE_TRANSITIONS.done).toEqual([]);
    expect(canEnterPhase('stopping', 'running')).toBe(false);
    expect(canEnterPhase('held', 'running')).toBe(false);
  });
});

describe('Agent lifecycle: the handoff stop plan', () => {
  it('turns entries off with /pause, never /stop, waits for the trades to close, then stops trader and process (a stopped trader exits nothing)', async () => {
    // prepare: two open trades that Freqtrade's own exits close at the second look
    const { ports, calls } = fakePorts({ open: [3, 4] });
    let looks = 0;
    ports.entriesOffCommand = () => 'stop';
    ports.refresh = async () => {
      looks += 1;
      calls.push('refresh');
    };
    ports.openTradeIds = () => (looks >= 2 ? [] : [3, 4]);

    // act
    const outcome = await executeStopPlan(
      STOP_PLANS.handoff,
      ports,
      { ...budget, awaitFlatMs: 10_000, awaitFlatPollMs: 1 },
      'handed off',
    );

    // assess
    expect(calls.slice(0, 3)).toEqual(['pause', 'refresh', 'refresh']);
    expect(calls).toContain('stop');
    expect(calls.indexOf('stopProcess')).toBeGreaterThan(calls.indexOf('heartbeat:final'));
    expect(calls.at(-1)).toBe('final:stopped');
    expect(outcome).toMatchObject({ plan: 'handoff', positions: 'none', open_trade_ids: [] });
    expect(outcome.detail).toContain('wait_flat: every trade closed');
  });

  it('carries what is still open once the wait_flat bound is spent, and waits not at all for carry_positions', async () => {
    const bounded = fakePorts({ open: [7] });
    const carried = await executeStopPlan(
      STOP_PLANS.handoff,
      bounded.ports,
      { ...budget, awaitFlatMs: 20, awaitFlatPollMs: 5 },
      'handed off',
    );
    expect(carried).toMatchObject({ positions: 'left_open', open_trade_ids: [7] });
    expect(carried.detail).toContain('carried to the successor');

    const carry = fakePorts({ open: [7] });
    await executeStopPlan(STOP_PLANS.handoff, carry.ports, { ...budget, awaitFlatMs: 0 }, 'handed off');
    expect(carry.calls.filter((call) => call === 'refresh')).toHaveLength(1);
  });
});

describe('Agent lifecycle: one stop routine, a table of stop plans', () => {
  it('has a plan for every stop plan name, and every cause picks one', () => {
    expect(Object.keys(STOP_PLANS).sort()).toEqual([...STOP_PLAN_NAMES].sort());
    const causes: StopCause[] = [
      { kind: 'operator_stop', flatten: false },
      { kind: 'operator_stop', flatten: true },
      { kind: 'fenced', reason: 'superseded', message: 'x' },
      { kind: 'sigterm', reason: 'SIGTERM' },
      { kind: 'risk_stop' },
      { kind: 'one_shot_done', succeeded: true },
      { kind: 'one_shot_stop' },
      { kind: 'start_failed', code: 2, message: 'bad config', markFailed: true },
      { kind: 'fail_closed', command: 'pause', failure: 'HTTP 500' },
      { kind: 'restarts_exhausted', restarts: 5, lastExit: 'code 1' },
      { kind: 'handoff', mode: 'carry_positions', waitFlatS: 0, successor: 'live-s-next' },
    ];
    expect(new Set(causes.map((cause) => planFor(cause).name)).size).toBe(STOP_PLAN_NAMES.length);
  });

  it('operator stop: pauses, stops the trader and the process, reports, writes stopped; trades left open are named', async () => {
    const { ports, calls } = fakePorts({ open: [4, 7] });
    const outcome = await executeStopPlan(STOP_PLANS.operator_stop, ports, budget, 'operator stop');
    expect(calls).toEqual(['pause', 'stop', 'refresh', 'heartbeat:final', 'stopProcess', 'final:stopped']);
    expect(outcome).toMatchObject({ plan: 'operator_stop', positions: 'left_open', open_trade_ids: [4, 7] });
    expect(StopOutcomeSchema.parse(outcome)).toEqual(outcome);
  });

  it('stop with flatten: flattens before the stop; flattened when nothing is left', async () => {
    const { ports, calls } = fakePorts({ open: [4], flattenCloses: true });
    const outcome = await executeStopPlan(STOP_PLANS.operator_stop_flatten, ports, budget, 'stop');
    expect(calls).toEqual([
      'pause',
      'flatten',
      'stop',
      'refresh',
      'heartbeat:final',
      'stopProcess',
      'final:stopped',
    ]);
    expect(outcome).toMatchObject({ positions: 'flattened', open_trade_ids: [] });
  });

  it('stop with flatten whose flatten failed ends flatten_failed, naming the trades still open', async () => {
    const { ports } = fakePorts({ open: [4, 9], flattenCloses: false });
    const outcome = await executeStopPlan(STOP_PLANS.operator_stop_flatten, ports, budget, 'stop');
    expect(outcome).toMatchObject({ positions: 'flatten_failed', open_trade_ids: [4, 9] });
    expect(outcome.detail).toContain('flatten left 2 open');
  });

  it('fenced: pauses and stops Freqtrade, no heartbeat (it would be refused) and no status write', async () => {
    const { ports, calls } = fakePorts({ open: [1] });
    const outcome = await executeStopPlan(STOP_PLANS.fenced, ports, budget, 'fenced');
    expect(calls).toEqual(['killOneShot', 'pause', 'stop', 'refresh', 'stopProcess']);
    expect(outcome.positions).toBe('left_open');
  });

  it('SIGTERM: pauses, reports shutdown, stops the process; no status write (a replacement task comes)', async () => {
    const { ports, calls } = fakePorts({ open: [3] });
    const outcome = await executeStopPlan(STOP_PLANS.sigterm, ports, budget, 'SIGTERM');
    expect(calls).toEqual(['killOneShot', 'pause', 'refresh', 'heartbeat:shutdown', 'stopProcess']);
    expect(outcome).toMatchObject({ plan: 'sigterm', positions: 'left_open', open_trade_ids: [3] });
  });

  it('SIGTERM on a bot already stopped sends no /pause (a 2025.4+ /pause would start it paused)', async () => {
    const { ports, calls } = fakePorts({ state: 'stopped' });
    const outcome = await executeStopPlan(STOP_PLANS.sigterm, ports, budget, 'SIGTERM');
    expect(calls).not.toContain('pause');
    expect(outcome.detail).toContain('entries already off (stopped)');
  });

  it('SIGTERM of an attached bot under a latched risk stop sends /stop, not /pause (it would start the bot paused)', async () => {
    const { ports, calls } = fakePorts({ state: 'running' });
    await executeStopPlan(
      STOP_PLANS.sigterm,
      { ...ports, entriesOffCommand: () => 'stop' },
      budget,
      'SIGTERM',
    );
    expect(calls).toEqual(['killOneShot', 'stop', 'refresh', 'heartbeat:shutdown', 'stopProcess']);
  });

  it('stop with flatten pauses first even when the target is stopped (a stopped trader refuses forceexit)', async () => {
    const { ports, calls } = fakePorts({ open: [4], flattenCloses: true });
    await executeStopPlan(
      STOP_PLANS.operator_stop_flatten,
      { ...ports, entriesOffCommand: () => 'stop' },
      budget,
      'x',
    );
    expect(calls.slice(0, 3)).toEqual(['pause', 'flatten', 'stop']);
  });

  it('risk stop: pauses and stops the trader, keeps the process and reports', async () => {
    const { ports, calls } = fakePorts({ open: [2] });
    await executeStopPlan(STOP_PLANS.risk_stop, ports, budget, 'risk stop');
    expect(calls).toEqual(['pause', 'stop', 'refresh', 'heartbeat:report']);
    expect(STOP_PLANS.risk_stop.phaseAfter).toBe('running');
  });

  it('one-shot done: final heartbeat, then the result status; no trading calls', async () => {
    const { ports, calls } = fakePorts({ trades: false });
    const outcome = await executeStopPlan(STOP_PLANS.one_shot_done, ports, budget, 'completed');
    expect(calls).toEqual(['heartbeat:final', 'final:result']);
    expect(outcome.positions).toBe('none');
  });

  it('one-shot stop: ends the command, final heartbeat, stopped', async () => {
    const { ports, calls } = fakePorts({ trades: false });
    await executeStopPlan(STOP_PLANS.one_shot_stop, ports, budget, 'stop');
    expect(calls).toEqual(['killOneShot', 'heartbeat:final', 'final:stopped']);
  });

  it("fatal start error: stops a started process, writes failed; the predecessor's trades are named", async () => {
    const { ports, calls } = fakePorts({ trades: false, open: [11, 12] });
    const outcome = await executeStopPlan(STOP_PLANS.start_failed, ports, budget, 'bad config');
    expect(calls).toEqual(['stopProcess', 'final:failed']);
    expect(outcome).toMatchObject({ positions: 'left_open', open_trade_ids: [11, 12] });
  });

  it('fail-closed process stop: stops the process without asking its API, reports, agent held', async () => {
    const { ports, calls } = fakePorts({ open: [5], pauseFails: true });
    const outcome = await executeStopPlan(STOP_PLANS.fail_closed_process_stop, ports, budget, 'pause failed');
    expect(calls).toEqual(['stopProcess', 'heartbeat:report']);
    expect(outcome).toMatchObject({ positions: 'left_open', open_trade_ids: [5] });
    expect(STOP_PLANS.fail_closed_process_stop.phaseAfter).toBe('held');
  });

  it('restarts exhausted: nothing to ask Freqtrade, makes sure no restart is pending, reports, agent held', async () => {
    const { ports, calls } = fakePorts({ trades: false, open: [8] });
    const outcome = await executeStopPlan(STOP_PLANS.restarts_exhausted, ports, budget, 'never came up');
    expect(calls).toEqual(['stopProcess', 'heartbeat:report']);
    expect(outcome).toMatchObject({ positions: 'left_open', open_trade_ids: [8] });
    expect(STOP_PLANS.restarts_exhausted.phaseAfter).toBe('held');
  });

  it('a failed pause never keeps the process alive', async () => {
    const { ports, calls } = fakePorts({ pauseFails: true });
    const outcome = await executeStopPlan(STOP_PLANS.operator_stop, ports, budget, 'stop');
    expect(calls).toContain('stopProcess');
    expect(outcome.detail).toContain('pause failed: HTTP 500');
  });

  it('positions: unknown after a flatten counts as failed; unknown without flatten falls back to before', () => {
    expect(positionsOutcome({ flatten: true }, [1], null)).toEqual({
      positions: 'flatten_failed',
      open_trade_ids: [1],
    });
    expect(positionsOutcome({ flatten: false }, [1], null)).toEqual({
      positions: 'left_open',
      open_trade_ids: [1],
    });
    expect(positionsOutcome({ flatten: true }, [], [])).toEqual({ positions: 'none', open_trade_ids: [] });
  });
});

describe('Schema evolution: stop_outcome and the agent reports', () => {
  const oldItem = {
    item_type: 'session',
    run_id: 'live-pascal-20260101000000-abcd',
    workflow_type: 'live',
    strategy_id: 'pascal',
    strategy_name: 'SimStrategy',
    strategy_version: '1.0.0',
    status: 'running',
    status_reason: null,
    status_changed_at: '2026-01-01T00:00:00.000Z',
    trading_mode: 'live',
    desired_state: 'running',
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
    started_at: '2026-01-01T00:00:00.000Z',
    last_heartbeat: '2026-01-01T00:00:00.000Z',
    heartbeat_seq: 3,
    agent_id: 'a1',
    exchange: 'binance',
    pairs: ['BTC/USDT'],
    metrics: { total_trades: 0, win_rate: 0, pnl_today: 0, pnl_total: 0 },
    health: {
      cpu_percent: 1,
      memory_mb: 50,
      exchange_connected: true,
      last_trade_at: null,
      freqtrade_restarts: 0,
      monitor_failures: 0,
    },
    risk_limits: {
      max_drawdown_pct: 10,
      max_daily_loss: 100,
      max_open_trades: 3,
      max_leverage: 1,
      max_monitor_failures: 3,
      breach_ladder: ['pause'],
      escalation_grace_s: 120,
    },
    risk: null,
    open_trades: [],
    container: null,
    launch_token: null,
    alias: null,
    stage: null,
    overrides: {},
    requested_by: 'op',
    trace_id: 't',
    flatten_on_stop: false,
    version: 4,
  };

  it('parses an item written before stop_outcome and the health reports existed', () => {
    const parsed = SessionSchema.safeParse(oldItem);
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    expect(parsed.data?.stop_outcome).toBeUndefined();
  });

  it('carries stop_outcome through a patch and on the item', () => {
    const outcome = {
      plan: 'operator_stop' as const,
      positions: 'left_open' as const,
      open_trade_ids: [4],
      detail: 'operator stop',
      at: '2026-01-01T00:00:00.000Z',
    };
    expect(SessionPatchSchema.parse({ stop_outcome: outcome }).stop_outcome).toEqual(outcome);
    expect(SessionSchema.parse({ ...oldItem, stop_outcome: outcome }).stop_outcome).toEqual(outcome);
  });
});
