import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type EcsTaskStateChange, ProcessPlatform } from '../../../local/cloud/process-platform';
import type { ContainerSpec } from '../../../shared/domain/ports';

/** A stand-in container: exits with EXIT_CODE after EXIT_AFTER_MS, or runs until SIGTERM. */
const CONTAINER_SCRIPT = `
const code = Number(process.env.EXIT_CODE ?? '0');
const after = process.env.EXIT_AFTER_MS;
process.on('SIGTERM', () => process.exit(0));
if (after !== undefined) setTimeout(() => process.exit(code), Number(after));
else setInterval(() => undefined, 1000);
`;

const specOf = (
  runId: string,
  mode: ContainerSpec['trading_mode'],
  environment: Record<string, string> = {},
): ContainerSpec => ({
  run_id: runId,
  strategy_id: 'pascal-btc',
  strategy_name: 'PascalStrategy',
  trading_mode: mode,
  environment,
});

const until = async (condition: () => boolean, what: string, timeoutMs = 15_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe('Local cloud: process platform (ECS stand-in)', () => {
  let dir: string;
  let events: EcsTaskStateChange[];
  let platforms: ProcessPlatform[];
  const newPlatform = (restartDelayMs = 10) => {
    const platform = new ProcessPlatform({
      cluster: 'tradai-test',
      region: 'us-east-1',
      command: [process.execPath, '-e', CONTAINER_SCRIPT],
      cwd: process.cwd(),
      baseEnvironment: {},
      registryFile: join(dir, 'services.json'),
      stopTimeoutMs: 5_000,
      restartDelayMs: () => restartDelayMs,
      onTaskStopped: (event) => events.push(event),
      log: () => undefined,
    });
    platforms.push(platform);
    return platform;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tradai-ecs-'));
    events = [];
    platforms = [];
  });
  afterEach(async () => {
    for (const platform of platforms) await platform.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('replaces the task of a service that exits, and reports each exit as an ECS task state change', async () => {
    const platform = newPlatform();

    const ref = await platform.startSession(
      specOf('dry-run-pascal-btc-000001', 'dry-run', { EXIT_AFTER_MS: '50', EXIT_CODE: '3' }),
    );
    await until(() => events.length >= 2, 'two task exits');

    expect(ref).toMatchObject({ platform: 'local', launch_type: 'service' });
    expect(ref.service_arn).toMatch(/:service\/tradai-test\/tradai-dry-run-pascal-btc-000001$/);
    const [first] = events;
    expect(first).toMatchObject({
      source: 'aws.ecs',
      'detail-type': 'ECS Task State Change',
      detail: {
        lastStatus: 'STOPPED',
        group: 'service:tradai-dry-run-pascal-btc-000001',
        stopCode: 'EssentialContainerExited',
        containers: [{ exitCode: 3 }],
      },
    });
  });

  it('keeps one task per service however often it is started', async () => {
    const platform = newPlatform();
    const spec = specOf('live-pascal-btc-000002', 'live');

    const refs = await Promise.all([
      platform.startSession(spec),
      platform.startSession(spec),
      platform.startSession(spec),
    ]);

    expect(new Set(refs.map((ref) => ref.service_arn)).size).toBe(1);
    expect(platform.tasks()).toHaveLength(1);
  });

  it('stops a service for good: SIGTERM, a UserInitiated-style event, no replacement', async () => {
    const platform = newPlatform();
    const ref = await platform.startSession(specOf('live-pascal-btc-000003', 'live'));
    await until(() => platform.tasks().length === 1, 'the task');

    await platform.stopSession(ref, 'operator stop');
    await new Promise((resolve) => setTimeout(resolve, 100));

    expect(platform.tasks()).toHaveLength(0);
    expect(events).toHaveLength(1);
    expect(events[0]?.detail).toMatchObject({
      stopCode: 'ServiceSchedulerInitiated',
      stoppedReason: 'operator stop',
    });
  });

  it('runs a one-shot mode as a task that is not replaced', async () => {
    const platform = newPlatform();

    const ref = await platform.startSession(
      specOf('backtest-pascal-btc-000004', 'backtest', { EXIT_AFTER_MS: '10' }),
    );
    await until(() => events.length === 1, 'the task exit');
    await new Promise((resolve) => setTimeout(resolve, 100));

    expect(ref.launch_type).toBe('task');
    expect(events).toHaveLength(1);
    expect(events[0]?.detail).toMatchObject({
      startedBy: 'tradai/backtest-pascal-btc-000004',
      containers: [{ exitCode: 0 }],
    });
  });

  it('brings services back after a restart of the local cloud, and forgets stopped ones', async () => {
    const first = newPlatform();
    await first.startSession(specOf('live-pascal-btc-000005', 'live'));
    const stopped = await first.startSession(specOf('live-other-000006', 'live'));
    await first.stopSession(stopped, 'done');
    await first.close();

    const second = newPlatform();
    const restored = await second.restore();

    expect(restored).toEqual(['live-pascal-btc-000005']);
    expect(second.tasks().map((task) => task.runId)).toEqual(['live-pascal-btc-000005']);
  });

  it('ends a task left running by a control plane that died before starting its replacement', async () => {
    const dead = newPlatform(60_000);
    await dead.startSession(specOf('live-pascal-btc-000007', 'live'));
    const orphanPid = dead.tasks()[0]?.pid;
    await until(() => orphanPid !== undefined, 'the first task');

    const second = newPlatform();
    await second.restore();
    await until(() => dead.tasks().length === 0, 'the orphan to end');

    expect(second.tasks().map((task) => task.runId)).toEqual(['live-pascal-btc-000007']);
    expect(second.tasks()[0]?.pid).not.toBe(orphanPid);
    expect(() => process.kill(orphanPid as number, 0)).toThrow();
  });
});
