import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHandler as createControlHandler } from '../../../functions/api/control-strategy/handler';
import { createHandler } from '../../../functions/api/start-strategy/handler';
import {
  ALL_SCOPES,
  type ApiTestEnv,
  errorOf,
  type Invoke,
  invoker,
  LIVE_GROUPS,
  runningSession,
  startApiTest,
} from './support';

const DEPLOY = '/strategies/{strategyId}/deploy';
const RESTART = '/strategies/{strategyId}/restart';

describe('Handler: deploy and restart (rolling a running strategy)', () => {
  let env: ApiTestEnv;
  let invoke: Invoke;
  let seq = 0;
  const fresh = () => `roll-${++seq}`;
  const deploy = (strategyId: string, body: unknown, extra: Partial<Parameters<Invoke>[0]> = {}) =>
    invoke({ method: 'POST', route: DEPLOY, params: { strategyId }, body, ...extra });

  beforeAll(async () => {
    env = await startApiTest();
    invoke = invoker(createHandler(env.deps));
  });
  afterAll(async () => env.close());
  beforeEach(() => {
    env.resetSfn();
  });

  it('creates the successor with the chosen version, marks the running session superseded, starts its launch and audits the deploy', async () => {
    // prepare
    const strategyId = fresh();
    const running = (await runningSession(env, strategyId)).run_id;

    // act
    const response = await deploy(strategyId, { version: '4', handoff: 'wait_flat', reason: 'v1.1.0' });

    // assess
    expect(response.statusCode).toBe(202);
    const runId = response.body.run_id as string;
    expect(response.body).toMatchObject({ supersedes: running, handoff: 'wait_flat', status: 'pending' });
    expect(await env.deps.store.get(runId)).toMatchObject({
      model_version: '4',
      alias: null,
      stage: null,
      supersedes: running,
      handoff: {
        kind: 'deploy',
        mode: 'wait_flat',
        wait_flat_s: 300,
        phase: 'requested',
        from_run_id: running,
      },
    });
    expect((await env.deps.store.get(running))?.superseded_by).toBe(runId);
    expect((await env.deps.store.getLock(strategyId))?.active_run_id).toBe(running);
    expect(env.sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
    const audit = await env.deps.audit.listByStrategy(strategyId);
    expect(audit.items[0]).toMatchObject({ action: 'deploy', outcome: 'accepted', run_id: runId });
  });

  it.each([
    [
      'two selections',
      { version: '4', alias: 'champion', handoff: 'carry_positions', reason: 'x' },
      'version',
    ],
    ['no selection', { handoff: 'carry_positions', reason: 'x' }, 'version'],
    ['an unknown handoff', { version: '4', handoff: 'overlap', reason: 'x' }, 'handoff'],
    [
      'wait_flat_s with carry_positions',
      { version: '4', handoff: 'carry_positions', wait_flat_s: 5, reason: 'x' },
      'wait_flat_s',
    ],
    ['no reason', { version: '4', handoff: 'carry_positions' }, 'reason'],
  ])('refuses %s with a 400 naming the field, changing nothing', async (_what, body, field) => {
    const strategyId = fresh();
    const running = (await runningSession(env, strategyId)).run_id;

    const response = await deploy(strategyId, body);

    expect(response.statusCode).toBe(400);
    expect(errorOf(response).details?.map((issue) => issue.field)).toContain(field);
    expect((await env.deps.store.get(running))?.superseded_by ?? null).toBeNull();
    expect(env.sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('refuses a second deploy while a handoff is under way (409 naming the successor), and a strategy with nothing running (409)', async () => {
    const strategyId = fresh();
    await runningSession(env, strategyId);
    const first = await deploy(strategyId, { alias: 'challenger', handoff: 'carry_positions', reason: 'x' });

    const second = await deploy(strategyId, { version: '3', handoff: 'carry_positions', reason: 'y' });
    const nothing = await deploy(fresh(), { version: '3', handoff: 'carry_positions', reason: 'z' });

    expect(second.statusCode).toBe(409);
    expect(errorOf(second).code).toBe('handoff_in_progress');
    expect(errorOf(second).message).toContain(first.body.run_id as string);
    expect(nothing.statusCode).toBe(409);
    expect(errorOf(nothing).code).toBe('no_active_session');
    expect(env.sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
  });

  it('needs the live permission to roll a live session, and restarts one on the same version with it', async () => {
    const strategyId = fresh();
    const running = (await runningSession(env, strategyId, { mode: 'live' })).run_id;

    const writer = await deploy(strategyId, { version: '4', handoff: 'carry_positions', reason: 'x' });
    const restart = await invoke({
      method: 'POST',
      route: RESTART,
      params: { strategyId },
      body: { reason: 'key rotated' },
      scopes: ALL_SCOPES,
      groups: LIVE_GROUPS,
    });

    expect(writer.statusCode).toBe(403);
    expect(restart.statusCode).toBe(202);
    const before = await env.deps.store.get(running);
    expect(await env.deps.store.get(restart.body.run_id as string)).toMatchObject({
      trading_mode: 'live',
      alias: before?.alias ?? null,
      stage: before?.stage ?? null,
      handoff: { kind: 'restart', mode: 'carry_positions' },
    });
  });

  it('stops the successor too when the strategy is stopped during its handoff (the new version started once the old one was gone)', async () => {
    // prepare
    const strategyId = fresh();
    const running = (await runningSession(env, strategyId)).run_id;
    const deployed = await deploy(strategyId, { version: '4', handoff: 'carry_positions', reason: 'x' });
    const successor = deployed.body.run_id as string;
    const control = invoker(createControlHandler(env.deps));

    // act
    const stopped = await control({
      method: 'POST',
      route: '/strategies/{strategyId}/stop',
      params: { strategyId },
      body: { reason: 'abort the deploy' },
    });

    // assess
    expect(stopped.statusCode).toBe(202);
    expect((await env.deps.store.get(running))?.status).toBe('stopping');
    expect(await env.deps.store.get(successor)).toMatchObject({
      status: 'stopping',
      desired_state: 'stopped',
    });
  });

  it('pauses the successor too when the strategy is paused during its handoff, so the new version does not start trading what the operator paused', async () => {
    const strategyId = fresh();
    await runningSession(env, strategyId);
    const deployed = await deploy(strategyId, { version: '4', handoff: 'carry_positions', reason: 'x' });
    const control = invoker(createControlHandler(env.deps));

    const paused = await control({
      method: 'POST',
      route: '/strategies/{strategyId}/pause',
      params: { strategyId },
      body: { reason: 'hold on' },
    });

    expect(paused.statusCode).toBe(202);
    expect((await env.deps.store.get(deployed.body.run_id as string))?.desired_state).toBe('paused');
  });
});
