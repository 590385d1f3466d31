import {
  type CapacityProviderStrategyItem,
  type ContainerDefinition,
  CreateServiceCommand,
  DeleteServiceCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  type ECSClient,
  type KeyValuePair,
  type LaunchType,
  ListTasksCommand,
  type NetworkConfiguration,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  type Tag,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import type { ContainerPlatform, ContainerSpec } from '../../domain/ports';
import { type ContainerRef, isServiceMode } from '../../domain/session';
import { tradeDbUrlOf } from '../../domain/trade-store';
import { ContainerCapacityError, ContainerPlatformError, ContainerStartError } from './errors';
import { clientTokenOf, serviceNameOf, startedByOf } from './naming';

export interface EcsPlatformOptions {
  /** Cluster name or ARN. */
  cluster: string;
  /** The base task definition (family, family:revision or ARN) that serverless.yml defines. */
  taskDefinition: string;
  /** The container in it that runs the agent. */
  containerName: string;
  subnets: readonly string[];
  securityGroups: readonly string[];
  assignPublicIp?: boolean;
  /** Fargate Spot for dry-run and one-shot modes; live money never runs on Spot (seed §9). */
  allowSpot?: boolean;
  /** Tags put on every service and task, beside run_id and strategy_id. */
  tags?: Readonly<Record<string, string>>;
}

const STOP_REASON_MAX = 255;

/** The task definition's volume that holds Freqtrade's trade databases (EFS in serverless.yml). */
export const TRADE_STORE_VOLUME = 'trade-store';

const nameOf = (error: unknown): string => (error instanceof Error ? error.name : '');
const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** ECS reports capacity trouble in RunTask `failures` and in a few exception messages. */
const CAPACITY = /capacity|RESOURCE:|insufficient|Throttl|Rate exceeded/i;

const isGone = (error: unknown): boolean =>
  ['ServiceNotFoundException', 'ServiceNotActiveException'].includes(nameOf(error)) ||
  (nameOf(error) === 'InvalidParameterException' &&
    /not found|not active|does not exist/i.test(messageOf(error)));

/**
 * ECS Fargate behind the ContainerPlatform port. Live and dry-run sessions are services of exactly one
 * task that is never auto-scaled (seed §9: a second instance would place conflicting orders); one-shot
 * modes are tasks. Every call is idempotent per run id.
 */
export class EcsContainerPlatform implements ContainerPlatform {
  readonly #client: ECSClient;
  readonly #options: EcsPlatformOptions;

  constructor(client: ECSClient, options: EcsPlatformOptions) {
    this.#client = client;
    this.#options = options;
  }

  async startSession(spec: ContainerSpec): Promise<ContainerRef> {
    try {
      return isServiceMode(spec.trading_mode) ? await this.#createService(spec) : await this.#runTask(spec);
    } catch (error) {
      if (error instanceof ContainerPlatformError) throw error;
      if (
        ['ThrottlingException', 'ServerException'].includes(nameOf(error)) ||
        CAPACITY.test(messageOf(error))
      ) {
        throw new ContainerCapacityError(`ECS could not start ${spec.run_id} now: ${messageOf(error)}`, {
          cause: error,
        });
      }
      throw new ContainerStartError(`ECS refused to start ${spec.run_id}: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }

  async stopSession(ref: ContainerRef, reason: string): Promise<void> {
    if (ref.launch_type === 'service') {
      const service = ref.service_arn;
      if (service === undefined) return;
      // Scale to zero first: a delete alone leaves the task draining while a replacement could start.
      await this.#ignoringGone(() =>
        this.#client.send(new UpdateServiceCommand({ cluster: ref.cluster, service, desiredCount: 0 })),
      );
      await this.#ignoringGone(() =>
        this.#client.send(new DeleteServiceCommand({ cluster: ref.cluster, service, force: true })),
      );
      return;
    }
    const task = ref.task_arn;
    if (task === undefined) return;
    const described = await this.#client.send(
      new DescribeTasksCommand({ cluster: ref.cluster, tasks: [task] }),
    );
    const current = described.tasks?.[0];
    if (current === undefined || current.lastStatus === 'STOPPED') return;
    await this.#ignoringGone(() =>
      this.#client.send(
        new StopTaskCommand({ cluster: ref.cluster, task, reason: reason.slice(0, STOP_REASON_MAX) }),
      ),
    );
  }

  async containerGone(ref: ContainerRef): Promise<boolean> {
    const tasks: string[] = [];
    if (ref.launch_type === 'service') {
      const serviceName = ref.service_arn?.split('/').pop();
      if (serviceName === undefined) return true;
      // Tasks asked to stop have desiredStatus STOPPED while they drain: both lists, then their lastStatus.
      for (const desiredStatus of ['RUNNING', 'STOPPED'] as const) {
        try {
          const listed = await this.#client.send(
            new ListTasksCommand({ cluster: ref.cluster, serviceName, desiredStatus }),
          );
          tasks.push(...(listed?.taskArns ?? []));
        } catch (error) {
          if (!isGone(error)) throw error;
        }
      }
    } else if (ref.task_arn !== undefined) {
      tasks.push(ref.task_arn);
    }
    if (tasks.length === 0) return true;
    // DescribeTasks takes at most 100 tasks; a one-task service never has more than a few.
    for (let start = 0; start < tasks.length; start += 100) {
      const described = await this.#client.send(
        new DescribeTasksCommand({ cluster: ref.cluster, tasks: tasks.slice(start, start + 100) }),
      );
      if ((described.tasks ?? []).some((task) => task.lastStatus !== 'STOPPED')) return false;
    }
    return true;
  }

  /** Stopping what is already gone is success: the port promises idempotent stops. */
  async #ignoringGone(call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
    } catch (error) {
      if (!isGone(error)) throw error;
    }
  }

  #network(): NetworkConfiguration {
    return {
      awsvpcConfiguration: {
        subnets: [...this.#options.subnets],
        securityGroups: [...this.#options.securityGroups],
        assignPublicIp: this.#options.assignPublicIp ? 'ENABLED' : 'DISABLED',
      },
    };
  }

  #tags(spec: ContainerSpec): Tag[] {
    return [
      ...Object.entries(this.#options.tags ?? {}).map(([key, value]) => ({ key, value })),
      { key: 'run_id', value: spec.run_id },
      { key: 'strategy_id', value: spec.strategy_id },
      { key: 'trading_mode', value: spec.trading_mode },
    ];
  }

  /** Live always FARGATE; other modes may use Spot where allowed. */
  #capacity(spec: ContainerSpec): {
    launchType?: LaunchType;
    capacityProviderStrategy?: CapacityProviderStrategyItem[];
  } {
    if (spec.trading_mode !== 'live' && this.#options.allowSpot) {
      return { capacityProviderStrategy: [{ capacityProvider: 'FARGATE_SPOT', weight: 1 }] };
    }
    return { launchType: 'FARGATE' };
  }

  #environment(spec: ContainerSpec): KeyValuePair[] {
    return Object.entries(spec.environment).map(([name, value]) => ({ name, value }));
  }

  async #createService(spec: ContainerSpec): Promise<ContainerRef> {
    const serviceName = serviceNameOf(spec.run_id);
    const taskDefinition = await this.#registerSessionRevision(spec);
    try {
      const created = await this.#client.send(
        new CreateServiceCommand({
          cluster: this.#options.cluster,
          serviceName,
          taskDefinition,
          desiredCount: 1,
          clientToken: clientTokenOf(spec.run_id),
          ...this.#capacity(spec),
          schedulingStrategy: 'REPLICA',
          // Never two tasks at once (no rolling overlap), and never moved between zones behind our back.
          deploymentConfiguration: { maximumPercent: 100, minimumHealthyPercent: 0 },
          availabilityZoneRebalancing: 'DISABLED',
          networkConfiguration: this.#network(),
          propagateTags: 'SERVICE',
          enableECSManagedTags: true,
          tags: this.#tags(spec),
        }),
      );
      const arn = created.service?.serviceArn;
      if (arn === undefined)
        throw new ContainerStartError(`CreateService returned no service for ${spec.run_id}`);
      return { platform: 'ecs', launch_type: 'service', cluster: this.#options.cluster, service_arn: arn };
    } catch (error) {
      if (
        nameOf(error) !== 'InvalidParameterException' ||
        !/already exists|not idempotent/i.test(messageOf(error))
      ) {
        throw error;
      }
      // A retried launch: the service of this run exists. Use it if it is still active.
      const described = await this.#client.send(
        new DescribeServicesCommand({ cluster: this.#options.cluster, services: [serviceName] }),
      );
      const existing = described.services?.find((service) => service.serviceName === serviceName);
      if (existing?.status !== 'ACTIVE' || existing.serviceArn === undefined) {
        throw new ContainerStartError(
          `service ${serviceName} exists but is ${existing?.status ?? 'missing'}: it cannot be reused`,
          { cause: error },
        );
      }
      return {
        platform: 'ecs',
        launch_type: 'service',
        cluster: this.#options.cluster,
        service_arn: existing.serviceArn,
      };
    }
  }

  /**
   * Services cannot override a task's environment, so each session gets its own revision of the base
   * definition with the session's variables; the family is per strategy, as in seed §9.
   */
  async #registerSessionRevision(spec: ContainerSpec): Promise<string> {
    const base = await this.#client.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: this.#options.taskDefinition }),
    );
    const definition = base.taskDefinition;
    if (definition?.containerDefinitions === undefined || definition.family === undefined) {
      throw new ContainerStartError(`task definition ${this.#options.taskDefinition} not found`);
    }
    // The task's disk goes with the task: Freqtrade's trades live on the trade store the definition mounts.
    const agent = definition.containerDefinitions.find((c) => c.name === this.#options.containerName);
    const mountPath = agent?.mountPoints?.find(
      (mount) => mount.sourceVolume === TRADE_STORE_VOLUME && mount.readOnly !== true,
    )?.containerPath;
    const mounted =
      mountPath !== undefined && (definition.volumes ?? []).some((v) => v.name === TRADE_STORE_VOLUME);
    if (!mounted && spec.trading_mode === 'live') {
      throw new ContainerStartError(
        `task definition ${this.#options.taskDefinition} mounts no writable volume ${TRADE_STORE_VOLUME}: ` +
          'a live session would lose its open positions with its task',
      );
    }
    const sessionEnvironment = [
      ...this.#environment(spec),
      ...(mounted && mountPath !== undefined
        ? [{ name: 'TRADE_DB_URL', value: tradeDbUrlOf(mountPath, spec.strategy_id, spec.trading_mode) }]
        : []),
    ];
    const names = new Set(sessionEnvironment.map((variable) => variable.name));
    const containerDefinitions: ContainerDefinition[] = definition.containerDefinitions.map((container) =>
      container.name !== this.#options.containerName
        ? container
        : {
            ...container,
            environment: [
              ...(container.environment ?? []).filter((variable) => !names.has(variable.name)),
              ...sessionEnvironment,
            ],
          },
    );
    if (!containerDefinitions.some((container) => container.name === this.#options.containerName)) {
      throw new ContainerStartError(`task definition has no container named ${this.#options.containerName}`);
    }
    const registered = await this.#client.send(
      new RegisterTaskDefinitionCommand({
        family: `${definition.family}-${spec.strategy_id}`,
        containerDefinitions,
        cpu: definition.cpu,
        memory: definition.memory,
        networkMode: definition.networkMode,
        requiresCompatibilities: definition.requiresCompatibilities,
        executionRoleArn: definition.executionRoleArn,
        taskRoleArn: definition.taskRoleArn,
        runtimePlatform: definition.runtimePlatform,
        volumes: definition.volumes,
        ephemeralStorage: definition.ephemeralStorage,
        tags: this.#tags(spec),
      }),
    );
    const arn = registered.taskDefinition?.taskDefinitionArn;
    if (arn === undefined)
      throw new ContainerStartError(`RegisterTaskDefinition returned no ARN for ${spec.run_id}`);
    return arn;
  }

  async #runTask(spec: ContainerSpec): Promise<ContainerRef> {
    const result = await this.#client.send(
      new RunTaskCommand({
        cluster: this.#options.cluster,
        taskDefinition: this.#options.taskDefinition,
        count: 1,
        clientToken: clientTokenOf(spec.run_id),
        startedBy: startedByOf(spec.run_id),
        ...this.#capacity(spec),
        networkConfiguration: this.#network(),
        overrides: {
          containerOverrides: [{ name: this.#options.containerName, environment: this.#environment(spec) }],
        },
        propagateTags: 'TASK_DEFINITION',
        enableECSManagedTags: true,
        tags: this.#tags(spec),
      }),
    );
    const task = result.tasks?.[0]?.taskArn;
    if (task !== undefined) {
      return { platform: 'ecs', launch_type: 'task', cluster: this.#options.cluster, task_arn: task };
    }
    const reasons = (result.failures ?? []).map(
      (failure) => `${failure.reason ?? 'unknown'}${failure.detail ? ` (${failure.detail})` : ''}`,
    );
    const summary = reasons.join('; ') || 'no task and no failure reported';
    if (CAPACITY.test(summary))
      throw new ContainerCapacityError(`no capacity for ${spec.run_id}: ${summary}`);
    throw new ContainerStartError(`RunTask failed for ${spec.run_id}: ${summary}`);
  }
}
