import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateClusterCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
} from '@aws-sdk/client-ecs';
import { ProcessPlatform } from '../../local/cloud/process-platform';
import { EcsContainerPlatform } from '../../shared/adapters/ecs/ecs-platform';
import type { ContainerRef } from '../../shared/domain/session';
import { MOTO_ACCOUNT, MOTO_REGION, startMotoServer } from '../support/moto-server';
import { containerPlatformContract } from './container-platform.contract';
import { createMotoNetwork } from './support/moto-ec2';

/** A stand-in container: reports its environment (one JSON line) and runs until SIGTERM. */
const CONTAINER_SCRIPT = `
const fs = require('node:fs');
fs.appendFileSync(process.env.REPORT_FILE, JSON.stringify(process.env) + '\\n');
process.on('SIGTERM', () => process.exit(0));
setInterval(() => undefined, 1000);
`;

const until = async <T>(read: () => Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
};

containerPlatformContract('processes (local cloud)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tradai-platform-contract-'));
  const report = join(dir, 'environments.jsonl');
  const platform = new ProcessPlatform({
    cluster: 'tradai-test',
    region: 'us-east-1',
    command: [process.execPath, '-e', CONTAINER_SCRIPT],
    tasksDir: join(dir, 'tasks'),
    tradeStoreDir: join(dir, 'trade-store'),
    baseEnvironment: { REPORT_FILE: report },
    registryFile: join(dir, 'services.json'),
    stopTimeoutMs: 5_000,
    onTaskStopped: () => undefined,
    log: () => undefined,
  });
  const runIdOf = (ref: ContainerRef) =>
    platform
      .tasks()
      .find((task) =>
        ref.launch_type === 'service'
          ? task.serviceName === ref.service_arn?.split('/').pop()
          : task.taskArn === ref.task_arn,
      )?.runId;
  return {
    platform,
    environmentOf: async (ref) => {
      const runId = await until(async () => runIdOf(ref), 'the task');
      return until(async () => {
        const lines = (await readFile(report, 'utf8').catch(() => '')).split('\n').filter(Boolean);
        return lines
          .map((line) => JSON.parse(line) as Record<string, string>)
          .find((environment) => environment.RUN_ID === runId);
      }, `the environment of ${runId}`);
    },
    wanted: async (ref) => runIdOf(ref) !== undefined,
    gone: (ref) => platform.containerGone(ref),
    unknownService: {
      platform: 'local',
      launch_type: 'service',
      cluster: 'tradai-test',
      service_arn: `arn:aws:ecs:us-east-1:000000000000:service/tradai-test/tradai-never-started-000001`,
    },
    close: async () => {
      await platform.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

/**
 * ECS on moto over HTTP. What moto 5.2.5 does not do, and so is not tested here:
 * - a service never places a task (no scheduler; runningCount stays 0), so a service's task running,
 *   being replaced when it exits, and draining on stop are covered by the process platform and by the
 *   aws-sdk-client-mock tests only;
 * - RunTask ignores clientToken: a retried RunTask starts a second task, where AWS answers the first
 *   (API reference, RunTask: clientToken "to ensure the idempotency of the request"). The adapter sends
 *   the token (ecs-platform.test.ts checks it); that AWS honours it cannot be shown here;
 * - capacity providers are not applied to services (moto reports launchType EC2 for a FARGATE_SPOT one);
 * - RunTask fails with an internal error (500) unless every container of the task definition has its own
 *   `memory`, which Fargate does not require (task-level memory is enough), so the base definition here
 *   sets it, and unless the VPC has DNS hostnames on (createMotoNetwork turns them on);
 * - no ECS task-state events reach EventBridge.
 */
containerPlatformContract(
  'ECS (moto over HTTP)',
  async () => {
    const moto = await startMotoServer();
    const client = new ECSClient(moto.clientConfig);
    await client.send(new CreateClusterCommand({ clusterName: 'tradai-test' }));
    const network = await createMotoNetwork(moto.endpoint);
    await client.send(
      new RegisterTaskDefinitionCommand({
        family: 'tradai-strategy',
        cpu: '1024',
        memory: '2048',
        networkMode: 'awsvpc',
        requiresCompatibilities: ['FARGATE'],
        containerDefinitions: [
          {
            name: 'strategy',
            image: 'public.ecr.aws/tradai/strategy:latest',
            essential: true,
            memory: 2048,
            environment: [{ name: 'STAGE', value: 'test' }],
            mountPoints: [{ sourceVolume: 'trade-store', containerPath: '/mnt/trade-store' }],
          },
        ],
        volumes: [{ name: 'trade-store', efsVolumeConfiguration: { fileSystemId: 'fs-00000000' } }],
      }),
    );
    const platform = new EcsContainerPlatform(client, {
      cluster: 'tradai-test',
      taskDefinition: 'tradai-strategy',
      containerName: 'strategy',
      subnets: [network.subnet],
      securityGroups: [network.securityGroup],
      allowSpot: true,
    });
    const serviceOf = async (ref: ContainerRef) =>
      (
        await client.send(
          new DescribeServicesCommand({ cluster: ref.cluster, services: [ref.service_arn ?? ''] }),
        )
      ).services?.[0];
    const taskOf = async (ref: ContainerRef) =>
      (await client.send(new DescribeTasksCommand({ cluster: ref.cluster, tasks: [ref.task_arn ?? ''] })))
        .tasks?.[0];
    const asRecord = (variables: { name?: string; value?: string }[] | undefined) =>
      Object.fromEntries((variables ?? []).map(({ name, value }) => [name ?? '', value ?? '']));
    return {
      platform,
      environmentOf: async (ref) => {
        if (ref.launch_type === 'service') {
          const service = await serviceOf(ref);
          const { taskDefinition } = await client.send(
            new DescribeTaskDefinitionCommand({ taskDefinition: service?.taskDefinition }),
          );
          return asRecord(
            taskDefinition?.containerDefinitions?.find((c) => c.name === 'strategy')?.environment,
          );
        }
        const task = await taskOf(ref);
        const { taskDefinition } = await client.send(
          new DescribeTaskDefinitionCommand({ taskDefinition: task?.taskDefinitionArn }),
        );
        return {
          ...asRecord(taskDefinition?.containerDefinitions?.find((c) => c.name === 'strategy')?.environment),
          ...asRecord(task?.overrides?.containerOverrides?.find((c) => c.name === 'strategy')?.environment),
        };
      },
      wanted: async (ref) => {
        if (ref.launch_type === 'service') {
          const service = await serviceOf(ref);
          return service?.status === 'ACTIVE' && service.desiredCount === 1;
        }
        return (await taskOf(ref))?.desiredStatus === 'RUNNING';
      },
      gone: (ref) => platform.containerGone(ref),
      unknownService: {
        platform: 'ecs',
        launch_type: 'service',
        cluster: 'tradai-test',
        service_arn: `arn:aws:ecs:${MOTO_REGION}:${MOTO_ACCOUNT}:service/tradai-test/tradai-never-started-000001`,
      },
      close: async () => {
        client.destroy();
        await moto.close();
      },
    };
  },
  { servicesRunNoTasks: true, runTaskIgnoresClientToken: true },
);
