import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../../functions/api/start-strategy/handler';
import {
  ALL_SCOPES,
  type ApiTestEnv,
  errorOf,
  type Invoke,
  invoker,
  LIVE_GROUPS,
  LIVE_LIMITS,
  startApiTest,
  startBody,
} from './support';

/** Issue 10 item 7: an operator fixing a live start must see every refused limit in the first answer. */
describe('POST /strategies/{strategyId}/start: live risk-limit requirements come back all at once', () => {
  let env: ApiTestEnv;
  let invoke: Invoke;
  beforeAll(async () => {
    env = await startApiTest();
    invoke = invoker(createHandler(env.deps));
  });
  afterAll(async () => {
    await env.close();
  });

  const start = (body: unknown) =>
    invoke({
      method: 'POST',
      route: '/strategies/{strategyId}/start',
      params: { strategyId: 'live-limits' },
      body,
      scopes: ALL_SCOPES,
      groups: LIVE_GROUPS,
    });
  const fieldsOf = (response: Awaited<ReturnType<Invoke>>) =>
    (errorOf(response).details ?? []).map((issue) => issue.field).sort();

  it('names a missing limit and the limits beyond the deployment bounds in one 400 (bounds were checked only once the schema passed)', async () => {
    // prepare
    const before = await env.snapshot();
    const { max_daily_loss: _omitted, ...withoutDailyLoss } = LIVE_LIMITS;

    // act
    const response = await start(
      startBody({
        mode: 'live',
        risk_limits: { ...withoutDailyLoss, max_leverage: 25, max_drawdown_pct: 80, max_open_trades: 0 },
      }),
    );

    // assess
    expect(response.statusCode).toBe(400);
    expect(fieldsOf(response)).toEqual([
      'risk_limits.max_daily_loss',
      'risk_limits.max_drawdown_pct',
      'risk_limits.max_leverage',
      'risk_limits.max_open_trades',
    ]);
    expect(await env.snapshot()).toEqual(before);
  });

  it('names a bad field elsewhere in the body together with the limits beyond the bounds (one answer, not two)', async () => {
    // act
    const response = await start(
      startBody({ mode: 'live', alias: 'not a name!', risk_limits: { ...LIVE_LIMITS, max_leverage: 25 } }),
    );

    // assess
    expect(response.statusCode).toBe(400);
    expect(fieldsOf(response)).toEqual(['alias', 'risk_limits.max_leverage']);
  });

  it('says which limits a live start needs when it gives none', async () => {
    // act
    const response = await start(startBody({ mode: 'live' }));

    // assess
    expect(response.statusCode).toBe(400);
    const [issue] = errorOf(response).details ?? [];
    for (const required of [
      'max_drawdown_pct',
      'max_daily_loss',
      'max_open_trades',
      'max_leverage',
      'max_monitor_failures',
    ]) {
      expect(issue?.message).toContain(required);
    }
  });
});
