import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoAlertHistory } from '../../shared/adapters/dynamodb/alert-history';
import { alertRecordOf, alertViewOf, RecordingAlertPublisher } from '../../shared/domain/alert-history';
import { ManualClock } from '../../shared/domain/clock';
import type { Alert, AlertPublisher } from '../../shared/domain/ports';
import { startTestDynamo, type TestDynamo } from '../support/dynamo';
import { newSessionInput } from './session-store.contract';

const alertOf = (overrides: Partial<Alert> = {}): Alert => ({
  severity: 'CRITICAL',
  subject: '[CRITICAL] live: drawdown breach',
  message:
    'Drawdown 12% over its 10% limit. Container ecs arn:aws:ecs:us-east-1:123456789012:service/c/s paused.',
  strategy_id: 'strat-a',
  run_id: 'run-1',
  kind: 'risk.breach',
  dedup_id: 'run-1#breach#1',
  ...overrides,
});

describe('Alert history: every published alert is recorded (RecordingAlertPublisher over DynamoDB)', () => {
  let db: TestDynamo;
  let history: DynamoAlertHistory;
  const clock = new ManualClock(Date.parse('2026-12-01T10:00:00.000Z'));

  beforeAll(async () => {
    db = await startTestDynamo();
    history = new DynamoAlertHistory(db.doc, {
      alertsTable: db.tables.sessions.replace('workflow-state', 'alerts'),
      sessionsTable: db.tables.sessions,
    });
  });
  afterAll(async () => {
    await db.close();
  });

  const recording = (inner: AlertPublisher, failures: unknown[] = []) =>
    new RecordingAlertPublisher({
      inner,
      history,
      clock,
      onRecordFailed: (_alert, error) => failures.push(error),
    });

  it('records what the inner publisher published, with a 90-day TTL', async () => {
    // prepare
    const published: Alert[] = [];
    const publisher = recording({ publish: async (alert) => void published.push(alert) });
    // act
    await publisher.publish(alertOf({ strategy_id: 'strat-rec' }));
    // assess
    expect(published).toHaveLength(1);
    const page = await history.list({ strategy_id: 'strat-rec' });
    expect(page.items).toHaveLength(1);
    expect(page.items[0]).toMatchObject({
      severity: 'CRITICAL',
      kind: 'risk.breach',
      strategy_id: 'strat-rec',
      run_id: 'run-1',
      body: published[0]?.message,
      at: '2026-12-01T10:00:00.000Z',
      dedup_id: 'run-1#breach#1',
      ttl: Date.parse('2026-12-01T10:00:00.000Z') / 1000 + 90 * 86_400,
    });
  });

  const recordAt = async (strategyId: string, at: string, overrides: Partial<Alert> = {}) =>
    history.record(alertRecordOf(alertOf({ strategy_id: strategyId, ...overrides }), Date.parse(at)));
  const lockOf = (strategyId: string) => db.newStore(clock).getLock(strategyId);

  it("keeps the strategy's newest alert on its lock item (GET /fleet reads it with the lock), a newer one replacing it", async () => {
    // prepare
    const created = await db.newStore(clock).createSession(newSessionInput('strat-lock-newer'));
    expect(created.ok).toBe(true);
    // act
    await recordAt('strat-lock-newer', '2026-12-01T10:00:00.000Z', {
      severity: 'WARNING',
      kind: 'status.stale',
    });
    await recordAt('strat-lock-newer', '2026-12-01T10:05:00.000Z', {
      severity: 'INFO',
      kind: 'status.recovered',
      subject: 'recovered',
    });
    // assess
    expect((await lockOf('strat-lock-newer'))?.last_alert).toEqual({
      at: '2026-12-01T10:05:00.000Z',
      severity: 'INFO',
      kind: 'status.recovered',
      run_id: 'run-1',
      subject: 'recovered',
    });
  });

  it('never moves the lock item back to an older alert (a redelivered or out-of-order record is ignored)', async () => {
    // prepare
    await db.newStore(clock).createSession(newSessionInput('strat-lock-older'));
    await recordAt('strat-lock-older', '2026-12-01T10:05:00.000Z', { kind: 'status.recovered' });
    // act
    await recordAt('strat-lock-older', '2026-12-01T10:00:00.000Z', { kind: 'status.stale' });
    // assess
    expect((await lockOf('strat-lock-older'))?.last_alert).toMatchObject({
      at: '2026-12-01T10:05:00.000Z',
      kind: 'status.recovered',
    });
    expect((await history.list({ strategy_id: 'strat-lock-older' })).items).toHaveLength(2);
  });

  it('writes no lock item for a strategy without one, and does not fail (the alert is still recorded)', async () => {
    // act
    await recordAt('strat-never-started', '2026-12-01T10:00:00.000Z');
    // assess
    expect(await lockOf('strat-never-started')).toBeUndefined();
    expect((await history.list({ strategy_id: 'strat-never-started' })).items).toHaveLength(1);
  });

  it("keeps the strategy's last alert across a new start (the start replaces the lock item)", async () => {
    // prepare
    const store = db.newStore(clock);
    const first = newSessionInput('strat-lock-restart');
    await store.createSession(first);
    await recordAt('strat-lock-restart', '2026-12-01T10:00:00.000Z', { run_id: first.run_id });
    await store.transition(first.run_id, 'stopping');
    await store.transition(first.run_id, 'stopped');
    await store.releaseLock('strat-lock-restart', first.run_id);
    // act
    const second = await store.createSession(newSessionInput('strat-lock-restart'));
    // assess
    expect(second.ok).toBe(true);
    expect((await lockOf('strat-lock-restart'))?.last_alert).toMatchObject({ run_id: first.run_id });
  });

  it('records nothing when the publish failed (the history says what paged)', async () => {
    const publisher = recording({
      publish: async () => {
        throw new Error('SNS throttled');
      },
    });
    await expect(publisher.publish(alertOf({ strategy_id: 'strat-fail' }))).rejects.toThrow('SNS throttled');
    expect((await history.list({ strategy_id: 'strat-fail' })).items).toEqual([]);
  });

  it('still pages when the history cannot be written (a failed record is reported, not thrown)', async () => {
    const published: Alert[] = [];
    const failures: unknown[] = [];
    const broken = new RecordingAlertPublisher({
      inner: { publish: async (alert) => void published.push(alert) },
      history: {
        record: async () => {
          throw new Error('ProvisionedThroughputExceeded');
        },
        list: async () => ({ items: [] }),
      },
      clock,
      onRecordFailed: (_alert, error) => failures.push(error),
    });
    await broken.publish(alertOf());
    expect(published).toHaveLength(1);
    expect(failures).toHaveLength(1);
  });

  it('lists the fleet newest first by one Query on the feed index, filtered by since and severity, paginated', async () => {
    // prepare: three alerts a minute apart over two strategies
    const publisher = recording({ publish: async () => undefined });
    const base = Date.parse('2026-12-02T00:00:00.000Z');
    const severities = ['INFO', 'WARNING', 'CRITICAL'] as const;
    for (const [index, severity] of severities.entries()) {
      clock.set(base + index * 60_000);
      await publisher.publish(
        alertOf({ severity, strategy_id: index === 1 ? 'strat-y' : 'strat-x', dedup_id: `fleet-${index}` }),
      );
    }
    const since = new Date(base).toISOString();
    // act + assess: newest first, across strategies, paged two and one
    const first = await history.list({ since }, { limit: 2 });
    expect(first.items.map((item) => item.dedup_id)).toEqual(['fleet-2', 'fleet-1']);
    expect(first.cursor).toBeDefined();
    const second = await history.list({ since }, { limit: 2, cursor: first.cursor });
    expect(second.items.map((item) => item.dedup_id)).toContain('fleet-0');
    const critical = await history.list({ since, severity: 'CRITICAL' });
    expect(critical.items.every((item) => item.severity === 'CRITICAL')).toBe(true);
    expect(critical.items.map((item) => item.dedup_id)).toContain('fleet-2');
    const later = await history.list({ since: new Date(base + 90_000).toISOString() });
    expect(later.items.map((item) => item.dedup_id)).toEqual(
      expect.not.arrayContaining(['fleet-0', 'fleet-1']),
    );
  });

  it('lets no ARN out of the API view (allow-listed fields, ARNs in the body masked)', async () => {
    const [record] = (await history.list({ strategy_id: 'strat-rec' })).items;
    if (record === undefined) throw new Error('no record');
    const view = alertViewOf(record);
    expect(Object.keys(view).sort()).toEqual(
      ['at', 'body', 'dedup_id', 'kind', 'run_id', 'severity', 'strategy_id', 'subject'].sort(),
    );
    expect(JSON.stringify(view)).not.toContain('arn:aws');
  });
});
