import { PublishCommand } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSweep, type SweepDeps } from '../../../functions/sweep/handler';
import type { DynamoSessionStore } from '../../../shared/adapters/dynamodb/session-store';
import { ManualClock } from '../../../shared/domain/clock';
import type { Session } from '../../../shared/domain/session';
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

  /** The agent's beat now (seq 2: its first heartbeat after the claim's snapshot). */
  const beatNow = async (session: Session) => {
    const { run_id, agent_id, seq } = heartbeatOf(session, 2, at(clock.now()));
    expect((await store.recordBeat({ run_id, agent_id, seq, at: at(clock.now()) })).ok).toBe(true);
  };
  /** A session running (its snapshot) from `startMs`, whose agent beat `beatAfterMs` later. */
  const beatingSession = async (startMs: number, beatAfterMs: number) => {
    clock.set(startMs);
    const session = await runningSession(store, at(clock.now()));
    clock.advance(beatAfterMs);
    await beatNow(session);
    return session;
  };

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

  it("judges silence by the agent's beat, not its snapshot: a healthy agent between snapshots stays running in both passes (its minute-old snapshot marked it stale)", async () => {
    // prepare: a snapshot 50 s ago (over the 35 s threshold), a beat 5 s ago
    const session = await beatingSession(T0 + 3_600_000, 45_000);
    clock.advance(5_000);

    // act
    const suspects = await runSweep(depsWith(), { full: false });
    const full = await runSweep(depsWith());

    // assess
    expect(suspects.markedStale).not.toContain(session.run_id);
    expect(full.markedStale).not.toContain(session.run_id);
    expect((await store.get(session.run_id))?.status).toBe('running');
    // And once the beats stop too, it is stale within the threshold and a pass.
    clock.advance((STALE_AFTER_S - 5 + 1) * 1000);
    expect((await runSweep(depsWith(), { full: false })).markedStale).toContain(session.run_id);
  });

  it('reads only the beat of a suspect that beat since the index listed it, not its session (two reads where one does)', async () => {
    // prepare: a beat 19.9 s into a 20 s step, a pass 16 s later: the index lists it, its beat is recent
    const session = await beatingSession(T0 + 18_000_000, 19_900);
    clock.advance(16_100);
    const read: string[] = [];
    const counting = new Proxy(store, {
      get: (target, name, receiver) => {
        const value = Reflect.get(target, name, receiver);
        if (name !== 'get' || typeof value !== 'function') return value?.bind?.(target) ?? value;
        return (runId: string) => {
          read.push(runId);
          return value.call(target, runId);
        };
      },
    });

    // act
    const report = await runSweep(depsWith({ store: counting }), { full: false });

    // assess
    expect(await store.listSilentSince(new Date(clock.now() - STALE_AFTER_S * 1000).toISOString())).toContain(
      session.run_id,
    );
    expect(report.read.suspects).toBeGreaterThanOrEqual(1);
    expect(read).not.toContain(session.run_id);
    expect(report.markedStale).not.toContain(session.run_id);
  });

  it('forgets the beat of a session that is over when a pass finds it silent, so later passes do not read it again', async () => {
    // prepare
    clock.set(T0 + 7_200_000);
    const session = await runningSession(store, at(clock.now()));
    await store.transition(session.run_id, 'stopping');
    await store.transition(session.run_id, 'stopped');
    clock.advance((STALE_AFTER_S + 21) * 1000);

    // act
    const first = await runSweep(depsWith(), { full: false });
    const second = await runSweep(depsWith(), { full: false });

    // assess
    expect(first.read.suspects).toBeGreaterThanOrEqual(1);
    expect((await store.beatsOf([session.run_id])).size).toBe(0);
    expect(await store.listSilentSince(at(clock.now()))).not.toContain(session.run_id);
    expect(second.read.suspects).toBeLessThan(first.read.suspects ?? 0);
  });

  it('leaves the sessions it judges by heartbeat for the next pass when their beats cannot be read (never stale on a snapshot alone)', async () => {
    // prepare: silent past the threshold, and the beats unreadable
    clock.set(T0 + 14_400_000);
    const session = await runningSession(store, at(clock.now()));
    clock.advance((STALE_AFTER_S + 1) * 1000);
    const failing = new Proxy(store, {
      get: (target, name, receiver) =>
        name === 'beatsOf'
          ? async () => {
              throw new Error('ProvisionedThroughputExceededException');
            }
          : (Reflect.get(target, name, receiver)?.bind?.(target) ?? Reflect.get(target, name, receiver)),
    });

    // act
    const report = await runSweep(depsWith({ store: failing }), { full: false });

    // assess
    expect(report.markedStale).not.toContain(session.run_id);
    expect(report.errors).toContainEqual({
      run_id: '(beats)',
      error: 'ProvisionedThroughputExceededException',
    });
    expect((await runSweep(depsWith(), { full: false })).markedStale).toContain(session.run_id);
  });

  it('a beat after the session was marked stale takes it out of the suspects once its step is recent', async () => {
    clock.set(T0 + 10_800_000);
    const session = await runningSession(store, at(clock.now()));
    clock.advance((STALE_AFTER_S + 1) * 1000);
    expect((await runSweep(depsWith(), { full: false })).markedStale).toContain(session.run_id);
    await beatNow(session);

    const after = await store.listSilentSince(new Date(clock.now() - STALE_AFTER_S * 1000).toISOString());

    expect(after).not.toContain(session.run_id);
  });
});
