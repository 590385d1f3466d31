import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '../../local/cloud/cloud';
import {
  agentPidOf,
  alertsFor,
  apiOf,
  childPidsOf,
  eventually,
  freqtradePidOf,
  sessionWhere,
  startBody,
  startFastCloud,
} from './support';

describe('Local cloud: Freqtrade API failing while its loop runs', () => {
  let cloud: LocalCloud;
  beforeAll(async () => {
    cloud = await startFastCloud();
  }, 60_000);
  afterAll(async () => {
    await cloud?.close();
  }, 60_000);

  it('stops the Freqtrade process and pages CRITICAL naming the failed command (the page said the agent stops new entries)', async () => {
    // prepare: after 4 s every Freqtrade route answers 503 while its bot loop goes on
    const api = apiOf(cloud);
    const started = await api('POST', '/strategies/e2e-fail-closed/start', {
      body: startBody({ sim: { tick_ms: 200, scenario: { name: 'errors', at_s: 4, status: 503 } } }),
    });
    const runId = String(started.body.run_id);
    await sessionWhere(cloud, runId, (s) => s.status === 'running', 'running');
    const agent = agentPidOf(cloud, runId) as number;
    const freqtrade = await eventually(async () => freqtradePidOf(agent), 'the Freqtrade process');

    // act: the polls fail, the breach asks for /pause, which fails too
    const reported = await sessionWhere(
      cloud,
      runId,
      (s) => s.health?.fail_closed !== null && s.health?.fail_closed !== undefined,
      'fail-closed report',
      60_000,
    );
    await cloud.streamsDrained();

    // assess
    expect(reported.health?.fail_closed?.action).toMatch(/process_(stopped|killed)/);
    await eventually(async () => !childPidsOf(agent).includes(freqtrade), 'Freqtrade process stopped');
    const pages = alertsFor(cloud, runId, { kind: 'agent.fail_closed' });
    expect(pages).toHaveLength(1);
    expect(pages[0]?.severity).toBe('CRITICAL');
    expect(pages[0]?.message).toContain(`/${reported.health?.fail_closed?.command}`);
    expect(pages[0]?.message).toContain('stopped the Freqtrade process');
    // The breach that asked for /pause is the same incident: it is told in that one page.
    expect(alertsFor(cloud, runId, { severity: 'CRITICAL' })).toHaveLength(1);
    expect(pages[0]?.message).toContain('risk limit breached');
  });
});
