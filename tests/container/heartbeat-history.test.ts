import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeartbeatReporter, historyEveryMsFor } from '../../container/agent/heartbeat';
import { createLogger } from '../../container/agent/logger';
import { ManualClock } from '../../shared/domain/clock';
import { claimedSession, heartbeatOf } from '../shared/session-store.contract';
import { startTestDynamo, type TestDynamo } from '../support/dynamo';

describe('Heartbeat reporter: PnL history', () => {
  let dynamo: TestDynamo;
  beforeAll(async () => {
    dynamo = await startTestDynamo();
  });
  afterAll(async () => {
    await dynamo.close();
  });

  it('keeps a history point every 30 s, not one per 15 s heartbeat (a write unit each, for a chart at 30 s)', async () => {
    // prepare: a claimed session and the reporter at the default 15 s interval
    const clock = new ManualClock('2026-06-01T00:00:00.000Z');
    const store = dynamo.newStore(clock);
    const input = await claimedSession(store, 'history-thinning', { pairs: [] });
    const reporter = new HeartbeatReporter({
      store,
      clock,
      logger: createLogger({ level: 'error', write: () => {} }),
      strategyId: input.strategy_id,
      initialSeq: 0,
      build: (seq, at) => heartbeatOf(input.run_id, 'agent-a', seq, at),
      historyEveryMs: historyEveryMsFor(15),
    });

    // act: heartbeats at 0, 15, 30, 45 and 60 s, the interval's timer a little early each time
    for (let beat = 0; beat < 5; beat += 1) {
      expect((await reporter.send('interval')).kind).toBe('ok');
      clock.advance(14_900);
    }

    // assess: points at 0, 29.8 and 59.6 s (bounded polling: the history write does not hold up the heartbeat)
    let points = 0;
    for (let attempt = 0; attempt < 50 && points < 3; attempt += 1) {
      points = (await store.readHistory(input.run_id)).items.length;
      if (points < 3) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(points).toBe(3);
    expect(reporter.sent).toBe(5);
  });

  it('keeps a point every other heartbeat up to 30 s, and never more than one per heartbeat', () => {
    expect(historyEveryMsFor(15)).toBe(30_000);
    expect(historyEveryMsFor(30)).toBe(30_000);
    expect(historyEveryMsFor(60)).toBe(60_000);
    expect(historyEveryMsFor(0.5)).toBe(1_000);
  });
});
