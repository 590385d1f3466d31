import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../../functions/api/read-strategies/handler';
import type { AuditEntry } from '../../../shared/domain/audit';
import { type ApiTestEnv, errorOf, type Invoke, invoker, READ_SCOPES, startApiTest } from './support';

const entryOf = (index: number, overrides: Partial<AuditEntry> = {}): AuditEntry => ({
  strategy_id: 'alpha',
  run_id: 'run-alpha',
  at: new Date(Date.parse('2026-03-02T09:00:00.000Z') + index * 60_000).toISOString(),
  action: 'pause',
  outcome: 'accepted',
  actor: `operator-${index}`,
  reason: `reason ${index}`,
  trading_mode: 'dry-run',
  state_before: { status: 'running', desired_state: 'running' },
  state_after: { status: 'running', desired_state: 'paused' },
  detail: null,
  request_id: `request-${index}`,
  ...overrides,
});

describe('Handler: read-strategies, the audit trail route', () => {
  let env: ApiTestEnv;
  let invoke: Invoke;
  const get = (params: Record<string, string>, extra: Partial<Parameters<Invoke>[0]> = {}) =>
    invoke({ method: 'GET', route: '/strategies/{strategyId}/audit', params, scopes: READ_SCOPES, ...extra });

  beforeAll(async () => {
    env = await startApiTest();
    invoke = invoker(createHandler(env.deps));
    for (const index of [0, 1, 2]) await env.deps.audit.record(entryOf(index));
    await env.deps.audit.record(entryOf(3, { strategy_id: 'bravo', run_id: 'run-bravo' }));
  });
  afterAll(async () => env.close());

  it("lists a strategy's commands newest first (who, what, why, state before and after), paginated", async () => {
    // act
    const first = await get({ strategyId: 'alpha' }, { query: { limit: '2' } });
    const second = await get(
      { strategyId: 'alpha' },
      { query: { limit: '2', cursor: String(first.body.cursor) } },
    );
    // assess
    expect(first.statusCode).toBe(200);
    expect(first.body.strategy_id).toBe('alpha');
    const items = first.body.items as Record<string, unknown>[];
    expect(items.map((item) => item.actor)).toEqual(['operator-2', 'operator-1']);
    expect(items[0]).toMatchObject({
      action: 'pause',
      outcome: 'accepted',
      reason: 'reason 2',
      state_before: { status: 'running', desired_state: 'running' },
      state_after: { status: 'running', desired_state: 'paused' },
    });
    expect(items[0]).not.toHaveProperty('at_run_id');
    expect((second.body.items as { actor: string }[]).map((item) => item.actor)).toEqual(['operator-0']);
    expect(second.body.cursor).toBeUndefined();
  });

  it('answers an empty trail for a strategy nobody commanded, not a 404', async () => {
    const response = await get({ strategyId: 'charlie' });
    expect(response.statusCode).toBe(200);
    expect(response.body.items).toEqual([]);
  });

  it('refuses a bad limit, an unknown query field and a bad strategy id with 400 naming the field', async () => {
    // act
    const limit = await get({ strategyId: 'alpha' }, { query: { limit: '0' } });
    const unknown = await get({ strategyId: 'alpha' }, { query: { since: 'x' } });
    const id = await get({ strategyId: 'not a valid id!' });
    // assess
    expect(limit.statusCode).toBe(400);
    expect(errorOf(limit).details?.[0]?.field).toBe('query.limit');
    expect(errorOf(unknown).details?.[0]?.field).toBe('query.since');
    expect(id.statusCode).toBe(400);
  });

  it('refuses a token without strategies:read', async () => {
    const response = await get({ strategyId: 'alpha' }, { scopes: ['tradai/strategies:write'] });
    expect(response.statusCode).toBe(403);
  });
});
