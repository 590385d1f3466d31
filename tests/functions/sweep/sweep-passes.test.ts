import { PublishCommand } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createHandler,
  PASS_BUDGET_MS,
  passesFromEnv,
  runSweep,
  runSweepInvocation,
  type SweepDeps,
} from '../../../functions/sweep/handler';
import type { DynamoSessionStore } from '../../../shared/adapters/dynamodb/session-store';
import { ManualClock } from '../../../shared/domain/clock';
import {
  awsAdapters,
  heartbeatOf,
  lambdaContext,
  runningSession,
} from '../../adapters/support/workflow-fixtures';
import { startTestDynamo, type TestDynamo } from '../../support/dynamo';
import { SWEEP_TIMINGS, sweepDepsOf } from './support';

const T0 = Date.parse('2026-05-04T10:00:00.000Z');
const at = (ms: number) => new Date(ms).toISOString();
const STALE_AFTER_S = 35;

describe('Sweep passes: sub-minute detection within the once-a-minute invocation', () => {
  let dynamo: TestDynamo;
  let store: DynamoSessionStore;
  const clock = new ManualClock(T0);
  const adapters = awsAdapters();
  const sns = mockClient(adapters.sns);
  const depsWith = (extra: Partial<SweepDeps> = {}) =>
    sweepDepsOf(store, clock, adapters, {
      timings: { ...SWEEP_TIMINGS, staleAfterS: STALE_AFTER_S },
      // The manual clock stands for the wait between passes.
      sleep: async (ms) => {
        clock.advance(ms);
      },
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

  it('marks a hung agent stale within the threshold plus one pass interval, inside one invocation (the next invocation was a minute away)', async () => {
    // prepare: an agent that heartbeats at T, then hangs; the invocation starts 1 s later
    clock.set(T0 + 3_600_000);
    const hung = await runningSession(store, at(clock.now()));
    const lastHeartbeatMs = clock.now();
    clock.advance(1_000);

    // act
    const report = await runSweepInvocation(
      depsWith({ passes: { everyMs: 5_000, runForMs: 50_000 } }),
      60_000,
    );

    // assess: one full pass and a pass every 5 s up to 50 s
    expect(report.passes).toBe(11);
    expect(report.markedStale).toContain(hung.run_id);
    const stale = await store.get(hung.run_id);
    expect(stale?.status).toBe('stale');
    const detectedAfterS = (Date.parse(stale?.status_changed_at ?? '') - lastHeartbeatMs) / 1000;
    expect(detectedAfterS).toBeGreaterThan(STALE_AFTER_S);
    expect(detectedAfterS).toBeLessThanOrEqual(STALE_AFTER_S + 5);
  });

  it('starts no pass past runForMs nor past the remaining time less the pass budget, so invocations never overlap', async () => {
    clock.set(T0 + 7_200_000);
    const deps = depsWith({ passes: { everyMs: 5_000, runForMs: 50_000 } });

    const short = await runSweepInvocation(deps, 20_000);
    const handled = await createHandler(deps)(
      {},
      { ...lambdaContext('sweep'), getRemainingTimeInMillis: () => 60_000 },
    );
    const single = await runSweepInvocation(depsWith(), 60_000);

    // 20 s left less the budget: passes at 0, 5 and 10 s.
    expect(short.passes).toBe(1 + Math.floor((20_000 - PASS_BUDGET_MS) / 5_000));
    expect(handled).toMatchObject({ passes: 11, errors: 0 });
    expect(single.passes).toBe(1);
  });

  it('takes its passes from SWEEP_PASS_EVERY_S and SWEEP_RUN_FOR_S, and refuses a pass interval longer than the run (naming the variable)', () => {
    expect(passesFromEnv({})).toEqual({ everyMs: 5_000, runForMs: 50_000 });
    expect(passesFromEnv({ SWEEP_RUN_FOR_S: '0' })).toBeUndefined();
    expect(() => passesFromEnv({ SWEEP_PASS_EVERY_S: '30', SWEEP_RUN_FOR_S: '20' })).toThrow(
      /SWEEP_PASS_EVERY_S/,
    );
    expect(() => passesFromEnv({ SWEEP_RUN_FOR_S: '59' })).toThrow(/SWEEP_RUN_FOR_S/);
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
