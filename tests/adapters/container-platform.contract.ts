import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerPlatform, ContainerSpec } from '../../shared/domain/ports';
import type { ContainerRef } from '../../shared/domain/session';

export interface PlatformHarness {
  platform: ContainerPlatform;
  /** The variables the session's container runs with (task definition revision, overrides, or the process). */
  environmentOf(ref: ContainerRef): Promise<Record<string, string>>;
  /** Whether the platform means to keep a container for it (service ACTIVE with one desired, task RUNNING). */
  wanted(ref: ContainerRef): Promise<boolean>;
  /** No task of it is left running (the adapters' containerGone). */
  gone(ref: ContainerRef): Promise<boolean>;
  /** A service of this platform's cluster that was never created. */
  unknownService: ContainerRef;
  close(): Promise<void>;
}

let sequence = 0;
export const containerSpecOf = (
  mode: ContainerSpec['trading_mode'],
  strategyId = 'pascal-btc',
): ContainerSpec => {
  sequence += 1;
  const runId = `${mode}-${strategyId}-${String(sequence).padStart(6, '0')}`;
  return {
    run_id: runId,
    strategy_id: strategyId,
    strategy_name: 'PascalStrategy',
    trading_mode: mode,
    environment: { RUN_ID: runId, STRATEGY_ID: strategyId, TRADING_MODE: mode },
  };
};

/** Bounded wait: ECS and processes stop asynchronously. */
const eventually = async (condition: () => Promise<boolean>, what: string, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

/** What a stand-in cannot do; each is written down where the harness is made, and skipped, not faked. */
export interface PlatformLimits {
  /** moto places no task for a service: no scheduler runs there. */
  servicesRunNoTasks?: boolean;
  /** moto ignores RunTask's clientToken, which AWS uses to make a retried RunTask answer the same task. */
  runTaskIgnoresClientToken?: boolean;
}

/** The behaviour every ContainerPlatform adapter must have (ECS Fargate in AWS, processes locally). */
export const containerPlatformContract = (
  adapterName: string,
  start: () => Promise<PlatformHarness>,
  limits: PlatformLimits = {},
) => {
  describe(`ContainerPlatform contract: ${adapterName}`, () => {
    let harness: PlatformHarness;
    beforeAll(async () => {
      harness = await start();
    });
    afterAll(async () => {
      await harness?.close();
    });

    it('runs a dry-run session as a service of one container with the session environment', async () => {
      // prepare
      const spec = containerSpecOf('dry-run');

      // act
      const ref = await harness.platform.startSession(spec);

      // assess
      expect(ref).toMatchObject({ launch_type: 'service' });
      expect(ref.service_arn).toContain(`tradai-${spec.run_id}`);
      expect(await harness.wanted(ref)).toBe(true);
      expect(await harness.environmentOf(ref)).toMatchObject(spec.environment);
    });

    it.skipIf(limits.servicesRunNoTasks)(
      'keeps the task of a running service until it is stopped',
      async () => {
        // prepare
        const ref = await harness.platform.startSession(containerSpecOf('dry-run'));

        // act
        await eventually(async () => !(await harness.gone(ref)), 'its task runs');
        await harness.platform.stopSession(ref, 'operator stop');

        // assess
        await eventually(() => harness.gone(ref), 'its task is gone');
      },
    );

    it('answers the same service to a retried start of the same run (idempotent per run id)', async () => {
      // prepare
      const spec = containerSpecOf('live');
      const first = await harness.platform.startSession(spec);

      // act
      const again = await harness.platform.startSession(spec);

      // assess
      expect(again.service_arn).toBe(first.service_arn);
      expect(await harness.wanted(again)).toBe(true);
    });

    it('runs a backtest as a task with the session environment, not as a service', async () => {
      // prepare
      const spec = containerSpecOf('backtest');

      // act
      const ref = await harness.platform.startSession(spec);

      // assess
      expect(ref).toMatchObject({ launch_type: 'task' });
      expect(ref.task_arn).toBeDefined();
      expect(ref.service_arn).toBeUndefined();
      expect(await harness.environmentOf(ref)).toMatchObject(spec.environment);
    });

    it.skipIf(limits.runTaskIgnoresClientToken)(
      'answers the same task to a retried start of the same one-shot run (idempotent per run id)',
      async () => {
        // prepare
        const spec = containerSpecOf('backtest', 'retried');
        const first = await harness.platform.startSession(spec);

        // act
        const again = await harness.platform.startSession(spec);

        // assess
        expect(again.task_arn).toBe(first.task_arn);
      },
    );

    it('stops a service for good, and stopping it again succeeds', async () => {
      // prepare
      const ref = await harness.platform.startSession(containerSpecOf('dry-run'));

      // act
      await harness.platform.stopSession(ref, 'operator stop');

      // assess
      expect(await harness.wanted(ref)).toBe(false);
      await eventually(() => harness.gone(ref), 'its task is gone');
      await expect(harness.platform.stopSession(ref, 'operator stop, again')).resolves.toBeUndefined();
    });

    it('stops a task, and stopping it again succeeds', async () => {
      // prepare
      const ref = await harness.platform.startSession(containerSpecOf('hyperopt'));

      // act
      await harness.platform.stopSession(ref, 'operator stop');

      // assess
      await eventually(async () => !(await harness.wanted(ref)), 'the task is no longer wanted');
      await eventually(() => harness.gone(ref), 'the task is gone');
      await expect(harness.platform.stopSession(ref, 'again')).resolves.toBeUndefined();
    });

    it('treats stopping a service that never existed as done (stops are idempotent)', async () => {
      // prepare
      const ref = harness.unknownService;

      // act + assess
      await expect(harness.platform.stopSession(ref, 'cleanup')).resolves.toBeUndefined();
      expect(await harness.gone(ref)).toBe(true);
    });
  });
};
