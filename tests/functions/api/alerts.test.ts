import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../../functions/api/read-strategies/handler';
import { RecordingAlertPublisher } from '../../../shared/domain/alert-history';
import type { Alert } from '../../../shared/domain/ports';
import { type ApiTestEnv, errorOf, type Invoke, invoker, READ_SCOPES, startApiTest } from './support';

const alertOf = (index: number, overrides: Partial<Alert> = {}): Alert => ({
  severity: 'WARNING',
  subject: `[WARNING] alert ${index}`,
  message: `Container ecs arn:aws:ecs:us-east-1:123456789012:task/tradai-test/abc${index} restarted.`,
  strategy_id: 'alpha',
  run_id: 'run-alpha',
  kind: 'container.restarted',
  dedup_id: `alert-${index}`,
  ...overrides,
});

describe('Handler: read-strategies, the alert history routes', () => {
  let env: ApiTestEnv;
  let invoke: Invoke;
  const get = (
    route: string,
    params: Record<string, string> = {},
    extra: Partial<Parameters<Invoke>[0]> = {},
  ) => invoke({ method: 'GET', route, params, scopes: READ_SCOPES, ...extra });
  const start = Date.parse('2026-03-02T09:00:00.000Z');

  beforeAll(async () => {
    env = await startApiTest();
    invoke = invoker(createHandler(env.deps));
    // Recorded the way the producers' alerts are: through the decorator, one minute apart.
    const publisher = new RecordingAlertPublisher({
      inner: { publish: async () => undefined },
      history: env.deps.alertHistory,
      clock: env.clock,
      onRecordFailed: (_alert, error) => {
        throw error;
      },
    });
    env.clock.set(start);
    await publisher.publish(alertOf(0));
    env.clock.advance(60_000);
    await publisher.publish(alertOf(1, { severity: 'CRITICAL', kind: 'risk.breach' }));
    env.clock.advance(60_000);
    await publisher.publish(alertOf(2, { strategy_id: 'bravo', run_id: 'run-bravo' }));
    env.clock.advance(60_000);
    await publisher.publish(alertOf(3, { severity: 'INFO' }));
  });
  afterAll(async () => env.close());

  it("lists a strategy's alerts newest first, paginated with the cursor, and only allow-listed fields", async () => {
    // act
    const first = await get(
      '/strategies/{strategyId}/alerts',
      { strategyId: 'alpha' },
      { query: { limit: '2' } },
    );
    const second = await get(
      '/strategies/{strategyId}/alerts',
      { strategyId: 'alpha' },
      { query: { limit: '2', cursor: String(first.body.cursor) } },
    );
    // assess
    expect(first.statusCode).toBe(200);
    const items = first.body.items as Record<string, unknown>[];
    expect(items.map((item) => item.dedup_id)).toEqual(['alert-3', 'alert-1']);
    expect(Object.keys(items[0] ?? {}).sort()).toEqual(
      ['at', 'body', 'dedup_id', 'kind', 'run_id', 'severity', 'strategy_id', 'subject'].sort(),
    );
    expect(first.raw).not.toContain('arn:aws');
    expect(first.raw).not.toContain('ttl');
    expect((second.body.items as { dedup_id: string }[]).map((item) => item.dedup_id)).toEqual(['alert-0']);
    expect(second.body.cursor).toBeUndefined();
  });

  it('lists the fleet newest first, filtered by since, severity and strategy_id', async () => {
    // act
    const all = await get('/alerts');
    const critical = await get('/alerts', {}, { query: { severity: 'CRITICAL' } });
    const since = await get('/alerts', {}, { query: { since: new Date(start + 120_000).toISOString() } });
    const bravo = await get('/alerts', {}, { query: { strategy_id: 'bravo' } });
    // assess
    const ids = (response: typeof all) =>
      (response.body.items as { dedup_id: string }[]).map((i) => i.dedup_id);
    expect(ids(all)).toEqual(['alert-3', 'alert-2', 'alert-1', 'alert-0']);
    expect(ids(critical)).toEqual(['alert-1']);
    expect(ids(since)).toEqual(['alert-3', 'alert-2']);
    expect(ids(bravo)).toEqual(['alert-2']);
  });

  it('refuses bad alert queries with 400 naming the field', async () => {
    // act
    const severity = await get('/alerts', {}, { query: { severity: 'PANIC' } });
    const since = await get('/alerts', {}, { query: { since: 'yesterday' } });
    const unknown = await get('/alerts', {}, { query: { page: '2' } });
    const limit = await get(
      '/strategies/{strategyId}/alerts',
      { strategyId: 'alpha' },
      { query: { limit: '0' } },
    );
    const tampered = await get('/alerts', {}, { query: { cursor: 'bm90LWEta2V5' } });
    // assess
    expect(severity.statusCode).toBe(400);
    expect(errorOf(severity).details?.[0]?.field).toBe('query.severity');
    expect(errorOf(since).details?.[0]?.field).toBe('query.since');
    expect(errorOf(unknown).details?.[0]?.field).toBe('query.page');
    expect(errorOf(limit).details?.[0]?.field).toBe('query.limit');
    expect(tampered.statusCode).toBe(400);
  });

  it('refuses a token without strategies:read', async () => {
    const response = await get('/alerts', {}, { scopes: ['tradai/strategies:write'] });
    expect(response.statusCode).toBe(403);
  });
});
