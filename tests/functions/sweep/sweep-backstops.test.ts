import {
  DeleteServiceCommand,
  DescribeTasksCommand,
  ListTasksCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { PublishCommand } from '@aws-sdk/client-sns';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runSweep, type SweepDeps } from '../../../functions/sweep/handler';
import type { DynamoSessionStore } from '../../../shared/adapters/dynamodb/session-store';
import { ManualClock } from '../../../shared/domain/clock';
import { awsAdapters, CLUSTER_ARN, runningSession } from '../../adapters/support/workflow-fixtures';
import { startTestDynamo, type TestDynamo } from '../../support/dynamo';
import { at, sweepDepsOf, T0 } from './support';

describe('Handler: sweep (corrupt items, lock backstop)', () => {
  let dynamo: TestDynamo;
  let store: DynamoSessionStore;
  const clock = new ManualClock(T0);
  const adapters = awsAdapters();
  const ecs = mockClient(adapters.ecs);
  const sns = mockClient(adapters.sns);
  let deps: SweepDeps;
  const pages = () =>
    sns.commandCalls(PublishCommand).map((call) => ({
      kind: call.args[0].input.MessageAttributes?.kind?.StringValue,
      severity: call.args[0].input.MessageAttributes?.severity?.StringValue,
      run_id: call.args[0].input.MessageAttributes?.run_id?.StringValue,
      message: call.args[0].input.Message ?? '',
    }));

  beforeAll(async () => {
    dynamo = await startTestDynamo({ now: () => clock.now() });
    store = dynamo.newStore(clock);
    deps = sweepDepsOf(store, clock, adapters, { pageSize: 5 });
  });

  afterAll(async () => {
    await dynamo.close();
  });

  beforeEach(() => {
    ecs.reset();
    sns.reset();
    ecs.on(UpdateServiceCommand).resolves({});
    ecs.on(DeleteServiceCommand).resolves({});
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
  });

  it('sweeps the rest of the fleet past a corrupt item, and pages the corrupt item once a day (one corrupt item stops the whole sweep)', async () => {
    // prepare: a silent session and, beside it in the status index, an item that fails the schema
    clock.set(T0);
    const silent = await runningSession(store, at(0));
    await dynamo.doc.send(
      new PutCommand({
        TableName: dynamo.tables.sessions,
        Item: {
          run_id: 'live-corrupt-000001',
          item_type: 'session',
          status: 'running',
          created_at: at(0),
          strategy_id: 'corrupt',
          heartbeat_seq: 'many',
        },
      }),
    );
    clock.set(T0 + 200_000);

    // act
    const report = await runSweep(deps);
    const again = await runSweep(deps);
    clock.set(T0 + 200_000 + 86_400_000);
    const nextDay = await runSweep(deps);

    // assess
    expect(report.markedStale).toContain(silent.run_id);
    expect(report.corrupt).toEqual(['live-corrupt-000001']);
    expect(again.corrupt).toEqual(['live-corrupt-000001']);
    expect(nextDay.corrupt).toEqual(['live-corrupt-000001']);
    const corruptPages = pages().filter((page) => page.kind === 'store.corrupt_item');
    expect(corruptPages).toHaveLength(2);
    expect(corruptPages[0]).toMatchObject({ severity: 'CRITICAL', run_id: 'live-corrupt-000001' });
    expect(corruptPages[0]?.message).toContain('heartbeat_seq');
    expect((await store.get(silent.run_id))?.status).toBe('stale');
  });

  it('frees the lock of a finished session once its container is gone, as the backstop of the ECS event', async () => {
    // prepare: stopped while ECS still drained its task, so teardown kept the lock; the STOPPED event was lost
    clock.set(T0);
    const session = await runningSession(store, at(0));
    await store.setDesiredState(session.run_id, 'stopped', 'operator stop');
    await store.transition(session.run_id, 'stopped', { from: ['stopping'] });
    const task = `${CLUSTER_ARN.replace(':cluster/', ':task/')}/t-draining`;
    ecs.on(ListTasksCommand).resolves({ taskArns: [task] });
    ecs.on(DescribeTasksCommand).resolves({ tasks: [{ taskArn: task, lastStatus: 'DEACTIVATING' }] });

    // act
    const whileDraining = await runSweep(deps);
    ecs.on(DescribeTasksCommand).resolves({ tasks: [{ taskArn: task, lastStatus: 'STOPPED' }] });
    const afterGone = await runSweep(deps);

    // assess
    expect(whileDraining.locksReleased).not.toContain(session.run_id);
    expect(afterGone.locksReleased).toEqual([session.run_id]);
    expect((await store.getLock(session.strategy_id))?.active_run_id).toBeNull();
  });
});
