import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeartbeatReporter, historyEveryMsFor } from '../../container/agent/heartbeat';
import { createLogger } from '../../container/agent/logger';
import { ManualClock } from '../../shared/domain/clock';
import type { Heartbeat } from '../../shared/domain/heartbeat';
import type { SessionStore } from '../../shared/domain/session-store';
import { claimedSession, heartbeatOf } from '../shared/session-store.contract';
import { startTestDynamo, type TestDynamo } from '../support/dynamo';

const INTERVAL_MS = 15_000;

/** The run's history once it has `count` points, bounded: history writes do not hold up the heartbeat. */
const historyOnceWritten = async (store: SessionStore, runId: string, count: number) => {
  let points = (await store.readHistory(runId)).items;
  for (let attempt = 0; attempt < 50 && points.length < count; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    points = (await store.readHistory(runId)).items;
  }
  return points;
};

describe('Heartbeat reporter: beats between snapshots, and PnL history', () => {
  let dynamo: TestDynamo;
  beforeAll(async () => {
    dynamo = await startTestDynamo();
  });
  afterAll(async () => {
    await dynamo.close();
  });

  /** A claimed session and a reporter at the 15 s interval whose heartbeat the test shapes. */
  const setUp = async (name: string) => {
    const clock = new ManualClock('2026-06-01T00:00:00.000Z');
    const store = dynamo.newStore(clock);
    const input = await claimedSession(store, name, { pairs: [] });
    let shape = (heartbeat: Heartbeat): Heartbeat => heartbeat;
    const reporter = new HeartbeatReporter({
      store,
      clock,
      logger: createLogger({ level: 'error', write: () => {} }),
      strategyId: input.strategy_id,
      initialSeq: 0,
      build: (seq, at) => shape(heartbeatOf(input.run_id, 'agent-a', seq, at)),
      historyEveryMs: historyEveryMsFor(15),
    });
    const snapshotAt = async () => (await store.get(input.run_id))?.last_heartbeat;
    const beatAt = async () => (await store.beatsOf([input.run_id])).get(input.run_id)?.last_heartbeat;
    return {
      clock,
      store: store as SessionStore,
      runId: input.run_id,
      reporter,
      snapshotAt,
      beatAt,
      reshape: (next: (heartbeat: Heartbeat) => Heartbeat) => {
        shape = next;
      },
    };
  };

  it('writes one snapshot a minute while nothing changes and beats between (every heartbeat rewrote the session item)', async () => {
    // prepare
    const { clock, reporter, snapshotAt, beatAt } = await setUp('cadence-quiet');
    const written: string[] = [];

    // act: heartbeats at 0, 15, 30, 45 and 60 s, the timer a little early each time
    for (let send = 0; send < 5; send += 1) {
      const outcome = await reporter.send('interval', 'cadence');
      expect(outcome.kind).toBe('ok');
      written.push(outcome.kind === 'ok' && outcome.session !== null ? 'snapshot' : 'beat');
      clock.advance(INTERVAL_MS - 100);
    }

    // assess
    expect(written).toEqual(['snapshot', 'beat', 'beat', 'beat', 'snapshot']);
    expect(await snapshotAt()).toBe('2026-06-01T00:00:59.600Z');
    expect(await beatAt()).toBe('2026-06-01T00:00:44.700Z');
    expect(reporter.sent).toBe(5);
  });

  it('writes a snapshot at once when a trade opens, the risk state changes or Freqtrade pauses (the stream processor acts on each)', async () => {
    // prepare: a first snapshot, then a quiet beat
    const { clock, reporter, reshape } = await setUp('cadence-changes');
    await reporter.send('interval', 'cadence');
    clock.advance(INTERVAL_MS);
    const quiet = await reporter.send('interval', 'cadence');
    const changes: ((heartbeat: Heartbeat) => Heartbeat)[] = [
      (hb) => ({
        ...hb,
        open_trades: [
          ...hb.open_trades,
          { ...(hb.open_trades[0] as Heartbeat['open_trades'][number]), trade_id: 3 },
        ],
      }),
      (hb) => ({ ...hb, risk: { ...hb.risk, state: 'breached', breached_at: '2026-06-01T00:00:30.000Z' } }),
      (hb) => ({ ...hb, health: { ...hb.health, freqtrade_state: 'paused' } }),
    ];
    const kinds: string[] = [];

    // act: each change on top of the last, one interval apart
    let shape = (heartbeat: Heartbeat) => heartbeat;
    for (const change of changes) {
      const previous = shape;
      shape = (heartbeat) => change(previous(heartbeat));
      reshape(shape);
      clock.advance(INTERVAL_MS);
      const outcome = await reporter.send('interval', 'cadence');
      kinds.push(outcome.kind === 'ok' && outcome.session !== null ? 'snapshot' : 'beat');
    }
    clock.advance(INTERVAL_MS);
    const unchanged = await reporter.send('interval', 'cadence');

    // assess
    expect(quiet).toEqual({ kind: 'ok', session: null });
    expect(kinds).toEqual(['snapshot', 'snapshot', 'snapshot']);
    expect(unchanged).toEqual({ kind: 'ok', session: null });
  });

  it("writes a snapshot at once when equity or today's PnL moves by 0.25 % of equity (the account budget sums the snapshots)", async () => {
    // prepare
    const { clock, reporter, reshape } = await setUp('cadence-money');
    await reporter.send('interval', 'cadence');
    const withPnl = (pnlToday: number, equity: number) =>
      reshape((hb) => ({
        ...hb,
        metrics: { ...hb.metrics, pnl_today: pnlToday },
        risk: {
          ...hb.risk,
          snapshot: { ...(hb.risk.snapshot as NonNullable<Heartbeat['risk']['snapshot']>), equity },
        },
      }));

    // act: 10,125 equity; a 20 move is under 0.25 % (25.3), a 30 move over it
    withPnl(125.5 - 20, 10_125 - 20);
    clock.advance(INTERVAL_MS);
    const small = await reporter.send('interval', 'cadence');
    withPnl(125.5 - 30, 10_125);
    clock.advance(INTERVAL_MS);
    const pnlMove = await reporter.send('interval', 'cadence');

    // assess
    expect(small).toEqual({ kind: 'ok', session: null });
    expect(pnlMove.kind === 'ok' && pnlMove.session?.metrics?.pnl_today).toBe(95.5);
  });

  it('writes a snapshot whenever the agent has something to report now, however recent the last', async () => {
    const { clock, reporter } = await setUp('cadence-forced');
    await reporter.send('interval', 'cadence');
    clock.advance(1_000);

    const confirmed = await reporter.send('confirmed pause');

    expect(confirmed.kind === 'ok' && confirmed.session?.heartbeat_seq).toBe(2);
  });

  it("fences a beat of an agent another claim superseded, as it fences that agent's snapshot", async () => {
    // prepare
    const { clock, store, runId, reporter } = await setUp('cadence-fenced');
    await reporter.send('interval', 'cadence');
    await store.claimSession({
      run_id: runId,
      agent_id: 'agent-b',
      strategy_version: null,
      exchange: null,
      pairs: [],
    });
    clock.advance(INTERVAL_MS);

    // act
    const outcome = await reporter.send('interval', 'cadence');

    // assess
    expect(outcome).toMatchObject({ kind: 'fenced', reason: 'superseded' });
    expect(reporter.lastOk).toBe(false);
  });

  it('keeps history points with snapshots only: none from a beat', async () => {
    // prepare
    const { clock, store, runId, reporter } = await setUp('cadence-history');

    // act: a minute and a half of heartbeats, 15 s apart
    for (let send = 0; send < 7; send += 1) {
      await reporter.send('interval', 'cadence');
      clock.advance(INTERVAL_MS);
    }

    // assess: snapshots at 0 and 60 s, and no later point from a beat
    await historyOnceWritten(store, runId, 2);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const history = (await store.readHistory(runId)).items;
    expect(history.map((entry) => entry.recorded_at)).toEqual([
      '2026-06-01T00:00:00.000Z',
      '2026-06-01T00:01:00.000Z',
    ]);
  });

  it('keeps a history point every 30 s, not one per 15 s heartbeat (a write unit each, for a chart at 30 s)', async () => {
    // prepare: a claimed session and the reporter at the default 15 s interval, every heartbeat a snapshot
    const { clock, store, runId, reporter } = await setUp('history-thinning');

    // act: heartbeats at 0, 15, 30, 45 and 60 s, the interval's timer a little early each time
    for (let beat = 0; beat < 5; beat += 1) {
      expect((await reporter.send('interval')).kind).toBe('ok');
      clock.advance(14_900);
    }

    // assess: points at 0, 29.8 and 59.6 s
    expect(await historyOnceWritten(store, runId, 3)).toHaveLength(3);
    expect(reporter.sent).toBe(5);
  });

  it('keeps a point every other heartbeat up to 30 s, and never more than one per heartbeat', () => {
    expect(historyEveryMsFor(15)).toBe(30_000);
    expect(historyEveryMsFor(30)).toBe(30_000);
    expect(historyEveryMsFor(60)).toBe(60_000);
    expect(historyEveryMsFor(0.5)).toBe(1_000);
  });
});
