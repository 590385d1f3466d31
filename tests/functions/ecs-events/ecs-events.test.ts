import { DescribeTasksCommand, ListTasksCommand } from '@aws-sdk/client-ecs';
import { PublishCommand } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHandler, type EcsEventsDeps } from '../../../functions/ecs-events/handler';
import type { DynamoSessionStore } from '../../../shared/adapters/dynamodb/session-store';
import { ManualClock } from '../../../shared/domain/clock';
import { InvalidInputError } from '../../../shared/domain/errors';
import { InMemoryDedupLedger } from '../../../shared/runtime/events-dedup';
import {
  ACCOUNT,
  awsAdapters,
  CLUSTER,
  CLUSTER_ARN,
  lambdaContext,
  REGION,
  runningSession,
  silentLogger,
} from '../../adapters/support/workflow-fixtures';
import { startTestDynamo, type TestDynamo } from '../../support/dynamo';

const taskArn = (id: string) => `arn:aws:ecs:${REGION}:${ACCOUNT}:task/${CLUSTER}/${id}`;

const stoppedEvent = (detail: Record<string, unknown>) => ({
  version: '0',
  id: 'e0a3f1c2-0000-4000-8000-000000000001',
  'detail-type': 'ECS Task State Change',
  source: 'aws.ecs',
  account: ACCOUNT,
  time: '2026-03-02T10:05:00Z',
  region: REGION,
  resources: [detail.taskArn],
  detail: {
    clusterArn: CLUSTER_ARN,
    lastStatus: 'STOPPED',
    desiredStatus: 'STOPPED',
    stoppedReason: 'Essential container in task exited',
    stopCode: 'EssentialContainerExited',
    containers: [{ name: 'strategy', exitCode: 137, lastStatus: 'STOPPED' }],
    ...detail,
  },
});

