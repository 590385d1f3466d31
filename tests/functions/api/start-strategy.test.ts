import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHandler } from '../../../functions/api/start-strategy/handler';
import { StartBodySchema } from '../../../functions/api/start-strategy/schema';
import { StrategyIdSchema } from '../../../shared/domain/session';
import { accountIdOf } from '../../../shared/runtime/account-identity';
import {
  type ApiTestEnv,
  errorOf,
  type Invoke,
  invoker,
  LIVE_GROUPS,
  LIVE_LIMITS,
  READ_SCOPES,
  STATE_MACHINE_ARN,
  startApiTest,
  startBody,
  WRITE_SCOPES,
} from './support';

const ROUTE = '/strategies/{strategyId}/start';

describe('Handler: start-strategy', () => {
  let env: ApiTestEnv;
  let invoke: Invoke;
  let strategySeq = 0;
  /** A strategy id no other test uses, so tests never share a lock. */
  const freshStrategy = () => `pascal-${++strategySeq}`;
  const start = (
    strategyId: string,
    body: unknown = startBody(),
    extra: Partial<Parameters<Invoke>[0]> = {},
  ) => invoke({ method: 'POST', route: ROUTE, params: { strategyId }, body, ...extra });

  beforeAll(async () => {
    env = await startApiTest();
    invoke = invoker(createHandler(env.deps));
  });
  afterAll(async () => env.close());
  beforeEach(() => {
    env.resetSfn();
  });

  it('creates a pending session, takes the lock, starts the launch workflow and answers 202', async () => {
    // prepare
    const strategyId = freshStrategy();

    // act
    const response = await start(strategyId);

    // assess
    expect(response.statusCode).toBe(202);
    const runId = response.body.run_id as string;
    expect(response.body).toEqual({ run_id: runId, strategy_id: strategyId, status: 'pending' });
    expect(runId).toMatch(new RegExp(`^dry-run-${strategyId}-20260302093000-[0-9a-f]{8}$`));
    expect(response.headers.location).toBe(`/sessions/${runId}`);
    const session = await env.deps.store.get(runId);
    expect(session).toMatchObject({
      status: 'pending',
      desired_state: 'running',
      strategy_name: 'PascalStrategy',
      alias: 'champion',
      requested_by: 'operator-1',
    });
    expect((await env.deps.store.getLock(strategyId))?.active_run_id).toBe(runId);
    const calls = env.sfn.commandCalls(StartExecutionCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toMatchObject({ stateMachineArn: STATE_MACHINE_ARN, name: runId });
    const audit = await env.deps.audit.listByStrategy(strategyId);
    expect(audit.items).toEqual([
      expect.objectContaining({
        action: 'start',
        outcome: 'accepted',
        actor: 'operator-1',
        reason: 'morning session',
        run_id: runId,
        state_before: null,
        state_after: { status: 'pending', desired_state: 'running' },
      }),
    ]);
  });

  it('refuses a second session of a busy strategy with 409 naming the active run', async () => {
    // prepare
    const strategyId = freshStrategy();
    const first = await start(strategyId);
    env.clock.advance(1000);

    // act
    const second = await start(strategyId);

    // assess
    expect(second.statusCode).toBe(409);
    expect(errorOf(second).code).toBe('strategy_busy');
    expect(errorOf(second).message).toContain(first.body.run_id as string);
    expect(second.body.error).toMatchObject({ details: { active_run_id: first.body.run_id } });
    expect(env.sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
    const audit = await env.deps.audit.listByStrategy(strategyId);
    expect(audit.items.map((item) => item.outcome)).toEqual(['accepted', 'refused']);
  });

  it('answers 401 to a request without a token and 403 to a token without strategies:write', async () => {
    // prepare
    const strategyId = freshStrategy();
    const before = await env.snapshot();

    // act
    const anonymous = await start(strategyId, startBody(), { scopes: null });
    const readOnly = await start(strategyId, startBody(), { scopes: READ_SCOPES });

    // assess
    expect(anonymous.statusCode).toBe(401);
    expect(errorOf(anonymous).code).toBe('unauthorized');
    expect(readOnly.statusCode).toBe(403);
    expect(errorOf(readOnly).message).toContain('strategies:write');
    expect(await env.snapshot()).toEqual(before);
  });

  it('reads scopes from the space-separated scope claim as well as the scopes array', async () => {
    // prepare
    const strategyId = freshStrategy();

    // act
    const response = await start(strategyId, startBody(), {
      scopes: [],
      claims: { scope: 'openid strategies:read strategies:write' },
    });

    // assess
    expect(response.statusCode).toBe(202);
  });

  it('requires strategies:live for a live start', async () => {
    // prepare
    const strategyId = freshStrategy();
    const before = await env.snapshot();

    // act
    const response = await start(strategyId, startBody({ mode: 'live', risk_limits: LIVE_LIMITS }), {
      scopes: WRITE_SCOPES,
    });

    // assess
    expect(response.statusCode).toBe(403);
    expect(errorOf(response).message).toContain('strategies:live');
    expect(await env.snapshot()).toEqual(before);
  });

  it('refuses a live start without risk limits or beyond the deployment bounds with 400', async () => {
    // prepare
    const strategyId = freshStrategy();
    const before = await env.snapshot();

    // act
    const missing = await start(strategyId, startBody({ mode: 'live' }), { groups: LIVE_GROUPS });
    const tooLoose = await start(
      strategyId,
      startBody({ mode: 'live', risk_limits: { ...LIVE_LIMITS, max_leverage: 25, max_drawdown_pct: 80 } }),
      { groups: LIVE_GROUPS },
    );

    // assess
    expect(missing.statusCode).toBe(400);
    expect(errorOf(missing)).toMatchObject({
      code: 'risk_limits_out_of_bounds',
      details: [{ field: 'risk_limits', message: expect.stringContaining('explicit risk limits') }],
    });
    expect(tooLoose.statusCode).toBe(400);
    expect(
      errorOf(tooLoose)
        .details?.map((issue) => issue.field)
        .sort(),
    ).toEqual(['risk_limits.max_drawdown_pct', 'risk_limits.max_leverage']);
    expect(await env.snapshot()).toEqual(before);
  });

  it('starts a live session inside the bounds with strategies:live and the live group', async () => {
    // prepare
    const strategyId = freshStrategy();

    // act
    const response = await start(strategyId, startBody({ mode: 'live', risk_limits: LIVE_LIMITS }), {
      groups: LIVE_GROUPS,
    });

    // assess
    expect(response.statusCode).toBe(202);
    const session = await env.deps.store.get(response.body.run_id as string);
    expect(session?.trading_mode).toBe('live');
    expect(session?.risk_limits).toEqual(LIVE_LIMITS);
  });

  it('lets exactly one of 200 concurrent live starts of one model under different strategy ids trade (one exchange account, two writers)', async () => {
    // prepare: the start route cannot know the account (only the agent reads the secret), so every start
    // is accepted; each launched agent then claims with the account it found behind the same secret
    const strategyIds = Array.from({ length: 200 }, () => freshStrategy());
    const account = accountIdOf('binance', 'the-same-api-key');

    // act
    const responses = await Promise.all(
      strategyIds.map((strategyId) =>
        start(strategyId, startBody({ mode: 'live', risk_limits: LIVE_LIMITS }), { groups: LIVE_GROUPS }),
      ),
    );
    const runIds = responses.map((response) => response.body.run_id as string);
    const claims = await Promise.all(
      runIds.map((runId) =>
        env.deps.store.claimSession({
          run_id: runId,
          agent_id: `agent-${runId}`,
          strategy_version: '1.0.0',
          exchange: 'binance',
          pairs: ['BTC/USDT', 'ETH/USDT'],
          account_id: account,
        }),
      ),
    );

    // assess
    expect(responses.every((response) => response.statusCode === 202)).toBe(true);
    const winners = runIds.filter((_runId, index) => claims[index]?.ok);
    expect(winners).toHaveLength(1);
    const refused = claims.filter((claim) => !claim.ok && claim.reason === 'account_busy');
    expect(refused).toHaveLength(199);
    expect(
      refused.every((claim) => !claim.ok && 'holderRunId' in claim && claim.holderRunId === winners[0]),
    ).toBe(true);
  });

  it('names each bad field and refuses unknown fields with 400', async () => {
    // prepare
    const strategyId = freshStrategy();

    // act
    const response = await start(strategyId, {
      strategy: '',
      mode: 'yolo',
      leverage: 100,
      alias: 'a',
      stage: 'b',
    });

    // assess
    expect(response.statusCode).toBe(400);
    expect(errorOf(response).code).toBe('invalid_request');
    expect(new Set(errorOf(response).details?.map((issue) => issue.field))).toEqual(
      new Set(['leverage', 'mode', 'strategy']),
    );
  });

  it('refuses bodies over 64 KB (413), non-JSON bodies (415) and malformed JSON (400)', async () => {
    // prepare
    const strategyId = freshStrategy();
    const big = startBody({ reason: 'x', overrides: { padding: 'y'.repeat(70 * 1024) } });

    // act
    const tooBig = await start(strategyId, big);
    const notJson = await start(strategyId, 'mode=live', { headers: { 'content-type': 'text/plain' } });
    const malformed = await start(strategyId, '{"strategy": ');

    // assess
    expect(tooBig.statusCode).toBe(413);
    expect(notJson.statusCode).toBe(415);
    expect(malformed.statusCode).toBe(400);
    expect(errorOf(malformed).code).toBe('invalid_json');
  });

  it('replays the first 202 for a retried Idempotency-Key and creates nothing more', async () => {
    // prepare
    const strategyId = freshStrategy();
    const headers = { 'idempotency-key': `retry-${strategyId}` };
    const first = await start(strategyId, startBody(), { headers });

    // act
    const retry = await start(strategyId, startBody(), { headers });

    // assess
    expect(first.statusCode).toBe(202);
    expect(retry.statusCode).toBe(202);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(env.sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
    const sessions = await env.deps.store.listByStatus('pending', { limit: 1000 });
    expect(sessions.items.filter((session) => session.strategy_id === strategyId)).toHaveLength(1);
  });

  it('keys idempotency by caller: another subject with the same key is a new request', async () => {
    // prepare
    const strategyId = freshStrategy();
    const headers = { 'idempotency-key': `shared-${strategyId}` };
    await start(strategyId, startBody(), { headers, subject: 'operator-a' });

    // act
    const other = await start(strategyId, startBody(), { headers, subject: 'operator-b' });

    // assess
    expect(other.statusCode).toBe(409);
    expect(errorOf(other).code).toBe('strategy_busy');
  });

  it('answers 422 when an Idempotency-Key comes back with a different body', async () => {
    // prepare
    const strategyId = freshStrategy();
    const headers = { 'idempotency-key': `changed-${strategyId}` };
    await start(strategyId, startBody(), { headers });
    const before = await env.snapshot();

    // act
    const response = await start(strategyId, startBody({ alias: 'challenger' }), { headers });

    // assess
    expect(response.statusCode).toBe(422);
    expect(errorOf(response).code).toBe('idempotency_key_reused');
    expect(await env.snapshot()).toEqual(before);
  });

  it('answers 409 request_in_progress to a retry that arrives while the first request still runs', async () => {
    // prepare
    const strategyId = freshStrategy();
    const headers = { 'idempotency-key': `in-flight-${strategyId}` };
    let reached!: () => void;
    let release!: () => void;
    const atStepFunctions = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    env.sfn.on(StartExecutionCommand).callsFake(async (input: { name?: string }) => {
      reached();
      await gate;
      return { executionArn: `${STATE_MACHINE_ARN}:${input.name}`, startDate: new Date() };
    });
    const first = start(strategyId, startBody(), { headers });
    await atStepFunctions;

    // act
    const retry = await start(strategyId, startBody(), { headers });
    release();

    // assess
    expect(retry.statusCode).toBe(409);
    expect(errorOf(retry).code).toBe('request_in_progress');
    expect((await first).statusCode).toBe(202);
  });

  it('does not store a refusal under an Idempotency-Key, so a retry after the cause is gone succeeds', async () => {
    // prepare
    const strategyId = freshStrategy();
    const blocker = await start(strategyId);
    const headers = { 'idempotency-key': `after-stop-${strategyId}` };
    const refused = await start(strategyId, startBody(), { headers });
    await env.deps.store.transition(blocker.body.run_id as string, 'stopping');
    await env.deps.store.transition(blocker.body.run_id as string, 'stopped');
    await env.deps.store.releaseLock(strategyId, blocker.body.run_id as string);

    // act
    const retried = await start(strategyId, startBody(), { headers });

    // assess
    expect(refused.statusCode).toBe(409);
    expect(retried.statusCode).toBe(202);
  });

  it('marks the session failed, frees the lock and answers 503 when StartExecution fails', async () => {
    // prepare
    const strategyId = freshStrategy();
    env.sfn
      .on(StartExecutionCommand)
      .rejectsOnce(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));

    // act
    const response = await start(strategyId);

    // assess
    expect(response.statusCode).toBe(503);
    expect(errorOf(response).code).toBe('launch_unavailable');
    expect(response.headers['retry-after']).toBeDefined();
    const lock = await env.deps.store.getLock(strategyId);
    expect(lock?.active_run_id).toBeNull();
    const failed = await env.deps.store.get(lock?.last_run_id ?? '');
    expect(failed).toMatchObject({
      status: 'failed',
      status_reason: expect.stringContaining('ThrottlingException'),
    });
    expect(response.raw).not.toContain('throttled');
    env.resetSfn();
    const again = await start(strategyId);
    expect(again.statusCode).toBe(202);
  });

  it('answers 202 and keeps the lock when StartExecution failed after the execution had already started', async () => {
    // prepare: the call times out on our side, but Step Functions took it and the workflow ran its first state
    const strategyId = freshStrategy();
    env.sfn.on(StartExecutionCommand).callsFake(async (input: { name?: string }) => {
      await env.deps.store.transition(input.name ?? '', 'launching');
      throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    });

    // act
    const response = await start(strategyId);

    // assess
    expect(response.statusCode).toBe(202);
    const runId = response.body.run_id as string;
    expect((await env.deps.store.get(runId))?.status).toBe('launching');
    expect((await env.deps.store.getLock(strategyId))?.active_run_id).toBe(runId);
  });

  it('lets exactly one of 200 concurrent starts of one strategy through and refuses the rest with 409', async () => {
    // prepare
    const strategyId = freshStrategy();

    // act
    const responses = await Promise.all(Array.from({ length: 200 }, () => start(strategyId)));

    // assess
    const accepted = responses.filter((response) => response.statusCode === 202);
    const refused = responses.filter((response) => response.statusCode === 409);
    expect(accepted).toHaveLength(1);
    expect(refused).toHaveLength(199);
    const runId = accepted[0]?.body.run_id;
    for (const response of refused) expect(errorOf(response).code).toBe('strategy_busy');
    expect((await env.deps.store.getLock(strategyId))?.active_run_id).toBe(runId);
    const all = await env.snapshot();
    const sessions = all.sessions.filter(
      (item) =>
        (item as { item_type?: string; strategy_id?: string }).item_type === 'session' &&
        (item as { strategy_id?: string }).strategy_id === strategyId,
    );
    expect(sessions).toHaveLength(1);
    expect(env.sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
  });

  it('answers every fuzzed bad body and path with a 4xx and changes nothing', async () => {
    // prepare
    const before = await env.snapshot();
    const validBody = startBody({ risk_limits: LIVE_LIMITS });
    const badBody = fc
      .oneof(
        fc.jsonValue(),
        fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 8 }),
        fc
          .record({
            key: fc.constantFrom(...Object.keys(validBody), 'extra', '__proto__', 'constructor'),
            value: fc.jsonValue({ maxDepth: 2 }),
          })
          .map(({ key, value }) => JSON.parse(JSON.stringify({ ...validBody, [key]: value }))),
        fc
          .record({
            field: fc.constantFrom(
              'max_drawdown_pct',
              'max_daily_loss',
              'max_open_trades',
              'max_leverage',
              'breach_ladder',
            ),
            value: fc.oneof(fc.double(), fc.integer(), fc.string(), fc.constant(null), fc.array(fc.string())),
          })
          .map(({ field, value }) => ({
            ...validBody,
            mode: 'live',
            risk_limits: { ...LIVE_LIMITS, [field]: value },
          })),
      )
      // A valid body may only slip through as a live start, which these write-only tokens may not make.
      .filter((body) => {
        const parsed = StartBodySchema.safeParse(body);
        return !parsed.success || parsed.data.mode === 'live';
      });
    const rawBody = fc.string({ maxLength: 200 });
    const badStrategy = fc.string({ maxLength: 60 }).filter((id) => !StrategyIdSchema.safeParse(id).success);
    const cases = fc.oneof(
      badBody.map((body) => ({ strategyId: 'fuzz-target', body: body as unknown, raw: false })),
      rawBody.map((body) => ({ strategyId: 'fuzz-target', body: body as unknown, raw: true })),
      badStrategy.map((strategyId) => ({ strategyId, body: startBody() as unknown, raw: false })),
    );

    // act
    const statuses: number[] = [];
    await fc.assert(
      fc.asyncProperty(cases, async ({ strategyId, body, raw }) => {
        const response = await start(strategyId, raw ? body : JSON.stringify(body), { scopes: WRITE_SCOPES });
        statuses.push(response.statusCode);
        expect(response.statusCode).toBeGreaterThanOrEqual(400);
        expect(response.statusCode).toBeLessThan(500);
        expect(errorOf(response)).toMatchObject({ code: expect.any(String), message: expect.any(String) });
        expect(response.raw).not.toMatch(/\n\s+at /);
      }),
      { numRuns: 200, seed: 20260302 },
    );

    // assess
    expect(statuses).toHaveLength(200);
    expect(await env.snapshot()).toEqual(before);
  });
});
