import {
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  ServiceNotFoundException,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EcsContainerPlatform } from '../../shared/adapters/ecs/ecs-platform';
import type { ContainerRef } from '../../shared/domain/session';

const CLUSTER = 'arn:aws:ecs:us-east-1:123456789012:cluster/tradai-test';
const SERVICE: ContainerRef = {
  platform: 'ecs',
  launch_type: 'service',
  cluster: CLUSTER,
  service_arn: 'arn:aws:ecs:us-east-1:123456789012:service/tradai-test/tradai-live-pascal-20260302-abc',
};
const taskArn = (id: string) => `arn:aws:ecs:us-east-1:123456789012:task/tradai-test/${id}`;
const TASK: ContainerRef = {
  platform: 'ecs',
  launch_type: 'task',
  cluster: CLUSTER,
  task_arn: taskArn('t-1'),
};

describe('EcsContainerPlatform.containerGone: the lock waits for it', () => {
  const client = new ECSClient({ region: 'us-east-1' });
  const ecs = mockClient(client);
  const platform = new EcsContainerPlatform(client, {
    cluster: CLUSTER,
    taskDefinition: 'tradai-strategy-test',
    containerName: 'strategy',
    subnets: ['subnet-1'],
    securityGroups: ['sg-1'],
  });
  beforeEach(() => ecs.reset());

  it('is false while a task of the service drains after the stop (desired STOPPED, last status DEACTIVATING)', async () => {
    // prepare
    ecs.on(ListTasksCommand, { desiredStatus: 'RUNNING' }).resolves({ taskArns: [] });
    ecs.on(ListTasksCommand, { desiredStatus: 'STOPPED' }).resolves({ taskArns: [taskArn('t-2')] });
    ecs
      .on(DescribeTasksCommand)
      .resolves({ tasks: [{ taskArn: taskArn('t-2'), lastStatus: 'DEACTIVATING' }] });

    // act + assess
    expect(await platform.containerGone(SERVICE)).toBe(false);
    const listed = ecs.commandCalls(ListTasksCommand).map((call) => call.args[0].input);
    expect(listed).toEqual([
      { cluster: CLUSTER, serviceName: 'tradai-live-pascal-20260302-abc', desiredStatus: 'RUNNING' },
      { cluster: CLUSTER, serviceName: 'tradai-live-pascal-20260302-abc', desiredStatus: 'STOPPED' },
    ]);
  });

  it('is false while a replacement task still runs, true once every task is STOPPED', async () => {
    // prepare
    ecs.on(ListTasksCommand, { desiredStatus: 'RUNNING' }).resolves({ taskArns: [taskArn('t-3')] });
    ecs.on(ListTasksCommand, { desiredStatus: 'STOPPED' }).resolves({ taskArns: [taskArn('t-2')] });
    ecs
      .on(DescribeTasksCommand)
      .resolvesOnce({
        tasks: [
          { taskArn: taskArn('t-3'), lastStatus: 'RUNNING' },
          { taskArn: taskArn('t-2'), lastStatus: 'STOPPED' },
        ],
      })
      .resolves({
        tasks: [
          { taskArn: taskArn('t-3'), lastStatus: 'STOPPED' },
          { taskArn: taskArn('t-2'), lastStatus: 'STOPPED' },
        ],
      });

    // act + assess
    expect(await platform.containerGone(SERVICE)).toBe(false);
    expect(await platform.containerGone(SERVICE)).toBe(true);
  });

  it('is true for a service ECS no longer knows, and for a service with no tasks left', async () => {
    // prepare
    ecs.on(ListTasksCommand).rejectsOnce(new ServiceNotFoundException({ message: 'gone', $metadata: {} }));
    ecs.on(ListTasksCommand).resolves({ taskArns: [] });

    // act + assess
    expect(await platform.containerGone(SERVICE)).toBe(true);
    expect(ecs.commandCalls(DescribeTasksCommand)).toHaveLength(0);
  });

  it('follows a one-shot task by its own status', async () => {
    // prepare
    ecs
      .on(DescribeTasksCommand)
      .resolvesOnce({ tasks: [{ lastStatus: 'STOPPING' }] })
      .resolves({ tasks: [] });

    // act + assess
    expect(await platform.containerGone(TASK)).toBe(false);
    expect(await platform.containerGone(TASK)).toBe(true);
  });

  it('lets a throttled ListTasks fail the check rather than call the container gone', async () => {
    // prepare
    ecs
      .on(ListTasksCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

    // act + assess
    await expect(platform.containerGone(SERVICE)).rejects.toThrow('Rate exceeded');
  });
});
