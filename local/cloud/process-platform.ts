import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { EventBridgeEvent } from 'aws-lambda';
import * as z from 'zod';
import { serviceNameOf, startedByOf } from '../../shared/adapters/ecs/naming';
import type { ContainerPlatform, ContainerSpec } from '../../shared/domain/ports';
import {
  type ContainerRef,
  isServiceMode,
  StrategyIdSchema,
  TradingModeSchema,
} from '../../shared/domain/session';
import { tradeDbUrlOf } from '../../shared/domain/trade-store';

export const CONTAINER_NAME = 'strategy';

/** The `detail` of an EventBridge "ECS Task State Change" event, with the fields our handler reads. */
export interface EcsTaskStateDetail {
  clusterArn: string;
  taskArn: string;
  taskDefinitionArn: string;
  group: string;
  startedBy: string;
  lastStatus: 'STOPPED';
  desiredStatus: 'STOPPED';
  launchType: 'FARGATE';
  stopCode: 'EssentialContainerExited' | 'UserInitiated' | 'ServiceSchedulerInitiated';
  stoppedReason: string;
  createdAt: string;
  startedAt: string;
  stoppingAt: string;
  stoppedAt: string;
  containers: { name: string; taskArn: string; lastStatus: 'STOPPED'; exitCode?: number; reason?: string }[];
  overrides: { containerOverrides: { name: string; environment: { name: string; value: string }[] }[] };
}
export type EcsTaskStateChange = EventBridgeEvent<'ECS Task State Change', EcsTaskStateDetail>;

const SpecSchema = z.object({
  run_id: z.string(),
  // It names a folder in the trade store: the API's own rule, so no path can climb out of it.
  strategy_id: StrategyIdSchema,
  strategy_name: z.string(),
  trading_mode: TradingModeSchema,
  environment: z.record(z.string(), z.string()),
});
const RegistrySchema = z.object({
  services: z.array(
    z.object({
      serviceName: z.string(),
      spec: SpecSchema,
      createdAt: z.string(),
      pid: z.number().int().optional(),
    }),
  ),
});

interface RunningTask {
  taskArn: string;
  runId: string;
  serviceName?: string;
  child: ChildProcess;
  createdAt: string;
  stopRequested?: { reason: string; code: EcsTaskStateDetail['stopCode'] };
  exited: Promise<void>;
}

export interface ProcessPlatformOptions {
  cluster: string;
  region: string;
  /** How a container starts: the agent from source, e.g. [node, --import, tsx, container/agent/main.ts]. */
  command: readonly string[];
  /**
   * Each task gets a fresh folder `<tasksDir>/<task id>/` (its cwd and AGENT_WORK_DIR), removed
   * when the task ends: a replacement task starts with nothing on disk, as on Fargate's ephemeral storage.
   */
  tasksDir: string;
  /**
   * The durable per-strategy trade store (EFS in AWS): `<tradeStoreDir>/<strategy id>/`, handed to
   * live and dry-run tasks as TRADE_DB_URL. It outlives tasks, so a replacement finds the open trades.
   */
  tradeStoreDir?: string;
  /** Endpoints, credentials and local file sources every container gets, as a task definition would. */
  baseEnvironment: Record<string, string>;
  /** Services outlive the local cloud process (as in ECS); this file remembers them. */
  registryFile?: string;
  logDir?: string;
  /** ECS waits this long for SIGTERM to end a task before SIGKILL (stopTimeout, default 30 s). */
  stopTimeoutMs?: number;
  /**
   * Whether stopSession waits for the tasks to exit (default true). ECS's StopTask and DeleteService return
   * at once while the task drains up to its StopTimeout; the local cloud passes false to behave the same,
   * so what frees a lock must ask containerGone or wait for the STOPPED event, as in AWS.
   */
  awaitStop?: boolean;
  /** How the service scheduler spaces replacement tasks after repeated failures. */
  restartDelayMs?: (consecutiveFailures: number) => number;
  onTaskStopped: (event: EcsTaskStateChange) => void;
  log: (line: string) => void;
}

const killGroup = (pid: number | undefined, signal: NodeJS.Signals): void => {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
};

/**
 * ECS stood in by child processes: a live or dry-run session is a service whose one task is replaced when
 * it exits (as the service scheduler does), a one-shot session is a task; every task exit emits the same
 * "ECS Task State Change" event ECS sends to EventBridge.
 */
