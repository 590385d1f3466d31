import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '../../local/cloud/cloud';
import { DynamoAuditLog } from '../../shared/adapters/dynamodb/audit-log';
import { createDocumentClient } from '../../shared/adapters/dynamodb/client';
import {
  apiOf,
  FAST,
  LIVE_LIMITS,
  LIVE_TRADER,
  sessionWhere,
  startBody,
  startFastCloud,
  TWO_OPEN_TRADES,
} from './support';

const DRY_RUNS = ['e2e-halt-1', 'e2e-halt-2', 'e2e-halt-3', 'e2e-halt-4'];

describe('Local cloud: the kill switch (fleet and account trading states)', () => {
  let cloud: LocalCloud;
  let api: ReturnType<typeof apiOf>;
  const runs = new Map<string, string>();
  beforeAll(async () => {
    cloud = await startFastCloud({
      // The flatten waits for its exits; the sweep must not force the stop before it.
      functionEnvironment: { ...FAST.functionEnvironment, STOP_GRACE_S: '60', SCOPE_CONFIRM_TIMEOUT_S: '15' },
    });
    api = apiOf(cloud);
  }, 60_000);
  afterAll(async () => {
    await cloud?.close();
  }, 60_000);

  const scopePages = () => cloud.alerts.published.filter((alert) => alert.kind.startsWith('scope.'));

  it('halts the fleet to reducing: every Freqtrade paused, starts and resumes refused 409 naming who and why, one page', async () => {
    // prepare: four dry-runs and one live session with two open trades
    for (const id of DRY_RUNS) {
      const started = await api('POST', `/strategies/${id}/start`, { body: startBody() });
      runs.set(id, String(started.body.run_id));
    }
    const live = await api('POST', '/strategies/e2e-halt-live/start', {
      ...LIVE_TRADER,
      body: startBody(TWO_OPEN_TRADES, { mode: 'live', risk_limits: LIVE_LIMITS }),
    });
    runs.set('e2e-halt-live', String(live.body.run_id));
    for (const [id, runId] of runs)
      await sessionWhere(
        cloud,
        runId,
        (s) => s.status === 'running' && (id !== 'e2e-halt-live' || s.open_trades.length === 2),
        'running',
        240_000,
      );

    // act
    const halt = await api('POST', '/fleet/halt', {
      body: { mode: 'reducing', reason: 'e2e: exchange incident' },
    });
    const start = await api('POST', '/strategies/e2e-halt-late/start', { body: startBody() });
    const resume = await api('POST', `/strategies/${DRY_RUNS[0]}/resume`, { body: { reason: 'too early' } });
    await cloud.streamsDrained();

    // assess
    expect(halt.status, JSON.stringify(halt.body)).toBe(200);
    const sessions = halt.body.sessions as { confirmed: string[]; unconfirmed: unknown[] };
    expect(sessions.unconfirmed).toEqual([]);
    expect(new Set(sessions.confirmed)).toEqual(new Set(runs.values()));
    for (const runId of runs.values()) {
      const session = await cloud.store.get(runId);
      expect(session?.health?.freqtrade_state).toBe('paused');
      expect(session?.scope_holds).toEqual(['scope#fleet']);
    }
    expect(start.status).toBe(409);
    expect(start.body.error).toMatchObject({ code: 'scope_not_active' });
    expect(JSON.stringify(start.body)).toContain('local-operator');
    expect(JSON.stringify(start.body)).toContain('e2e: exchange incident');
    expect(resume.status).toBe(409);
    expect(resume.body.error).toMatchObject({ code: 'scope_not_active' });
    expect(scopePages().map((page) => [page.kind, page.severity])).toEqual([['scope.reducing', 'WARNING']]);
    const sessionPauses = cloud.alerts.published.filter((alert) => alert.kind === 'status.paused');
    expect(sessionPauses).toEqual([]);
  }, 420_000);

  it("halts the live session's account: its positions flattened, then the session stopped", async () => {
    // prepare
    const liveRun = runs.get('e2e-halt-live') as string;
    const accountId = (await cloud.store.get(liveRun))?.account_id;
    expect(accountId).toMatch(/^[a-f0-9]{16,64}$/);

    // act
    const halt = await api('POST', `/accounts/${accountId}/halt`, {
      body: { mode: 'halted', reason: 'e2e: key leaked' },
    });
    const stopped = await sessionWhere(cloud, liveRun, (s) => s.status === 'stopped', 'stopped', 90_000);
    await cloud.streamsDrained();

    // assess
    expect(halt.status, JSON.stringify(halt.body)).toBe(200);
    expect(stopped.flatten_on_stop).toBe(true);
    expect(stopped.stop_outcome?.positions).toBe('flattened');
    for (const id of DRY_RUNS) expect((await cloud.store.get(runs.get(id) as string))?.status).toBe('paused');
    expect(scopePages().map((page) => page.kind)).toEqual(['scope.reducing', 'scope.halted']);
    expect(scopePages()[1]?.message).toContain(accountId);
  }, 180_000);

  it('resumes the fleet only by hand, only the sessions it paused, audited; the account stays halted (a new live session on it fails)', async () => {
    // act
    const resumed = await api('POST', '/fleet/resume', {
      ...LIVE_TRADER,
      body: { reason: 'e2e: incident over' },
    });
    const state = await api('GET', '/fleet/state');
    for (const id of DRY_RUNS)
      await sessionWhere(cloud, runs.get(id) as string, (s) => s.status === 'running', 'running again');

    const late = await api('POST', '/strategies/e2e-halt-live-2/start', {
      ...LIVE_TRADER,
      body: startBody(TWO_OPEN_TRADES, { mode: 'live', risk_limits: LIVE_LIMITS }),
    });
    const refused = await sessionWhere(
      cloud,
      String(late.body.run_id),
      (s) => s.status === 'failed',
      'failed',
      90_000,
    );

    // assess
    expect(late.status).toBe(202);
    expect(refused.status_reason).toContain('scope_not_active');
    expect(refused.status_reason).toContain('e2e: key leaked');
    expect(refused.heartbeat_seq).toBe(0);
    expect(resumed.status, JSON.stringify(resumed.body)).toBe(200);
    expect(state.body).toMatchObject({
      fleet: { state: 'active', previous_state: 'reducing' },
      accounts: [{ state: 'halted', reason: 'e2e: key leaked' }],
    });
    const stage = cloud.tables.sessions.replace('tradai-workflow-state-', '');
    const doc = createDocumentClient({
      endpoint: cloud.dynamoEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const audit = await new DynamoAuditLog(doc, { auditTable: `tradai-audit-${stage}` }).listByStrategy(
      'scope#fleet',
    );
    doc.destroy();
    expect(
      audit.items
        .filter((entry) => entry.outcome === 'accepted')
        .map((entry) => [entry.action, entry.actor, entry.scope_state_before, entry.scope_state_after]),
    ).toEqual([
      ['halt', 'local-operator', 'active', 'reducing'],
      ['scope_resume', 'local-operator', 'reducing', 'active'],
    ]);
  }, 240_000);
});
