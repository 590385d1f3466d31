import { PublishCommand } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSweep, type SweepDeps } from '../../../functions/sweep/handler';
import type { DynamoSessionStore } from '../../../shared/adapters/dynamodb/session-store';
import { ManualClock } from '../../../shared/domain/clock';
import { awsAdapters, heartbeatOf, runningSession } from '../../adapters/support/workflow-fixtures';
import { startTestDynamo, type TestDynamo } from '../../support/dynamo';
import { SWEEP_TIMINGS, sweepDepsOf } from './support';

const T0 = Date.parse('2026-05-04T10:00:00.000Z');
const at = (ms: number) => new Date(ms).toISOString();
const STALE_AFTER_S = 35;

describe('Sweep passes: a suspects pass reads the silent sessions, not the fleet', () => {
  let dynamo: TestDynamo;
  let store: DynamoSessionStore;
  const clock = new ManualClock(T0);
  const adapters = awsAdapters();
  const sns = mockClient(adapters.sns);
  const depsWith = (extra: Partial<SweepDeps> = {}) =>
    sweepDepsOf(store, clock, adapters, {
      timings: { ...SWEEP_TIMINGS, staleAfterS: STALE_AFTER_S },
      ...extra,
    });

  beforeAll(async () => {
    dynamo = await startTestDynamo({ now: () => clock.now() });
    store = dynamo.newStore(clock);
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
  });
  afterAll(async () => {
    await dynamo.close();
  });

  it('a suspect pass reads the silent sessions through the heartbeat index, not the fleet (a pass read every running session)', async () => {
    // prepare: 12 sessions heartbeating, 1 silent for twice the threshold
    clock.set(T0);
    const silent = await runningSession(store, at(clock.now()));
    clock.advance(2 * STALE_AFTER_S * 1000);
    const healthy = [];
    for (let i = 0; i < 12; i += 1) healthy.push(await runningSession(store, at(clock.now())));
    clock.advance(5_000);

    // act
    const report = await runSweep(depsWith(), { full: false });

    // assess
    expect(report.read.suspects).toBe(1);
    expect(report.read.running).toBeUndefined();
    expect(report.markedStale).toEqual([silent.run_id]);
    for (const session of healthy) expect((await store.get(session.run_id))?.status).toBe('running');
    const full = await runSweep(depsWith());
    expect(full.read.running).toBeGreaterThanOrEqual(12);
  });

  it('a heartbeat after the session was marked stale takes it out of the suspects once its step is recent', async () => {
    clock.set(T0 + 10_800_000);
    const session = await runningSession(store, at(clock.now()));
    clock.advance((STALE_AFTER_S + 1) * 1000);
    expect((await runSweep(depsWith(), { full: false })).markedStale).toContain(session.run_id);
    await store.recordHeartbeat(heartbeatOf(session, 2, at(clock.now())));

    const after = await store.listSilentSince(new Date(clock.now() - STALE_AFTER_S * 1000).toISOString());

    expect(after).not.toContain(session.run_id);
  });
});
