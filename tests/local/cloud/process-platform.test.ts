import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type EcsTaskStateChange, ProcessPlatform } from '../../../local/cloud/process-platform';
import type { ContainerSpec } from '../../../shared/domain/ports';

/**
 * A stand-in container: exits with EXIT_CODE after EXIT_AFTER_MS, or runs until SIGTERM. It records
 * where it ran and what it found there (as an agent would find Freqtrade's files), then leaves a file
 * in its work folder and one in the trade store.
 */
const CONTAINER_SCRIPT = `
const fs = require('node:fs');
const path = require('node:path');
const work = process.env.AGENT_WORK_DIR ?? process.cwd();
const report = process.env.REPORT_FILE;
if (report !== undefined) {
  const tradeDb = (process.env.TRADE_DB_URL ?? '').replace(/^sqlite:\\/\\/\\//, '');
  const line = {
    cwd: process.cwd(),
    work,
    tradeDbUrl: process.env.TRADE_DB_URL,
    workFiles: fs.existsSync(work) ? fs.readdirSync(work).sort() : null,
    tradeDbExists: tradeDb !== '' && fs.existsSync(tradeDb),
  };
  fs.appendFileSync(report, JSON.stringify(line) + '\\n');
  fs.writeFileSync(path.join(work, 'left-by-' + process.pid), 'x');
  if (tradeDb !== '') fs.writeFileSync(tradeDb, 'trades');
}
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
      tasksDir: join(dir, 'tasks'),
      tradeStoreDir: join(dir, 'trade-store'),
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

  describe('work folders and the trade store', () => {
    interface TaskReport {
      cwd: string;
      work: string;
      tradeDbUrl?: string;
      workFiles: string[] | null;
      tradeDbExists: boolean;
    }
    const reportsIn = async (file: string): Promise<TaskReport[]> =>
      existsSync(file)
        ? (await readFile(file, 'utf8'))
            .split('\n')
            .filter((line) => line !== '')
            .map((line) => JSON.parse(line) as TaskReport)
        : [];

    it("gives a replacement task a fresh work folder of its own (the first task's files are gone, as on Fargate)", async () => {
      const platform = newPlatform();
      const report = join(dir, 'reports.jsonl');

      await platform.startSession(
        specOf('dry-run-pascal-btc-000010', 'dry-run', { EXIT_AFTER_MS: '50', REPORT_FILE: report }),
      );
      await until(() => events.length >= 2, 'a task and its replacement to exit');
      const [first, replacement] = await reportsIn(report);

      expect(first?.work).toBeDefined();
      expect(replacement?.work).toBeDefined();
      expect(replacement?.work).not.toBe(first?.work);
      expect(replacement?.workFiles).toEqual([]);
      expect(replacement?.cwd).toBe(replacement?.work);
      expect(replacement?.work.startsWith(join(dir, 'tasks'))).toBe(true);
    });

    it("removes a task's work folder when the task ends", async () => {
      const platform = newPlatform();
      const ref = await platform.startSession(specOf('live-pascal-btc-000011', 'live'));
      await until(() => platform.tasks().length === 1, 'the task');
      const tasksDir = join(dir, 'tasks');
      await until(() => existsSync(tasksDir), 'the tasks folder');
      expect(await readdir(tasksDir)).toHaveLength(1);

      await platform.stopSession(ref, 'operator stop');

      expect(await readdir(tasksDir)).toEqual([]);
    });

    it('hands every task of a strategy the same durable trade store, one database per mode, that survives tasks', async () => {
      const platform = newPlatform();
      const report = join(dir, 'reports.jsonl');

      await platform.startSession(
        specOf('live-pascal-btc-000012', 'live', { EXIT_AFTER_MS: '50', REPORT_FILE: report }),
      );
      await until(() => events.length >= 2, 'a task and its replacement to exit');
      const [first, replacement] = await reportsIn(report);

      const expected = `sqlite:///${join(dir, 'trade-store', 'pascal-btc', 'tradesv3.live.sqlite')}`;
      expect(first?.tradeDbUrl).toBe(expected);
      expect(first?.tradeDbExists).toBe(false);
      expect(replacement?.tradeDbUrl).toBe(expected);
      expect(replacement?.tradeDbExists).toBe(true);
    });

    it('keeps dry-run and live trade databases of one strategy apart', async () => {
      const platform = newPlatform();
      const report = join(dir, 'reports.jsonl');

      await platform.startSession(
        specOf('dry-run-pascal-btc-000013', 'dry-run', { EXIT_AFTER_MS: '10000', REPORT_FILE: report }),
      );
      await until(() => platform.tasks().length === 1, 'the task');
      await until(() => existsSync(report), 'the report');
      const [dryRun] = await reportsIn(report);

      expect(dryRun?.tradeDbUrl).toBe(
        `sqlite:///${join(dir, 'trade-store', 'pascal-btc', 'tradesv3.dry-run.sqlite')}`,
      );
    });

    it('clears the work folders a control plane that died left behind before it restores a service', async () => {
      const first = newPlatform();
      await first.startSession(specOf('live-pascal-btc-000015', 'live'));
      await first.close();
      // A control plane killed with SIGKILL never removed its tasks' folders.
      const leftover = join(dir, 'tasks', '0123456789abcdef0123456789abcdef');
      await mkdir(leftover, { recursive: true });
      await writeFile(join(leftover, 'config.json'), '{}');

      const second = newPlatform();
      await second.restore();
      const taskId = second.tasks()[0]?.taskArn.split('/').pop();

      expect(existsSync(leftover)).toBe(false);
      expect(await readdir(join(dir, 'tasks'))).toEqual([taskId]);
    });

    it('gives one-shot tasks no trade store (a backtest keeps no positions)', async () => {
      const platform = newPlatform();
      const report = join(dir, 'reports.jsonl');

      await platform.startSession(
        specOf('backtest-pascal-btc-000014', 'backtest', { EXIT_AFTER_MS: '10', REPORT_FILE: report }),
      );
      await until(() => events.length === 1, 'the task exit');
      const [oneShot] = await reportsIn(report);

      expect(oneShot?.tradeDbUrl).toBeUndefined();
    });
  });
});
