import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { PublishCommand } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSweep, type SweepDeps } from '../../../functions/sweep/handler';
import type { DynamoSessionStore } from '../../../shared/adapters/dynamodb/session-store';
import { ManualClock } from '../../../shared/domain/clock';
import type { Heartbeat } from '../../../shared/domain/heartbeat';
import type { ResumeRecord } from '../../../shared/domain/risk';
import {
  awsAdapters,
  healthySnapshot,
  heartbeatOf,
  runningSession,
} from '../../adapters/support/workflow-fixtures';
import { startTestDynamo, type TestDynamo } from '../../support/dynamo';
import { at, sweepDepsOf, T0 } from './support';

/** A heartbeat with today's loss, and the operator's resume as the agent recorded it. */
const losing = (
  session: { run_id: string },
  seq: number,
  seconds: number,
  dailyPnl: number,
  resumed: ResumeRecord | null = null,
): Heartbeat => {
  const heartbeat = heartbeatOf(session, seq, at(seconds), {
    pnlToday: dailyPnl,
    snapshot: { ...healthySnapshot, daily_pnl: dailyPnl },
  });
  return { ...heartbeat, risk: { ...heartbeat.risk, resumed } };
};

describe('Handler: sweep, the platform high-loss floor after a resume', () => {
  let dynamo: TestDynamo;
  let store: DynamoSessionStore;
  const clock = new ManualClock(T0);
  const adapters = awsAdapters();
  const ecs = mockClient(adapters.ecs);
  const sns = mockClient(adapters.sns);
  let deps: SweepDeps;

  beforeAll(async () => {
    dynamo = await startTestDynamo({ now: () => clock.now() });
    store = dynamo.newStore(clock);
    ecs.on(UpdateServiceCommand).resolves({});
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
    deps = sweepDepsOf(store, clock, adapters);
  });
  afterAll(async () => {
    await dynamo.close();
  });

  it('pauses again after a resume once a further floor is lost, and not at the accepted loss (off for the rest of the UTC day)', async () => {
    // prepare: the floor paused the session at -650 ...
    const session = await runningSession(store, at(0));
    clock.set(T0 + 10_000);
    await store.recordHeartbeat(losing(session, 2, 10, -650));
    const first = await runSweep(deps);
    // ... and the operator resumed it after review.
    clock.set(T0 + 60_000);
    await store.setDesiredState(session.run_id, 'running');
    const resumedAt = (await store.get(session.run_id))?.desired_state_changed_at ?? at(60);
    const resume: ResumeRecord = { at: resumedAt, daily_pnl: -650 };
    clock.set(T0 + 70_000);
    await store.recordHeartbeat(losing(session, 3, 70, -700, resume));
    // act
    const atAcceptedLoss = await runSweep(deps);
    clock.set(T0 + 80_000);
    await store.recordHeartbeat(losing(session, 4, 80, -1_200, resume));
    const afterFurtherLoss = await runSweep(deps);
    // assess
    expect(first.autoPaused).toEqual([session.run_id]);
    expect(atAcceptedLoss.autoPaused).toEqual([]);
    expect(afterFurtherLoss.autoPaused).toEqual([session.run_id]);
    expect((await store.get(session.run_id))?.desired_state).toBe('paused');
    const pages = sns.commandCalls(PublishCommand).map((call) => call.args[0].input);
    expect(pages.map((page) => page.MessageAttributes?.kind?.StringValue)).toEqual([
      'risk.high_loss',
      'risk.high_loss',
    ]);
  });
});
