import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '../../local/cloud/cloud';
import { alertsFor, apiOf, LIVE_LIMITS, sessionWhere, startBody, startFastCloud } from './support';

const LIVE_SCOPES = ['strategies:read', 'strategies:write', 'strategies:live'];
describe('Local cloud: one exchange account, one writer per pair', () => {
  let cloud: LocalCloud;
  beforeAll(async () => {
    cloud = await startFastCloud();
  }, 60_000);
  afterAll(async () => {
    await cloud?.close();
  }, 60_000);

  it('refuses a second live session of the same model on the same account, naming the holder (one exchange account, two writers)', async () => {
    // prepare: the first live session trades the model's pairs on the demo account
    const api = apiOf(cloud);
    const live = (strategyId: string) =>
      api('POST', `/strategies/${strategyId}/start`, {
        scopes: LIVE_SCOPES,
        groups: ['tradai-live'],
        body: startBody({}, { mode: 'live', risk_limits: LIVE_LIMITS }),
      });
    const first = await live('e2e-pascal');
    expect(first.status).toBe(202);
    const holder = String(first.body.run_id);
    await sessionWhere(cloud, holder, (s) => s.status === 'running', 'first live session running');

    // act: the same model under another strategy id
    const second = await live('e2e-pascal-2');
    const refusedRun = String(second.body.run_id);
    const refused = await sessionWhere(
      cloud,
      refusedRun,
      (s) => s.status === 'failed',
      'second live session failed',
    );
    await cloud.streamsDrained();

    // assess
    expect(second.status).toBe(202);
    expect(refused.status_reason).toContain('account_busy');
    expect(refused.status_reason).toContain(holder);
    expect(refused.heartbeat_seq).toBe(0);
    expect((await cloud.store.get(holder))?.status).toBe('running');
    const pages = alertsFor(cloud, refusedRun).filter((alert) => alert.kind !== 'status.launching');
    expect(pages.map((alert) => [alert.kind, alert.severity])).toEqual([['status.failed', 'WARNING']]);
    expect(pages[0]?.message).toContain(holder);
    expect(alertsFor(cloud, holder, { severity: 'CRITICAL' })).toEqual([]);
    await sessionWhere(
      cloud,
      refusedRun,
      () => cloud.platform.tasks().every((task) => task.runId !== refusedRun),
      'refused session has no container',
    );
    expect((await cloud.store.getLock('e2e-pascal-2'))?.active_run_id).toBeNull();
  });
});
