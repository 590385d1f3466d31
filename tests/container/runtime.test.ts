import { describe, expect, it } from 'vitest';
import { EXIT } from '../../container/agent/constants';
import type { AgentOptions } from '../../container/agent/env';
import { createLogger } from '../../container/agent/logger';
import { createRuntime } from '../../container/agent/runtime';
import type { StopPorts } from '../../container/agent/stop';
import { ManualClock } from '../../shared/domain/clock';
import type { SessionStore, TransitionOptions } from '../../shared/domain/session-store';

const options = { runId: 'live-x-run', stopTimeoutS: 5 } as AgentOptions;

const recordingStore = () => {
  const writes: { to: string; options?: TransitionOptions }[] = [];
  const store = {
    transition: async (_runId: string, to: string, transitionOptions?: TransitionOptions) => {
      writes.push({ to, ...(transitionOptions === undefined ? {} : { options: transitionOptions }) });
      return { ok: true, session: {}, previous: 'running' };
    },
  } as unknown as SessionStore;
  return { store, writes };
};

const portsFor = (calls: string[], gate?: Promise<void>): StopPorts => ({
  now: () => Date.parse('2026-06-01T00:00:00.000Z'),
  trades: true,
  freqtradeState: () => 'running',
  openTradeIds: () => [1],
  refresh: async () => {},
  command: async (action) => {
    calls.push(action);
    if (gate !== undefined) await gate;
    return { ok: true, detail: 'confirmed' };
  },
  flatten: async () => [],
  stopProcess: async () => {
    calls.push('stopProcess');
    return 'stopped';
  },
  killOneShot: () => {},
  heartbeat: async (kind) => {
    calls.push(`heartbeat:${kind}`);
  },
  writeFinal: async (_outcome, status) => {
    calls.push(`final:${status}`);
  },
});

const runtimeWith = (store: SessionStore, exits: number[]) =>
  createRuntime({
    agentId: 'agent-1',
    clock: new ManualClock(),
    logger: createLogger({ level: 'error', write: () => {} }),
    agentOptions: options,
    store,
    exit: (code) => exits.push(code),
  });

describe('Agent runtime: the one stop routine', () => {
  it('runs a plan once: a second stop while the first runs waits for it and gets its outcome', async () => {
    // prepare
    const calls: string[] = [];
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const exits: number[] = [];
    const runtime = runtimeWith(recordingStore().store, exits);
    runtime.enter('running');
    runtime.setStopPorts(portsFor(calls, gate));
    // act
    const first = runtime.stop({ kind: 'operator_stop', flatten: false }, 'operator stop');
    const second = runtime.stop({ kind: 'sigterm', reason: 'SIGTERM' }, 'SIGTERM');
    open();
    const [a, b] = await Promise.all([first, second]);
    // assess
    expect(a).toBe(b);
    expect(a?.plan).toBe('operator_stop');
    expect(calls.filter((call) => call === 'stopProcess')).toHaveLength(1);
    expect(exits).toEqual([EXIT.ok]);
    expect(runtime.phase()).toBe('done');
  });

  it('a holding stop (fail-closed) never preempts an ending stop under way', async () => {
    const calls: string[] = [];
    const runtime = runtimeWith(recordingStore().store, []);
    runtime.enter('running');
    runtime.setStopPorts(portsFor(calls));
    const ending = runtime.stop({ kind: 'fenced', reason: 'superseded', message: 'x' }, 'fenced');
    const holding = runtime.stop({ kind: 'fail_closed', command: 'pause', failure: 'HTTP 500' }, 'fail');
    expect((await holding)?.plan).toBe('fenced');
    expect((await ending)?.plan).toBe('fenced');
  });

  it('a fail-closed stop holds the agent: it stays up, and an operator stop still ends it', async () => {
    const calls: string[] = [];
    const exits: number[] = [];
    const runtime = runtimeWith(recordingStore().store, exits);
    runtime.enter('running');
    runtime.setStopPorts(portsFor(calls));
    await runtime.stop({ kind: 'fail_closed', command: 'pause', failure: 'HTTP 500' }, 'fail');
    expect(runtime.phase()).toBe('held');
    expect(exits).toEqual([]);
    await runtime.stop({ kind: 'operator_stop', flatten: false }, 'operator stop');
    expect(runtime.phase()).toBe('done');
    expect(exits).toEqual([EXIT.ok]);
  });

  it('a second fail-closed while the first stops the process joins it: the process is stopped once', async () => {
    const calls: string[] = [];
    const runtime = runtimeWith(recordingStore().store, []);
    runtime.enter('running');
    runtime.setStopPorts(portsFor(calls));
    await Promise.all([
      runtime.stop({ kind: 'fail_closed', command: 'pause', failure: 'HTTP 500' }, 'a'),
      runtime.stop({ kind: 'fail_closed', command: 'stop', failure: 'HTTP 500' }, 'b'),
    ]);
    await runtime.stop({ kind: 'fail_closed', command: 'pause', failure: 'again' }, 'c');
    expect(calls.filter((call) => call === 'stopProcess')).toHaveLength(1);
  });

  it('ends with the exit code of its cause: fenced off 3, session over 0', async () => {
    const superseded: number[] = [];
    const a = runtimeWith(recordingStore().store, superseded);
    a.setStopPorts(portsFor([]));
    await a.stop({ kind: 'fenced', reason: 'superseded', message: 'x' }, 'fenced');
    const terminal: number[] = [];
    const b = runtimeWith(recordingStore().store, terminal);
    b.setStopPorts(portsFor([]));
    await b.stop({ kind: 'fenced', reason: 'terminal', message: 'x' }, 'fenced');
    expect(superseded).toEqual([EXIT.fenced]);
    expect(terminal).toEqual([EXIT.ok]);
  });

  it('a start failure fails the session with its reason and the trades the predecessor left, only for a bad config', async () => {
    // prepare
    const bad = recordingStore();
    const transient = recordingStore();
    const exits: number[] = [];
    const a = runtimeWith(bad.store, exits);
    a.setPreviousTrades([5, 6]);
    const b = runtimeWith(transient.store, exits);
    // act
    await a.stop(
      { kind: 'start_failed', code: EXIT.configuration, message: 'bad config', markFailed: true },
      'x',
    );
    await b.stop({ kind: 'start_failed', code: EXIT.fault, message: 'MLflow down', markFailed: false }, 'y');
    // assess
    expect(bad.writes).toHaveLength(1);
    expect(bad.writes[0]).toMatchObject({
      to: 'failed',
      options: {
        patch: {
          status_reason: 'bad config',
          stop_outcome: { plan: 'start_failed', positions: 'left_open', open_trade_ids: [5, 6] },
        },
      },
    });
    expect(transient.writes).toEqual([]);
    expect(exits).toEqual([EXIT.configuration, EXIT.fault]);
  });
});
