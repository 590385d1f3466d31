import {
  CreateServiceCommand,
  DeleteServiceCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  InvalidParameterException,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  ServiceNotFoundException,
  StopTaskCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EcsContainerPlatform } from '../../shared/adapters/ecs/ecs-platform';
import { ContainerCapacityError, ContainerStartError } from '../../shared/adapters/ecs/errors';
import { clientTokenOf, runIdOfTask, serviceNameOf } from '../../shared/adapters/ecs/naming';
import type { ContainerSpec } from '../../shared/domain/ports';
import type { TradingMode } from '../../shared/domain/session';

const CLUSTER = 'arn:aws:ecs:us-east-1:123456789012:cluster/tradai-test';
const SERVICE_ARN = 'arn:aws:ecs:us-east-1:123456789012:service/tradai-test/tradai-live-pascal-20260302-abc';
const TASK_ARN = 'arn:aws:ecs:us-east-1:123456789012:task/tradai-test/0123456789abcdef';

const spec = (mode: TradingMode, runId = `${mode}-pascal-20260302100000-abc`): ContainerSpec => ({
  run_id: runId,
  strategy_id: 'pascal',
  strategy_name: 'PascalStrategy',
  trading_mode: mode,
  environment: { STRATEGY: 'PascalStrategy', STRATEGY_ID: 'pascal', RUN_ID: runId, TRADING_MODE: mode },
});

/** serverless.yml's EFS volume: the trade store's access point, TLS and IAM authorization. */
const TRADE_STORE_VOLUME = {
  name: 'trade-store',
  efsVolumeConfiguration: {
    fileSystemId: 'fs-0123456789abcdef0',
    transitEncryption: 'ENABLED' as const,
    authorizationConfig: { accessPointId: 'fsap-0123456789abcdef0', iam: 'ENABLED' as const },
  },
};

const awsError = <E extends Error>(
  ErrorClass: new (opts: { message: string; $metadata: object }) => E,
  message: string,
) => new ErrorClass({ message, $metadata: {} });

