import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../../functions/api/control-strategy/handler';
import {
  ALL_SCOPES,
  type ApiTestEnv,
  errorOf,
  type Invoke,
  invoker,
  LIVE_GROUPS,
  READ_SCOPES,
  runningSession,
  startApiTest,
  WRITE_SCOPES,
} from './support';

type Action = 'pause' | 'resume' | 'stop';

describe('Handler: control-strategy', () => {
  let env: ApiTestEnv;
  let invoke: Invoke;
  let strategySeq = 0;
  const freshStrategy = () => `ctl-${++strategySeq}`;
  const command = (
    action: Action,
    strategyId: string,
    body?: unknown,
    extra: Partial<Parameters<Invoke>[0]> = {},
  ) =>
    invoke({
      method: 'POST',
      route: `/strategies/{strategyId}/${action}`,
      params: { strategyId },
      ...(body === undefined ? {} : { body }),
      ...extra,
    });

  beforeAll(async () => {
    env = await startApiTest();
    invoke = invoker(createHandler(env.deps));
  });
  afterAll(async () => env.close());

  it('pauses a running session: desired_state paused, 202, audited with state before and after', async () => {
    // prepare
    const strategyId = freshStrategy();
    const session = await runningSession(env, strategyId);

    // act
    const response = await command('pause', strategyId, { reason: 'news at 14:00' });

    // assess
    expect(response.statusCode).toBe(202);
    expect(response.body).toEqual({
      run_id: session.run_id,
      strategy_id: strategyId,
      status: 'running',
      desired_state: 'paused',
      flatten_on_stop: false,
    });
    expect((await env.deps.store.get(session.run_id))?.desired_state).toBe('paused');
    const audit = await env.deps.audit.listByStrategy(strategyId);
    expect(audit.items).toEqual([
      expect.objectContaining({
        action: 'pause',
        outcome: 'accepted',
        actor: 'operator-1',
        reason: 'news at 14:00',
        run_id: session.run_id,
        state_before: { status: 'running', desired_state: 'running' },
        state_after: { status: 'running', desired_state: 'paused' },
      }),
    ]);
  });

  it('resumes a paused session, with or without a body', async () => {
    // prepare
    const strategyId = freshStrategy();
    const session = await runningSession(env, strategyId);
    await command('pause', strategyId);

    // act
    const response = await command('resume', strategyId);

    // assess
    expect(response.statusCode).toBe(202);
    expect(response.body).toMatchObject({ run_id: session.run_id, desired_state: 'running' });
  });

  it('stops a session: status stopping, desired_state stopped, flatten_on_stop from the body', async () => {
    // prepare
    const strategyId = freshStrategy();
    const session = await runningSession(env, strategyId);

    // act
    const response = await command('stop', strategyId, { flatten: true, reason: 'end of strategy' });

    // assess
    expect(response.statusCode).toBe(202);
    expect(response.body).toMatchObject({
      status: 'stopping',
      desired_state: 'stopped',
      flatten_on_stop: true,
    });
    const stored = await env.deps.store.get(session.run_id);
    expect(stored).toMatchObject({
      status: 'stopping',
      flatten_on_stop: true,
      status_reason: 'end of strategy',
    });
  });

  it('accepts a repeated stop that asks for nothing new', async () => {
    // prepare
    const strategyId = freshStrategy();
    await runningSession(env, strategyId);
    await command('stop', strategyId, { flatten: true });

    // act
    const again = await command('stop', strategyId, { flatten: true });
    const plain = await command('stop', strategyId, {});

    // assess
    expect(again.statusCode).toBe(202);
    expect(again.body).toMatchObject({ status: 'stopping', flatten_on_stop: true });
    expect(plain.statusCode).toBe(202);
  });

  it('refuses with 409 a second stop that adds flatten to a stop under way without it (flatten read once, never again)', async () => {
    // prepare
    const strategyId = freshStrategy();
    const session = await runningSession(env, strategyId);
    await command('stop', strategyId, {});

    // act
    const again = await command('stop', strategyId, { flatten: true });

    // assess
    expect(again.statusCode).toBe(409);
    expect(errorOf(again).code).toBe('not_allowed');
    expect(errorOf(again).message).toContain('close the open positions on the exchange');
    expect((await env.deps.store.get(session.run_id))?.flatten_on_stop).toBe(false);
  });

  it('answers 409 when the strategy has nothing active, and audits the refusal', async () => {
    // prepare
    const never = freshStrategy();
    const stopped = freshStrategy();
    const session = await runningSession(env, stopped);
    await env.deps.store.transition(session.run_id, 'stopping');
    await env.deps.store.transition(session.run_id, 'stopped');
    await env.deps.store.releaseLock(stopped, session.run_id);

    // act
    const responses = await Promise.all([
      command('pause', never),
      command('resume', stopped),
      command('stop', stopped),
    ]);

    // assess
    for (const response of responses) {
      expect(response.statusCode).toBe(409);
      expect(errorOf(response).code).toBe('no_active_session');
    }
    const audit = await env.deps.audit.listByStrategy(never);
    expect(audit.items).toEqual([
      expect.objectContaining({ action: 'pause', outcome: 'refused', run_id: 'none' }),
    ]);
  });

  it('answers 409 to a pause of a session that is already stopping', async () => {
    // prepare
    const strategyId = freshStrategy();
    await runningSession(env, strategyId);
    await command('stop', strategyId);

    // act
    const response = await command('pause', strategyId);

    // assess
    expect(response.statusCode).toBe(409);
    expect(errorOf(response).code).toBe('not_allowed');
  });

  it('lets any writer pause and stop a live session but only a live trader resume it (an emergency pause was refused for lack of strategies:live)', async () => {
    // prepare
    const strategyId = freshStrategy();
    const session = await runningSession(env, strategyId, { mode: 'live' });
    await env.deps.store.setDesiredState(session.run_id, 'paused', 'test');
    const before = await env.snapshot();

    // act
    const resumeDenied = await command('resume', strategyId, {}, { scopes: ALL_SCOPES });
    const afterDenied = await env.snapshot();
    const resumed = await command('resume', strategyId, {}, { scopes: ALL_SCOPES, groups: LIVE_GROUPS });
    const paused = await command('pause', strategyId, {}, { scopes: WRITE_SCOPES });
    const stopped = await command('stop', strategyId, { flatten: true }, { scopes: WRITE_SCOPES });

    // assess
    expect(resumeDenied.statusCode).toBe(403);
    expect(errorOf(resumeDenied).message).toContain('tradai-live');
    expect(afterDenied.sessions).toEqual(before.sessions);
    expect(resumed.statusCode).toBe(202);
    expect(paused.statusCode).toBe(202);
    expect(stopped.statusCode).toBe(202);
    expect(await env.deps.store.get(session.run_id)).toMatchObject({
      status: 'stopping',
      flatten_on_stop: true,
    });
  });

  it('answers 401 without a token and 403 with only strategies:read', async () => {
    // prepare
    const strategyId = freshStrategy();
    await runningSession(env, strategyId);

    // act
    const anonymous = await command('stop', strategyId, {}, { scopes: null });
    const readOnly = await command('stop', strategyId, {}, { scopes: READ_SCOPES });

    // assess
    expect(anonymous.statusCode).toBe(401);
    expect(readOnly.statusCode).toBe(403);
  });

  it('replays a stop retried with the same Idempotency-Key', async () => {
    // prepare
    const strategyId = freshStrategy();
    await runningSession(env, strategyId);
    const headers = { 'idempotency-key': `stop-${strategyId}` };
    const first = await command('stop', strategyId, { reason: 'risk' }, { headers });

    // act
    const retry = await command('stop', strategyId, { reason: 'risk' }, { headers });
    const changed = await command('stop', strategyId, { reason: 'other' }, { headers });

    // assess
    expect(retry.statusCode).toBe(202);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(changed.statusCode).toBe(422);
    const audit = await env.deps.audit.listByStrategy(strategyId);
    expect(audit.items).toHaveLength(1);
  });

  it('answers every fuzzed bad body and path with a 4xx and changes nothing', async () => {
    // prepare
    const strategyId = freshStrategy();
    await runningSession(env, strategyId);
    const before = await env.snapshot();
    const action = fc.constantFrom<Action>('pause', 'resume', 'stop');
    const badBody = fc.oneof(
      fc
        .jsonValue()
        .filter(
          (value) =>
            typeof value !== 'object' ||
            value === null ||
            Array.isArray(value) ||
            Object.keys(value).length > 0,
        ),
      fc.record({
        reason: fc.oneof(
          fc.integer(),
          fc.constant(''),
          fc.string({ minLength: 1025, maxLength: 1100 }),
          fc.constant(null),
        ),
      }),
      fc.record({ flatten: fc.oneof(fc.string(), fc.integer(), fc.constant(null)) }),
      fc.dictionary(
        fc.string({ minLength: 1, maxLength: 10 }).filter((key) => !['reason', 'flatten'].includes(key)),
        fc.jsonValue({ maxDepth: 1 }),
        { minKeys: 1, maxKeys: 4 },
      ),
    );
    const badStrategy = fc
      .string({ maxLength: 60 })
      .filter((id) => !/^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/.test(id));
    const cases = fc.oneof(
      fc.record({ action, strategyId: fc.constant(strategyId), body: badBody }),
      fc.record({ action, strategyId: badStrategy, body: fc.constant({}) }),
    );

    // act
    await fc.assert(
      fc.asyncProperty(cases, async ({ action: name, strategyId: id, body }) => {
        const response = await command(name, id, JSON.stringify(body));
        // `flatten` only exists on stop; pause/resume refuse it as unknown like any other field.
        expect(response.statusCode).toBeGreaterThanOrEqual(400);
        expect(response.statusCode).toBeLessThan(500);
        expect(errorOf(response).code).toEqual(expect.any(String));
        expect(response.raw).not.toMatch(/\n\s+at /);
      }),
      { numRuns: 200, seed: 20260303 },
    );

    // assess
    expect(await env.snapshot()).toEqual(before);
  });
});