describe('Handler: ecs-events', () => {
  let dynamo: TestDynamo;
  let store: DynamoSessionStore;
  const clock = new ManualClock('2026-03-02T10:05:00.000Z');
  const adapters = awsAdapters();
  const sns = mockClient(adapters.sns);
  const ecs = mockClient(adapters.ecs);
  let handler: ReturnType<typeof createHandler>;
  const invoke = (event: unknown) => handler(event, lambdaContext('ecs-events'));

  beforeAll(async () => {
    dynamo = await startTestDynamo();
    store = dynamo.newStore(clock);
    const deps: EcsEventsDeps = {
      store,
      platform: adapters.platform,
      alerts: adapters.alerts,
      ledger: new InMemoryDedupLedger(),
      clock,
      logger: silentLogger(),
    };
    handler = createHandler(deps);
  });

  afterAll(async () => {
    await dynamo.close();
  });

  beforeEach(() => {
    sns.reset();
    ecs.reset();
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
  });

  it('records a restart and warns once when a service task stops unexpectedly', async () => {
    // prepare
    const session = await runningSession(store, '2026-03-02T10:00:00.000Z');
    const event = stoppedEvent({
      taskArn: taskArn('t-1'),
      group: `service:tradai-${session.run_id}`,
      startedBy: 'ecs-svc/1',
    });

    // act
    const first = await invoke(event);
    const second = await invoke(event);

    // assess
    expect(first).toEqual({ outcome: 'restarting', run_id: session.run_id });
    expect(second).toEqual({ outcome: 'restarting', run_id: session.run_id });
    const after = await store.get(session.run_id);
    expect(after?.status).toBe('running');
    expect(after?.status_reason).toBe(
      'restarting: Essential container in task exited; stopCode EssentialContainerExited; strategy exit code 137',
    );
    const pages = sns.commandCalls(PublishCommand).map((call) => call.args[0].input);
    expect(pages).toHaveLength(1);
    expect(pages[0]?.MessageAttributes?.severity?.StringValue).toBe('WARNING');
    expect(pages[0]?.Message).toContain('exit code 137');
  });

  it('fails a one-shot session whose task stopped, with the stop reason and exit code', async () => {
    // prepare
    const task = taskArn('t-2');
    const session = await runningSession(store, '2026-03-02T10:00:00.000Z', 'backtest', {
      platform: 'ecs',
      launch_type: 'task',
      cluster: CLUSTER_ARN,
      task_arn: task,
    });
    const event = stoppedEvent({
      taskArn: task,
      group: 'family:tradai-strategy-test',
      startedBy: `tradai/${session.run_id}`,
      stopCode: 'SpotInterruption',
      stoppedReason: 'Your Spot Task was interrupted.',
      containers: [{ name: 'strategy', exitCode: 143 }],
    });

    // act
    const result = await invoke(event);

    // assess
    expect(result).toEqual({ outcome: 'failed', run_id: session.run_id });
    const after = await store.get(session.run_id);
    expect(after?.status).toBe('failed');
    expect(after?.status_reason).toContain('Your Spot Task was interrupted.; stopCode SpotInterruption');
    expect(after?.status_reason).toContain('exit code 143');
  });

  it('finds the run id in the environment overrides when the task has no tell-tale group', async () => {
    // prepare
    const task = taskArn('t-3');
    const session = await runningSession(store, '2026-03-02T10:00:00.000Z', 'hyperopt', {
      platform: 'ecs',
      launch_type: 'task',
      cluster: CLUSTER_ARN,
      task_arn: task,
    });
    const event = stoppedEvent({
      taskArn: task,
      overrides: {
        containerOverrides: [{ name: 'strategy', environment: [{ name: 'RUN_ID', value: session.run_id }] }],
      },
    });

    // act
    const result = await invoke(event);

    // assess
    expect(result).toEqual({ outcome: 'failed', run_id: session.run_id });
  });

  it('ignores the stop of a session that is already on its way out', async () => {
    // prepare
    const session = await runningSession(store, '2026-03-02T10:00:00.000Z');
    await store.setDesiredState(session.run_id, 'stopped', 'operator stop');

    // act
    const result = await invoke(
      stoppedEvent({ taskArn: taskArn('t-4'), group: `service:tradai-${session.run_id}` }),
    );

    // assess
    expect(result).toMatchObject({ outcome: 'ignored' });
    expect((await store.get(session.run_id))?.status).toBe('stopping');
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
  });

  it('frees the lock of a stopped session once ECS reports its last task STOPPED (lock freed before the container is gone)', async () => {
    // prepare: the session was force-stopped while its task was still draining, so the lock is still held
    const session = await runningSession(store, '2026-03-02T10:00:00.000Z');
    await store.setDesiredState(session.run_id, 'stopped', 'operator stop');
    await store.transition(session.run_id, 'stopped', { from: ['stopping'] });
    const task = taskArn('t-6');
    ecs.on(ListTasksCommand).resolves({ taskArns: [task] });
    ecs.on(DescribeTasksCommand).resolves({ tasks: [{ taskArn: task, lastStatus: 'STOPPED' }] });

    // act
    const result = await invoke(stoppedEvent({ taskArn: task, group: `service:tradai-${session.run_id}` }));

    // assess
    expect(result).toEqual({ outcome: 'released', run_id: session.run_id });
    expect((await store.getLock(session.strategy_id))?.active_run_id).toBeNull();
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
  });

  it('keeps the lock of a stopped session while another of its tasks still runs', async () => {
    // prepare
    const session = await runningSession(store, '2026-03-02T10:00:00.000Z');
    await store.setDesiredState(session.run_id, 'stopped', 'operator stop');
    await store.transition(session.run_id, 'stopped', { from: ['stopping'] });
    ecs.on(ListTasksCommand).resolves({ taskArns: [taskArn('t-7'), taskArn('t-8')] });
    ecs.on(DescribeTasksCommand).resolves({
      tasks: [
        { taskArn: taskArn('t-7'), lastStatus: 'STOPPED' },
        { taskArn: taskArn('t-8'), lastStatus: 'DEACTIVATING' },
      ],
    });

    // act
    const result = await invoke(
      stoppedEvent({ taskArn: taskArn('t-7'), group: `service:tradai-${session.run_id}` }),
    );

    // assess
    expect(result).toMatchObject({ outcome: 'ignored' });
    expect((await store.getLock(session.strategy_id))?.active_run_id).toBe(session.run_id);
  });

  it('ignores tasks that are not TradAI sessions', async () => {
    // act
    const result = await invoke(stoppedEvent({ taskArn: taskArn('t-5'), group: 'service:someone-else' }));

    // assess
    expect(result).toEqual({ outcome: 'ignored', why: 'not a TradAI session task' });
  });

  it('refuses anything that is not an ECS task state change, and never crashes on junk', async () => {
    // act + assess
    await expect(invoke({ source: 'aws.ec2' })).rejects.toBeInstanceOf(InvalidInputError);
    await fc.assert(
      fc.asyncProperty(fc.anything(), async (junk) => {
        await expect(invoke(junk)).rejects.toBeInstanceOf(InvalidInputError);
      }),
      { numRuns: 50 },
    );
  });
});
