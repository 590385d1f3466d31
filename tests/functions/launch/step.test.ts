import { DeleteServiceCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHandler, describeLaunchError } from '../../../functions/launch/step/handler';
import type { DynamoSessionStore } from '../../../shared/adapters/dynamodb/session-store';
import { handoffAlert } from '../../../shared/domain/alerts';
import { ManualClock } from '../../../shared/domain/clock';
import { InvalidInputError } from '../../../shared/domain/errors';
import type { Session } from '../../../shared/domain/session';
import { timingsFromEnv } from '../../../shared/runtime/workflow-deps';
import {
  awsAdapters,
  CLUSTER_ARN,
  lambdaContext,
  newSessionInput,
  silentLogger,
} from '../../adapters/support/workflow-fixtures';
import { startTestDynamo, type TestDynamo } from '../../support/dynamo';

describe('Handler: launch-step', () => {
  let dynamo: TestDynamo;
  let store: DynamoSessionStore;
  const clock = new ManualClock('2026-03-02T10:00:00.000Z');
  const adapters = awsAdapters();
  const ecs = mockClient(adapters.ecs);
  let handler: ReturnType<typeof createHandler>;
  const step = (payload: unknown) => handler(payload, lambdaContext('launchStep'));

  beforeAll(async () => {
    dynamo = await startTestDynamo();
    store = dynamo.newStore(clock);
    handler = createHandler({
      store,
      platform: adapters.platform,
      workflow: adapters.workflow,
      clock,
      logger: silentLogger(),
      timings: { launchTimeoutS: 600, stopGraceS: 120, taskStopTimeoutS: 120 },
    });
  });

  afterAll(async () => {
    await dynamo.close();
  });

  beforeEach(() => {
    ecs.reset();
    ecs.on(UpdateServiceCommand).resolves({});
    ecs.on(DeleteServiceCommand).resolves({});
  });

  const pending = async () => {
    const created = await store.createSession(newSessionInput('live'));
    if (!created.ok) throw new Error(created.message);
    return created.session;
  };

  /** A carry_positions deploy successor of the running `old`, created (taking its lock) and launching. */
  const launchingSuccessorOf = async (old: ReturnType<typeof newSessionInput>) => {
    const next = newSessionInput('live', { strategy_id: old.strategy_id, run_id: `${old.run_id}-next` });
    const created = await store.createSuccessor(next, {
      lockHolder: old.run_id,
      superseded: [{ run_id: old.run_id, statuses: ['running', 'paused'], supersededBy: null }],
      handoff: {
        kind: 'deploy',
        mode: 'carry_positions',
        wait_flat_s: 0,
        phase: 'requested',
        from_run_id: old.run_id,
        to_run_id: next.run_id,
        rollback_of: null,
        requested_at: new Date(clock.now()).toISOString(),
        reason: 'v2',
      },
    });
    expect(created.ok, JSON.stringify(created)).toBe(true);
    await store.transition(next.run_id, 'launching', { from: ['pending'] });
    return next;
  };

  it('marks launching once and answers a retried step the same way', async () => {
    // prepare
    const session = await pending();

    // act
    const first = await step({ action: 'markLaunching', run_id: session.run_id });
    const retried = await step({ action: 'markLaunching', run_id: session.run_id });

    // assess
    expect(first).toEqual({ launch_timeout_s: 600, handoff: false, poll_s: 1 });
    expect(retried).toEqual({ launch_timeout_s: 600, handoff: false, poll_s: 1 });
    expect((await store.get(session.run_id))?.status).toBe('launching');
  });

  it('aborts the launch of a session the operator already stopped', async () => {
    // prepare
    const session = await pending();
    await store.setDesiredState(session.run_id, 'stopped', 'changed my mind');

    // act + assess
    await expect(step({ action: 'markLaunching', run_id: session.run_id })).rejects.toMatchObject({
      name: 'LaunchAbortedError',
    });
  });

  it('compensates idempotently after the sweep already failed the launch', async () => {
    // prepare
    const session = await pending();
    await store.transition(session.run_id, 'launching', { from: ['pending'] });
    const container = {
      platform: 'ecs',
      launch_type: 'service',
      cluster: CLUSTER_ARN,
      service_arn: 'arn:aws:ecs:us-east-1:123456789012:service/c/tradai-x',
    } as const;
    await store.update(session.run_id, { container }, ['launching']);
    await store.transition(session.run_id, 'failed', {
      patch: { status_reason: 'launch timed out (sweep)' },
    });
    const state = {
      run_id: session.run_id,
      Payload: { launch_timeout_s: 600 },
      error: { Error: 'States.Timeout', Cause: '' },
    };

    // act
    const first = await step({ action: 'compensate', state });
    const again = await step({ action: 'compensate', state });

    // assess
    expect(first).toMatchObject({ status: 'failed' });
    expect(again).toMatchObject({ status: 'failed' });
    expect((await store.get(session.run_id))?.status_reason).toBe('launch timed out (sweep)');
    expect(ecs.commandCalls(DeleteServiceCommand)).toHaveLength(2);
    expect((await store.getLock(session.strategy_id))?.active_run_id).toBeNull();
  });

  it("marks a handoff's successor running and its handoff live in one write: no reader sees it trading while the record still says predecessor_gone", async () => {
    // prepare: a successor whose predecessor is gone, launching; every write's committed image recorded
    const session = await pending();
    await store.transition(session.run_id, 'launching', { from: ['pending'] });
    const handoff = {
      kind: 'deploy',
      mode: 'carry_positions',
      wait_flat_s: 0,
      phase: 'predecessor_gone',
      from_run_id: 'live-old-run',
      to_run_id: session.run_id,
      rollback_of: null,
      requested_at: '2026-03-02T09:59:00.000Z',
      reason: 'v2',
    } as const;
    await store.update(session.run_id, { handoff }, ['launching']);
    // A variable, not a literal: the step needs only some of these timings.
    const timings = { launchTimeoutS: 600, stopGraceS: 120, taskStopTimeoutS: 120 };
    const images: Session[] = [];
    const recording = new Proxy(store, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        if (property !== 'transition' && property !== 'update') return value.bind(target);
        return async (...args: unknown[]) => {
          const result = await value.apply(target, args);
          if (result.ok) images.push(result.session);
          return result;
        };
      },
    });
    const recorded = createHandler({
      store: recording,
      platform: adapters.platform,
      workflow: adapters.workflow,
      clock,
      logger: silentLogger(),
      timings,
    });

    // act
    const answer = await recorded(
      { action: 'markRunning', run_id: session.run_id },
      lambdaContext('launchStep'),
    );

    // assess
    expect(answer).toEqual({ status: 'running' });
    expect(images.length).toBeGreaterThan(0);
    expect(images.map((image) => [image.status, image.handoff?.phase])).toEqual(
      images.map(() => ['running', 'live']),
    );
    expect((await store.get(session.run_id))?.handoff?.phase).toBe('live');
  });

  it('gives up on a predecessor whose container outlives its forced stop: the new version never starts, the handoff fails naming the stuck run, and its one CRITICAL page says that run may still trade', async () => {
    // prepare: a running live predecessor with a container that never goes, and its successor launching
    const old = newSessionInput('live');
    expect((await store.createSession(old)).ok).toBe(true);
    await store.transition(old.run_id, 'launching');
    const claim = await store.claimSession({
      run_id: old.run_id,
      agent_id: 'agent-old',
      exchange: 'binance',
      pairs: ['BTC/USDT'],
      strategy_version: '1.0.0',
    });
    expect(claim.ok, JSON.stringify(claim)).toBe(true);
    await store.transition(old.run_id, 'running');
    const container = {
      platform: 'ecs',
      launch_type: 'service',
      cluster: CLUSTER_ARN,
      service_arn: `${CLUSTER_ARN}/svc-old`,
    } as const;
    await store.update(old.run_id, { container }, ['running']);
    const next = await launchingSuccessorOf(old);
    const stops: string[] = [];
    const started: string[] = [];
    const neverGone = createHandler({
      store,
      platform: {
        startSession: async (spec) => {
          started.push(spec.run_id);
          throw new Error('must not start');
        },
        stopSession: async (_ref, reason) => {
          stops.push(reason);
        },
        containerGone: async () => false,
      },
      workflow: adapters.workflow,
      clock,
      logger: silentLogger(),
      timings: { launchTimeoutS: 600, stopGraceS: 120, taskStopTimeoutS: 120 },
    });
    const run = (payload: unknown) => neverGone(payload, lambdaContext('launchStep'));

    // act: retire, the grace runs out (forced stop), the StopTimeout and its margin run out (give up)
    await run({ action: 'retirePredecessor', run_id: next.run_id });
    clock.advance(121_000);
    expect(await run({ action: 'checkPredecessor', run_id: next.run_id, forced: false })).toEqual({
      gone: false,
      forced: true,
    });
    clock.advance(120_000 + 30_000);
    const gaveUp = await run({ action: 'checkPredecessor', run_id: next.run_id, forced: true }).catch(
      (error: Error) => error,
    );
    await run({
      action: 'compensate',
      state: {
        run_id: next.run_id,
        error: { Error: 'LaunchAbortedError', Cause: (gaveUp as Error).message },
      },
    });

    // assess
    expect(gaveUp).toMatchObject({ name: 'LaunchAbortedError' });
    expect(stops).toHaveLength(1);
    expect(started).toEqual([]);
    const failed = (await store.get(next.run_id)) as Session;
    expect(failed.status).toBe('failed');
    expect(failed.handoff).toMatchObject({ phase: 'failed', stuck_run_id: old.run_id });
    const page = handoffAlert(failed, clock.now());
    expect(page?.severity).toBe('CRITICAL');
    expect(page?.subject).toContain(`${old.run_id} did not stop`);
    expect(page?.message).toContain(
      `run ${old.run_id} is still running after its forced stop: it may still place orders`,
    );
    expect((await store.getLock(old.strategy_id))?.active_run_id).toBe(old.run_id);
  });

  it("rolls back a successor that failed while its handoff was still retiring but its predecessor had stopped, taking the predecessor's lock; the rollback starts only once that predecessor's container is gone", async () => {
    // prepare: the old run's agent wrote stopped (Freqtrade stopped), its container is still exiting
    const old = newSessionInput('live');
    expect((await store.createSession(old)).ok).toBe(true);
    await store.transition(old.run_id, 'launching');
    await store.transition(old.run_id, 'running');
    const oldContainer = {
      platform: 'ecs',
      launch_type: 'service',
      cluster: CLUSTER_ARN,
      service_arn: `${CLUSTER_ARN}/svc-old-exiting`,
    } as const;
    await store.update(old.run_id, { container: oldContainer }, ['running']);
    const next = await launchingSuccessorOf(old);
    let oldGone = false;
    const starts: string[] = [];
    const exiting = createHandler({
      store,
      platform: {
        startSession: async () => {
          throw new Error('not started by these steps');
        },
        stopSession: async () => {},
        containerGone: async (ref) => ref.service_arn !== oldContainer.service_arn || oldGone,
      },
      workflow: {
        start: async (session) => {
          starts.push(session.run_id);
          return { executionArn: `arn:aws:states:us-east-1:123456789012:execution:launch:${session.run_id}` };
        },
      },
      clock,
      logger: silentLogger(),
      timings: { launchTimeoutS: 600, stopGraceS: 120, taskStopTimeoutS: 120 },
      randomSuffix: () => 'rb1',
    });
    const run = (payload: unknown) => exiting(payload, lambdaContext('launchStep'));
    await run({ action: 'retirePredecessor', run_id: next.run_id });
    await store.transition(old.run_id, 'stopped', { from: ['stopping'] });

    // act: the successor's launch fails before its check saw the old container gone
    await run({
      action: 'compensate',
      state: { run_id: next.run_id, error: { Error: 'Lambda.ServiceException', Cause: 'step crashed' } },
    });

    // assess: rolled back (one CRITICAL page names the rollback), the lock taken from the old run
    const failed = (await store.get(next.run_id)) as Session;
    expect(failed.status).toBe('failed');
    expect(failed.handoff?.phase).toBe('rolled_back');
    const rollbackId = failed.superseded_by as string;
    expect(starts).toEqual([rollbackId]);
    expect(handoffAlert(failed, clock.now())).toMatchObject({
      severity: 'CRITICAL',
      kind: 'handoff.rolled_back',
    });
    expect((await store.getLock(old.strategy_id))?.active_run_id).toBe(old.run_id);

    // act + assess: the rollback's launch waits for the old container, then takes the lock
    await run({ action: 'markLaunching', run_id: rollbackId });
    await run({ action: 'retirePredecessor', run_id: rollbackId });
    expect(await run({ action: 'checkPredecessor', run_id: rollbackId, forced: false })).toEqual({
      gone: false,
      forced: false,
    });
    oldGone = true;
    expect(await run({ action: 'checkPredecessor', run_id: rollbackId, forced: false })).toEqual({
      gone: true,
      forced: false,
    });
    expect((await store.getLock(old.strategy_id))?.active_run_id).toBe(rollbackId);
  });

  it("takes TASK_STOP_TIMEOUT_S from the environment: a local platform's longer StopTimeout (600 s) starts, a word is refused naming it", () => {
    expect(timingsFromEnv({ TASK_STOP_TIMEOUT_S: '600' }).taskStopTimeoutS).toBe(600);
    expect(timingsFromEnv({}).taskStopTimeoutS).toBe(120);
    expect(() => timingsFromEnv({ TASK_STOP_TIMEOUT_S: 'soon' })).toThrow(/TASK_STOP_TIMEOUT_S/);
  });

  it('reads the error message out of the Cause Step Functions hands over', () => {
    // assess
    expect(
      describeLaunchError({
        run_id: 'live-x-1',
        error: {
          Error: 'ContainerStartError',
          Cause: JSON.stringify({ errorType: 'ContainerStartError', errorMessage: 'no image' }),
        },
      }),
    ).toBe('launch failed: ContainerStartError: no image');
    expect(
      describeLaunchError({
        run_id: 'live-x-1',
        Payload: { launch_timeout_s: 90 },
        error: { Error: 'States.Timeout' },
      }),
    ).toBe('launch timed out: no first heartbeat within 90 s');
  });

  it('refuses an unknown action', async () => {
    // act + assess
    await expect(step({ action: 'launchMissiles', run_id: 'live-x-1' })).rejects.toBeInstanceOf(
      InvalidInputError,
    );
  });
});
