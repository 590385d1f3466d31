import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '../../local/cloud/cloud';
import { alertsFor, apiOf, sessionWhere, startBody, startFastCloud } from './support';

describe('Local cloud: restart mid-session', () => {
  const clouds: LocalCloud[] = [];
  let dataDir = '';
  afterAll(async () => {
    for (const cloud of clouds) await cloud.close().catch(() => undefined);
    if (dataDir !== '') await rm(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('brings the session back with one agent, and loses nothing', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tradai-restart-'));
    const first = await startFastCloud({ dataDir });
    clouds.push(first);
    const started = await apiOf(first)('POST', '/strategies/e2e-restart/start', { body: startBody() });
    const runId = String(started.body.run_id);
    const before = await sessionWhere(
      first,
      runId,
      (s) => s.status === 'running' && s.heartbeat_seq >= 3,
      'running',
    );

    await first.close();
    const second = await startFastCloud({ dataDir });
    clouds.push(second);
    const after = await sessionWhere(
      second,
      runId,
      // The old agent paused entries while draining, so the status comes back to running once confirmed.
      (s) =>
        s.agent_id !== before.agent_id &&
        s.heartbeat_seq > before.heartbeat_seq + 3 &&
        s.status === 'running',
      'heartbeats from the new agent, trading again',
    );
    await second.streamsDrained();

    expect(after.status).toBe('running');
    expect(second.platform.tasks().filter((task) => task.runId === runId)).toHaveLength(1);
    expect(alertsFor(second, runId, { severity: 'CRITICAL' })).toEqual([]);
    expect(alertsFor(second, runId, { kind: 'status.failed' })).toEqual([]);
    const history = await second.store.readHistory(runId, { limit: 1000 });
    expect(history.items.length).toBeGreaterThanOrEqual(after.heartbeat_seq - 2);
    const lock = await second.store.getLock('e2e-restart');
    expect(lock?.active_run_id).toBe(runId);
  });
});