describe('Adapter: EcsContainerPlatform', () => {
  const client = new ECSClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  const ecs = mockClient(client);
  const platform = new EcsContainerPlatform(client, {
    cluster: CLUSTER,
    taskDefinition: 'tradai-strategy-test',
    containerName: 'strategy',
    subnets: ['subnet-a', 'subnet-b'],
    securityGroups: ['sg-1'],
    allowSpot: true,
    tags: { stage: 'test' },
  });

  beforeEach(() => {
    ecs.reset();
    ecs.on(DescribeTaskDefinitionCommand).resolves({
      taskDefinition: {
        family: 'tradai-strategy-test',
        cpu: '1024',
        memory: '2048',
        networkMode: 'awsvpc',
        requiresCompatibilities: ['FARGATE'],
        executionRoleArn: 'arn:aws:iam::123456789012:role/exec',
        taskRoleArn: 'arn:aws:iam::123456789012:role/task',
        containerDefinitions: [
          {
            name: 'strategy',
            image: 'tradai:2',
            environment: [
              { name: 'DYNAMODB_TABLE', value: 'tradai-workflow-state-test' },
              { name: 'RUN_ID', value: 'stale-from-an-older-revision' },
            ],
            mountPoints: [
              { sourceVolume: 'trade-store', containerPath: '/mnt/trade-store', readOnly: false },
            ],
          },
          { name: 'sidecar', image: 'otel:1' },
        ],
        volumes: [TRADE_STORE_VOLUME],
      },
    });
    ecs.on(RegisterTaskDefinitionCommand).resolves({
      taskDefinition: {
        taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/tradai-strategy-test-pascal:7',
      },
    });
  });

  it('runs a live session as a FARGATE service of exactly one task, never two at once', async () => {
    // prepare
    ecs.on(CreateServiceCommand).resolves({ service: { serviceArn: SERVICE_ARN } });

    // act
    const ref = await platform.startSession(spec('live'));

    // assess
    expect(ref).toEqual({
      platform: 'ecs',
      launch_type: 'service',
      cluster: CLUSTER,
      service_arn: SERVICE_ARN,
    });
    const input = ecs.commandCalls(CreateServiceCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      cluster: CLUSTER,
      serviceName: 'tradai-live-pascal-20260302100000-abc',
      taskDefinition: 'arn:aws:ecs:us-east-1:123456789012:task-definition/tradai-strategy-test-pascal:7',
      desiredCount: 1,
      launchType: 'FARGATE',
      deploymentConfiguration: { maximumPercent: 100, minimumHealthyPercent: 0 },
      availabilityZoneRebalancing: 'DISABLED',
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: ['subnet-a', 'subnet-b'],
          securityGroups: ['sg-1'],
          assignPublicIp: 'DISABLED',
        },
      },
      propagateTags: 'SERVICE',
    });
    expect(input?.capacityProviderStrategy).toBeUndefined();
    expect(input?.clientToken).toBe(clientTokenOf('live-pascal-20260302100000-abc'));
    expect(input?.clientToken?.length).toBeLessThanOrEqual(36);
    expect(input?.tags).toEqual(
      expect.arrayContaining([{ key: 'run_id', value: 'live-pascal-20260302100000-abc' }]),
    );
  });

  it('registers a per-strategy revision carrying the session environment, replacing stale values', async () => {
    // prepare
    ecs.on(CreateServiceCommand).resolves({ service: { serviceArn: SERVICE_ARN } });

    // act
    await platform.startSession(spec('live'));

    // assess
    const input = ecs.commandCalls(RegisterTaskDefinitionCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      family: 'tradai-strategy-test-pascal',
      cpu: '1024',
      memory: '2048',
      taskRoleArn: 'arn:aws:iam::123456789012:role/task',
    });
    const strategy = input?.containerDefinitions?.find((container) => container.name === 'strategy');
    expect(strategy?.environment).toEqual([
      { name: 'DYNAMODB_TABLE', value: 'tradai-workflow-state-test' },
      { name: 'STRATEGY', value: 'PascalStrategy' },
      { name: 'STRATEGY_ID', value: 'pascal' },
      { name: 'RUN_ID', value: 'live-pascal-20260302100000-abc' },
      { name: 'TRADING_MODE', value: 'live' },
      { name: 'TRADE_DB_URL', value: 'sqlite:////mnt/trade-store/pascal/tradesv3.live.sqlite' },
    ]);
    expect(
      input?.containerDefinitions?.find((container) => container.name === 'sidecar')?.environment,
    ).toBeUndefined();
  });

  it('mounts the durable trade store (EFS) in a live revision and points TRADE_DB_URL at the strategy folder on it (a task disk dies with the task)', async () => {
    // prepare
    ecs.on(CreateServiceCommand).resolves({ service: { serviceArn: SERVICE_ARN } });

    // act
    await platform.startSession(spec('live'));

    // assess
    const input = ecs.commandCalls(RegisterTaskDefinitionCommand)[0]?.args[0].input;
    expect(input?.volumes).toEqual([TRADE_STORE_VOLUME]);
    const strategy = input?.containerDefinitions?.find((container) => container.name === 'strategy');
    expect(strategy?.mountPoints).toEqual([
      { sourceVolume: 'trade-store', containerPath: '/mnt/trade-store', readOnly: false },
    ]);
    expect(strategy?.environment).toContainEqual({
      name: 'TRADE_DB_URL',
      value: 'sqlite:////mnt/trade-store/pascal/tradesv3.live.sqlite',
    });
  });

  it('keeps the dry-run database of a strategy apart from its live one on the same store', async () => {
    // prepare
    ecs.on(CreateServiceCommand).resolves({ service: { serviceArn: SERVICE_ARN } });

    // act
    await platform.startSession(spec('dry-run'));

    // assess
    const input = ecs.commandCalls(RegisterTaskDefinitionCommand)[0]?.args[0].input;
    const strategy = input?.containerDefinitions?.find((container) => container.name === 'strategy');
    expect(strategy?.environment).toContainEqual({
      name: 'TRADE_DB_URL',
      value: 'sqlite:////mnt/trade-store/pascal/tradesv3.dry-run.sqlite',
    });
  });

  it('refuses a live session when the task definition mounts no trade store, before any service exists', async () => {
    // prepare
    ecs.on(DescribeTaskDefinitionCommand).resolves({
      taskDefinition: {
        family: 'tradai-strategy-test',
        containerDefinitions: [{ name: 'strategy', image: 'tradai:2' }],
      },
    });

    // act
    const attempt = platform.startSession(spec('live'));

    // assess
    await expect(attempt).rejects.toBeInstanceOf(ContainerStartError);
    await expect(attempt).rejects.toThrow(/trade-store/);
    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
    expect(ecs.commandCalls(CreateServiceCommand)).toHaveLength(0);
  });

  it('hands a one-shot task no trade store (a backtest keeps no positions)', async () => {
    // prepare
    ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: TASK_ARN }] });

    // act
    await platform.startSession(spec('backtest'));

    // assess
    const overrides = ecs.commandCalls(RunTaskCommand)[0]?.args[0].input.overrides;
    const names = overrides?.containerOverrides?.[0]?.environment?.map((variable) => variable.name);
    expect(names).not.toContain('TRADE_DB_URL');
  });

  it('allows Fargate Spot for dry-run sessions', async () => {
    // prepare
    ecs.on(CreateServiceCommand).resolves({ service: { serviceArn: SERVICE_ARN } });

    // act
    await platform.startSession(spec('dry-run'));

    // assess
    const input = ecs.commandCalls(CreateServiceCommand)[0]?.args[0].input;
    expect(input?.launchType).toBeUndefined();
    expect(input?.capacityProviderStrategy).toEqual([{ capacityProvider: 'FARGATE_SPOT', weight: 1 }]);
  });

  it('reuses the service of a retried launch when it already exists and is active', async () => {
    // prepare
    ecs
      .on(CreateServiceCommand)
      .rejects(awsError(InvalidParameterException, 'Creation of service was not idempotent.'));
    ecs.on(DescribeServicesCommand).resolves({
      services: [
        {
          serviceName: serviceNameOf('live-pascal-20260302100000-abc'),
          serviceArn: SERVICE_ARN,
          status: 'ACTIVE',
        },
      ],
    });

    // act
    const ref = await platform.startSession(spec('live'));

    // assess
    expect(ref.service_arn).toBe(SERVICE_ARN);
  });

  it('refuses to reuse a service that is draining', async () => {
    // prepare
    ecs.on(CreateServiceCommand).rejects(awsError(InvalidParameterException, 'Service already exists.'));
    ecs.on(DescribeServicesCommand).resolves({
      services: [
        {
          serviceName: serviceNameOf('live-pascal-20260302100000-abc'),
          serviceArn: SERVICE_ARN,
          status: 'DRAINING',
        },
      ],
    });

    // act + assess
    await expect(platform.startSession(spec('live'))).rejects.toBeInstanceOf(ContainerStartError);
  });

  it('runs one-shot modes as a task with the session environment, named after the run', async () => {
    // prepare
    ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: TASK_ARN }] });
    const runId = `backtest-${'x'.repeat(60)}-abc`;

    // act
    const ref = await platform.startSession(spec('backtest', runId));

    // assess
    expect(ref).toEqual({ platform: 'ecs', launch_type: 'task', cluster: CLUSTER, task_arn: TASK_ARN });
    const input = ecs.commandCalls(RunTaskCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      cluster: CLUSTER,
      taskDefinition: 'tradai-strategy-test',
      count: 1,
      startedBy: `tradai/${runId}`,
      capacityProviderStrategy: [{ capacityProvider: 'FARGATE_SPOT', weight: 1 }],
    });
    expect(input?.startedBy?.length).toBeLessThanOrEqual(128);
    expect(input?.clientToken?.length).toBeLessThanOrEqual(64);
    expect(input?.overrides?.containerOverrides?.[0]?.environment).toContainEqual({
      name: 'RUN_ID',
      value: runId,
    });
    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
  });

  it('reports missing capacity as retryable and other refusals as final', async () => {
    // prepare
    ecs
      .on(RunTaskCommand)
      .resolvesOnce({
        failures: [{ reason: 'Capacity is unavailable at this time. Please try again later.' }],
      })
      .resolvesOnce({ failures: [{ reason: 'MISSING', detail: 'bad image' }] })
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

    // act + assess
    await expect(platform.startSession(spec('backtest'))).rejects.toBeInstanceOf(ContainerCapacityError);
    await expect(platform.startSession(spec('backtest'))).rejects.toBeInstanceOf(ContainerStartError);
    await expect(platform.startSession(spec('backtest'))).rejects.toMatchObject({
      name: 'ContainerCapacityError',
    });
  });

  it('stops a service by scaling it to zero and deleting it', async () => {
    // prepare
    ecs.on(UpdateServiceCommand).resolves({});
    ecs.on(DeleteServiceCommand).resolves({});

    // act
    await platform.stopSession(
      { platform: 'ecs', launch_type: 'service', cluster: CLUSTER, service_arn: SERVICE_ARN },
      'stop',
    );

    // assess
    expect(ecs.commandCalls(UpdateServiceCommand)[0]?.args[0].input).toEqual({
      cluster: CLUSTER,
      service: SERVICE_ARN,
      desiredCount: 0,
    });
    expect(ecs.commandCalls(DeleteServiceCommand)[0]?.args[0].input).toEqual({
      cluster: CLUSTER,
      service: SERVICE_ARN,
      force: true,
    });
  });

  it('treats stopping a service that is already gone as done', async () => {
    // prepare
    ecs.on(UpdateServiceCommand).rejects(awsError(ServiceNotFoundException, 'Service not found.'));
    ecs.on(DeleteServiceCommand).rejects(awsError(ServiceNotFoundException, 'Service not found.'));

    // act + assess
    await expect(
      platform.stopSession(
        { platform: 'ecs', launch_type: 'service', cluster: CLUSTER, service_arn: SERVICE_ARN },
        'stop',
      ),
    ).resolves.toBeUndefined();
  });

  it('stops a running task with a bounded reason and leaves a stopped one alone', async () => {
    // prepare
    ecs
      .on(DescribeTasksCommand)
      .resolvesOnce({ tasks: [{ lastStatus: 'RUNNING' }] })
      .resolvesOnce({ tasks: [{ lastStatus: 'STOPPED' }] });
    ecs.on(StopTaskCommand).resolves({});
    const ref = { platform: 'ecs', launch_type: 'task', cluster: CLUSTER, task_arn: TASK_ARN } as const;

    // act
    await platform.stopSession(ref, 'r'.repeat(400));
    await platform.stopSession(ref, 'again');

    // assess
    const calls = ecs.commandCalls(StopTaskCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input.reason).toHaveLength(255);
  });

  it('treats stopping a task ECS no longer knows as done', async () => {
    // prepare
    ecs.on(DescribeTasksCommand).resolves({ tasks: [], failures: [{ arn: TASK_ARN, reason: 'MISSING' }] });

    // act + assess
    await expect(
      platform.stopSession(
        { platform: 'ecs', launch_type: 'task', cluster: CLUSTER, task_arn: TASK_ARN },
        'stop',
      ),
    ).resolves.toBeUndefined();
    expect(ecs.commandCalls(StopTaskCommand)).toHaveLength(0);
  });
});

describe('ECS naming', () => {
  it('recovers the run id from a service group, a startedBy tag or the RUN_ID variable', () => {
    // assess
    expect(runIdOfTask({ group: 'service:tradai-live-pascal-1' })).toBe('live-pascal-1');
    expect(runIdOfTask({ startedBy: 'tradai/backtest-pascal-2' })).toBe('backtest-pascal-2');
    expect(runIdOfTask({ environment: [{ name: 'RUN_ID', value: 'train-pascal-3' }] })).toBe(
      'train-pascal-3',
    );
    expect(runIdOfTask({ group: 'service:other', startedBy: 'ecs-svc/1' })).toBeUndefined();
  });
});
