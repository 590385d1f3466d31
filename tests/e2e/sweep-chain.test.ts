import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '../../local/cloud/cloud';
import {
  agentPidOf,
  alertsFor,
  apiOf,
  eventually,
  FAST,
  sessionWhere,
  startBody,
  startFastCloud,
} from './support';

describe('Local cloud: the sweep pass chain finds a hung agent between the minute schedules', () => {
  let cloud: LocalCloud;
  let hungPid: number | undefined;
  beforeAll(async () => {
    // The schedule ticks once, at start (it seeds the chain), then not for an hour: every pass after that
    // comes from the chain's queue, one a second.
    cloud = await startFastCloud({
      scheduleEveryMs: 3_600_000,
      functionEnvironment: { ...FAST.functionEnvironment, SWEEP_PASS_EVERY_S: '1' },
    });
  }, 60_000);
  afterAll(async () => {
    if (hungPid !== undefined) {
      try {
        process.kill(hungPid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await cloud?.close();
  }, 60_000);

  it('marks a SIGSTOPped agent stale and pages with no schedule tick after the first (it waited for the next minute)', async () => {
    const api = apiOf(cloud);
    const started = await api('POST', '/strategies/e2e-chain/start', { body: startBody() });
    const runId = String(started.body.run_id);
    await sessionWhere(cloud, runId, (s) => s.status === 'running', 'running');
    const linksBefore = cloud.passQueue.sent.length;
    hungPid = agentPidOf(cloud, runId);
    if (hungPid === undefined) throw new Error('no agent process');

    process.kill(hungPid, 'SIGSTOP');

    const stale = await sessionWhere(cloud, runId, (s) => s.status === 'stale', 'stale', 30_000);
    await cloud.streamsDrained();
    await eventually(async () => alertsFor(cloud, runId, { kind: 'status.stale' }).length > 0, 'stale page');
    expect(stale.status_reason).toContain('no heartbeat');
    expect(cloud.passQueue.sent.length).toBeGreaterThan(linksBefore);
    // One chain: every link sent once.
    const keys = cloud.passQueue.sent.map((link) => `${link.generation}/${link.seq}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