export class ProcessPlatform implements ContainerPlatform {
  readonly #options: ProcessPlatformOptions;
  readonly #services = new Map<
    string,
    { spec: ContainerSpec; createdAt: string; failures: number; pid?: number }
  >();
  readonly #tasks = new Map<string, RunningTask>();
  readonly #pendingRestarts = new Map<string, NodeJS.Timeout>();
  #closing = false;
  #saving: Promise<void> = Promise.resolve();

  constructor(options: ProcessPlatformOptions) {
    this.#options = options;
  }

  get clusterArn(): string {
    return `arn:aws:ecs:${this.#options.region}:000000000000:cluster/${this.#options.cluster}`;
  }

  /** Brings back the services that existed when the local cloud last stopped, each with one new task. */
  async restore(keep: (runId: string) => boolean = () => true): Promise<string[]> {
    if (this.#options.registryFile === undefined) return [];
    let saved: z.infer<typeof RegistrySchema>;
    try {
      saved = RegistrySchema.parse(JSON.parse(await readFile(this.#options.registryFile, 'utf8')));
    } catch {
      return [];
    }
    // A task left running by a control plane that died is ended first: never two agents for one run.
    for (const service of saved.services) if (service.pid !== undefined) await this.#endOrphan(service.pid);
    // Their work folders went with them (a new ECS task never sees an old task's disk).
    await this.#removeLeftoverTaskFolders();
    // `keep` says no for a session that is over or whose launch was cut short: no task, and the service is
    // dropped from the registry, so it never gets a container again.
    const kept = saved.services.filter((service) => keep(service.spec.run_id));
    for (const service of kept) {
      this.#services.set(service.serviceName, {
        spec: service.spec,
        createdAt: service.createdAt,
        failures: 0,
      });
      this.#startTask(service.spec, service.serviceName);
    }
    if (kept.length < saved.services.length) await this.#saveRegistry();
    return kept.map((service) => service.spec.run_id);
  }

  async startSession(spec: ContainerSpec): Promise<ContainerRef> {
    if (isServiceMode(spec.trading_mode)) {
      const serviceName = serviceNameOf(spec.run_id);
      // Idempotent like CreateService with the same client token: the existing service is the answer.
      if (!this.#services.has(serviceName)) {
        this.#services.set(serviceName, { spec, createdAt: new Date().toISOString(), failures: 0 });
        this.#startTask(spec, serviceName);
        // Saved with the task's pid, so a later start can end it if this process dies.
        await this.#saveRegistry();
      }
      return {
        platform: 'local',
        launch_type: 'service',
        cluster: this.clusterArn,
        service_arn: this.#serviceArn(serviceName),
      };
    }
    const existing = [...this.#tasks.values()].find((task) => task.runId === spec.run_id);
    const task = existing ?? this.#startTask(spec, undefined);
    return { platform: 'local', launch_type: 'task', cluster: this.clusterArn, task_arn: task.taskArn };
  }

  async stopSession(ref: ContainerRef, reason: string): Promise<void> {
    if (ref.launch_type === 'service') {
      const serviceName = ref.service_arn?.split('/').pop();
      if (serviceName === undefined) return;
      this.#services.delete(serviceName);
      clearTimeout(this.#pendingRestarts.get(serviceName));
      this.#pendingRestarts.delete(serviceName);
      await this.#saveRegistry();
      const tasks = [...this.#tasks.values()].filter((task) => task.serviceName === serviceName);
      const stopped = Promise.all(
        tasks.map((task) => this.#stopTask(task, reason, 'ServiceSchedulerInitiated')),
      );
      if (this.#options.awaitStop ?? true) await stopped;
      return;
    }
    const task = ref.task_arn === undefined ? undefined : this.#tasks.get(ref.task_arn);
    if (task === undefined) return;
    const stopped = this.#stopTask(task, reason, 'UserInitiated');
    if (this.#options.awaitStop ?? true) await stopped;
  }

  /** As ECS's DescribeTasks: true once no task of the service (or the task itself) is still running. */
  async containerGone(ref: ContainerRef): Promise<boolean> {
    const serviceName = ref.launch_type === 'service' ? ref.service_arn?.split('/').pop() : undefined;
    return ![...this.#tasks.values()].some((task) =>
      ref.launch_type === 'service' ? task.serviceName === serviceName : task.taskArn === ref.task_arn,
    );
  }

  /** Running tasks, for the console and tests. */
  tasks(): { taskArn: string; runId: string; pid: number | undefined; serviceName?: string }[] {
    return [...this.#tasks.values()].map((task) => ({
      taskArn: task.taskArn,
      runId: task.runId,
      pid: task.child.pid,
      ...(task.serviceName ? { serviceName: task.serviceName } : {}),
    }));
  }

  /** Ctrl-C: tasks stop gracefully, services stay registered and come back on the next start. */
  async close(): Promise<void> {
    this.#closing = true;
    for (const timer of this.#pendingRestarts.values()) clearTimeout(timer);
    await Promise.all(
      [...this.#tasks.values()].map((task) =>
        this.#stopTask(task, 'local cloud shutting down', 'UserInitiated'),
      ),
    );
  }

  #serviceArn(serviceName: string): string {
    return `arn:aws:ecs:${this.#options.region}:000000000000:service/${this.#options.cluster}/${serviceName}`;
  }

  #startTask(spec: ContainerSpec, serviceName: string | undefined): RunningTask {
    const taskId = randomUUID().replace(/-/g, '');
    const taskArn = `arn:aws:ecs:${this.#options.region}:000000000000:task/${this.#options.cluster}/${taskId}`;
    const [command, ...args] = this.#options.command;
    const workDir = join(this.#options.tasksDir, taskId);
    // Synchronous: the folder must exist before the process starts in it.
    mkdirSync(workDir, { recursive: true, mode: 0o700 });
    const environment = {
      ...this.#options.baseEnvironment,
      ...spec.environment,
      ...this.#tradeStoreEnvironment(spec),
      RUN_ID: spec.run_id,
      AGENT_ID: taskArn,
      // Not TMPDIR: tsx keeps its compile cache there, and compiled code is part of the image, which
      // every task shares; what a task writes at run time goes to its work folder.
      AGENT_WORK_DIR: workDir,
      ECS_CONTAINER_METADATA_URI_V4: '',
    };
    const child = spawn(command as string, args, {
      cwd: workDir,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...environment },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so the whole "container" (agent and Freqtrade) can be ended together.
      detached: true,
    });
    if (this.#options.logDir !== undefined) {
      const logFile = join(this.#options.logDir, `${spec.run_id}.log`);
      void mkdir(dirname(logFile), { recursive: true }).then(() => {
        const stream = createWriteStream(logFile, { flags: 'a' });
        child.stdout?.pipe(stream);
        child.stderr?.pipe(stream);
      });
    } else {
      child.stdout?.resume();
      child.stderr?.resume();
    }
    const createdAt = new Date().toISOString();
    let resolveExited: () => void = () => undefined;
    const task: RunningTask = {
      taskArn,
      runId: spec.run_id,
      ...(serviceName ? { serviceName } : {}),
      child,
      createdAt,
      exited: new Promise<void>((resolve) => {
        resolveExited = resolve;
      }),
    };
    this.#tasks.set(taskArn, task);
    const service = serviceName === undefined ? undefined : this.#services.get(serviceName);
    if (service !== undefined && child.pid !== undefined) {
      service.pid = child.pid;
      void this.#saveRegistry();
    }
    this.#options.log(
      `ecs: started task ${taskId} for ${spec.run_id}${serviceName ? ` (service ${serviceName})` : ''}`,
    );
    child.on('exit', (code, signal) => {
      // When a container's main process dies, nothing else in it survives: no orphaned Freqtrade trading on.
      killGroup(child.pid, 'SIGKILL');
      this.#tasks.delete(taskArn);
      this.#emitStopped(task, spec, code, signal);
      if (serviceName !== undefined) this.#replaceIfServiceLives(serviceName, task);
      // The task's disk goes with the task; only the trade store outlives it.
      void rm(workDir, { recursive: true, force: true, maxRetries: 3 })
        .catch((error: unknown) => this.#options.log(`ecs: could not remove ${workDir}: ${String(error)}`))
        .finally(resolveExited);
    });
    child.on('error', (error) => this.#options.log(`ecs: task ${taskId} could not start: ${String(error)}`));
    return task;
  }

  /** Live and dry-run tasks keep Freqtrade's trade database in the strategy's durable folder. */
  #tradeStoreEnvironment(spec: ContainerSpec): Record<string, string> {
    const root = this.#options.tradeStoreDir;
    if (root === undefined || !isServiceMode(spec.trading_mode)) return {};
    mkdirSync(join(root, spec.strategy_id), { recursive: true, mode: 0o700 });
    return { TRADE_DB_URL: tradeDbUrlOf(resolve(root), spec.strategy_id, spec.trading_mode) };
  }

  async #removeLeftoverTaskFolders(): Promise<void> {
    const running = new Set([...this.#tasks.keys()].map((arn) => arn.split('/').pop()));
    const entries = await readdir(this.#options.tasksDir).catch(() => [] as string[]);
    await Promise.all(
      entries
        .filter((entry) => !running.has(entry))
        .map((entry) => rm(join(this.#options.tasksDir, entry), { recursive: true, force: true })),
    );
  }

  #replaceIfServiceLives(serviceName: string, task: RunningTask): void {
    const service = this.#services.get(serviceName);
    if (service === undefined || this.#closing || task.stopRequested !== undefined) return;
    // Like the ECS scheduler's throttle: a task that ran a while resets the back-off.
    if (Date.now() - Date.parse(task.createdAt) > 60_000) service.failures = 0;
    service.failures += 1;
    const delay =
      this.#options.restartDelayMs?.(service.failures) ??
      Math.min(30_000, 1_000 * 2 ** (service.failures - 1));
    this.#options.log(`ecs: service ${serviceName} replaces its task in ${delay} ms`);
    this.#pendingRestarts.set(
      serviceName,
      setTimeout(() => {
        this.#pendingRestarts.delete(serviceName);
        if (this.#services.has(serviceName) && !this.#closing) this.#startTask(service.spec, serviceName);
      }, delay),
    );
  }

  async #stopTask(task: RunningTask, reason: string, code: EcsTaskStateDetail['stopCode']): Promise<void> {
    task.stopRequested ??= { reason, code };
    if (task.child.exitCode === null && task.child.signalCode === null) {
      task.child.kill('SIGTERM');
      const timer = setTimeout(() => task.child.kill('SIGKILL'), this.#options.stopTimeoutMs ?? 30_000);
      await task.exited;
      clearTimeout(timer);
    }
  }

  #emitStopped(
    task: RunningTask,
    spec: ContainerSpec,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): void {
    const now = new Date().toISOString();
    const requested = task.stopRequested;
    const exitCode = code ?? (signal === 'SIGKILL' ? 137 : 143);
    const detail: EcsTaskStateDetail = {
      clusterArn: this.clusterArn,
      taskArn: task.taskArn,
      taskDefinitionArn: `arn:aws:ecs:${this.#options.region}:000000000000:task-definition/tradai-strategy:1`,
      group: task.serviceName ? `service:${task.serviceName}` : 'family:tradai-strategy',
      startedBy: task.serviceName ? 'ecs-svc/local' : startedByOf(spec.run_id),
      lastStatus: 'STOPPED',
      desiredStatus: 'STOPPED',
      launchType: 'FARGATE',
      stopCode: requested?.code ?? 'EssentialContainerExited',
      stoppedReason: requested?.reason ?? 'Essential container in task exited',
      createdAt: task.createdAt,
      startedAt: task.createdAt,
      stoppingAt: now,
      stoppedAt: now,
      containers: [{ name: CONTAINER_NAME, taskArn: task.taskArn, lastStatus: 'STOPPED', exitCode }],
      overrides: {
        containerOverrides: [{ name: CONTAINER_NAME, environment: [{ name: 'RUN_ID', value: spec.run_id }] }],
      },
    };
    this.#options.log(
      `ecs: task ${task.taskArn.split('/').pop()} of ${spec.run_id} stopped (exit ${exitCode}, ${detail.stopCode})`,
    );
    this.#options.onTaskStopped({
      version: '0',
      id: randomUUID(),
      'detail-type': 'ECS Task State Change',
      source: 'aws.ecs',
      account: '000000000000',
      time: now,
      region: this.#options.region,
      resources: [task.taskArn],
      detail,
    });
  }

  async #endOrphan(pid: number): Promise<void> {
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    if (!alive()) return;
    this.#options.log(`ecs: ending task process ${pid} left over from an earlier run of the local cloud`);
    killGroup(pid, 'SIGTERM');
    const deadline = Date.now() + (this.#options.stopTimeoutMs ?? 30_000);
    while (alive() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    killGroup(pid, 'SIGKILL');
  }

  /** Saves run one after another, each writing the state as it is then, so an older save never wins. */
  #saveRegistry(): Promise<void> {
    this.#saving = this.#saving
      .then(() => this.#writeRegistry())
      .catch((error: unknown) => {
        this.#options.log(`ecs: could not save the services registry: ${String(error)}`);
      });
    return this.#saving;
  }

  async #writeRegistry(): Promise<void> {
    if (this.#options.registryFile === undefined) return;
    const services = [...this.#services.entries()].map(([serviceName, service]) => ({
      serviceName,
      spec: service.spec,
      createdAt: service.createdAt,
      ...(service.pid === undefined ? {} : { pid: service.pid }),
    }));
    await mkdir(dirname(this.#options.registryFile), { recursive: true });
    await writeFile(this.#options.registryFile, JSON.stringify({ services }, null, 2));
  }
}
