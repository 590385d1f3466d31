import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '../../local/cloud/cloud';
import { alertsFor, apiOf, eventually, FAST, sessionWhere, startBody, startFastCloud } from './support';

describe('Local cloud: a Freqtrade that never comes up', () => {
  let cloud: LocalCloud;
  beforeAll(async () => {
    cloud = await startFastCloud({
      freqtradeCmd: '/bin/false',
      containerEnvironment: { ...FAST.containerEnvironment, FREQTRADE_MAX_RESTARTS: '3' },
    });
  }, 60_000);
  afterAll(async () => {
    await cloud?.close();
  }, 60_000);

  it('pages exactly one CRITICAL once the restarts are exhausted (restarted forever, status running, never a page)', async () => {
    // act
    const started = await apiOf(cloud)('POST', '/strategies/e2e-never-up/start', { body: startBody() });
    const runId = String(started.body.run_id);
    const reported = await sessionWhere(
      cloud,
      runId,
      (s) => s.health?.start_failure !== null && s.health?.start_failure !== undefined,
      'start failure reported',
      60_000,
    );
    await eventually(
      async () => alertsFor(cloud, runId, { kind: 'freqtrade.start_failure' }).length > 0,
      'the start-failure page',
    );
    await cloud.streamsDrained();

    // assess
    expect(reported.health?.start_failure?.action).toBe('restarts_stopped');
    const pages = alertsFor(cloud, runId).filter((alert) => !alert.kind.startsWith('status.'));
    expect(pages.map((alert) => [alert.kind, alert.severity])).toEqual([
      ['freqtrade.start_failure', 'CRITICAL'],
    ]);
    expect(pages[0]?.message).toContain(`${reported.health?.start_failure?.restarts} restarts`);
    expect(alertsFor(cloud, runId, { severity: 'CRITICAL' })).toHaveLength(1);
  });
});
