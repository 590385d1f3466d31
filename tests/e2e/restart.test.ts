import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '../../local/cloud/cloud';
import { alertsFor, apiOf, FAST, sessionWhere, startBody, startFastCloud } from './support';

describe('Local cloud: restart mid-session', () => {
  const clouds: LocalCloud[] = [];
  const dataDirs: string[] = [];
  const servers: Server[] = [];
  afterAll(async () => {
    for (const cloud of clouds) await cloud.close().catch(() => undefined);
    for (const server of servers) server.close();
    for (const dataDir of dataDirs) await rm(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('brings the session back with one agent, loses nothing, and pages nobody (restart paged paused, then resumed)', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tradai-restart-'));
    dataDirs.push(dataDir);
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
      (s) => s.agent_id !== before.agent_id && s.heartbeat_seq > before.heartbeat_seq + 3,
      'heartbeats from the new agent',
    );
    await second.streamsDrained();

    expect(after.status).toBe('running');
    expect(second.platform.tasks().filter((task) => task.runId === runId)).toHaveLength(1);
    // Ctrl-C's graceful drain pauses entries; that pause is the agent's own, not a state to page about.
    const pagesAfterLaunch = [...first.alerts.published, ...second.alerts.published].filter(
      (alert) => alert.run_id === runId && !['status.launching', 'status.running'].includes(alert.kind),
    );
    expect(pagesAfterLaunch.map((alert) => alert.kind)).toEqual([]);
    // A history point every other heartbeat (historyEveryMsFor): both agents' points are kept.
    const history = await second.store.readHistory(runId, { limit: 1000 });
    const seqs = history.items.map((point) => point.seq);
    expect(seqs.some((seq) => seq <= before.heartbeat_seq)).toBe(true);
    expect(seqs.some((seq) => seq > before.heartbeat_seq)).toBe(true);
    expect(history.items.length).toBeGreaterThanOrEqual(Math.floor((after.heartbeat_seq - 2) / 2));
    const lock = await second.store.getLock('e2e-restart');
    expect(lock?.active_run_id).toBe(runId);
  });

  it('gives a session interrupted while launching no container on the next start, and one page that fits a dry-run (CRITICAL check the exchange account)', async () => {
    // prepare: a model registry that never answers keeps the session launching, its container started
    const silentRegistry = createServer(() => undefined);
    servers.push(silentRegistry);
    await new Promise<void>((resolve) => silentRegistry.listen(0, '127.0.0.1', resolve));
    const address = silentRegistry.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const dataDir = await mkdtemp(join(tmpdir(), 'tradai-restart-launch-'));
    dataDirs.push(dataDir);
    const first = await startFastCloud({
      dataDir,
      containerEnvironment: {
        ...FAST.containerEnvironment,
        MLFLOW_TRACKING_URI: `http://127.0.0.1:${port}`,
      },
    });
    clouds.push(first);
    const started = await apiOf(first)('POST', '/strategies/e2e-restart-launch/start', { body: startBody() });
    const runId = String(started.body.run_id);
    await sessionWhere(first, runId, (s) => s.status === 'launching' && s.container !== null, 'launching');

    // act
    await first.close();
    const lines: string[] = [];
    const second = await startFastCloud({ dataDir, print: (line) => lines.push(line) });
    clouds.push(second);
    const failed = await sessionWhere(second, runId, (s) => s.status === 'failed', 'failed');
    await second.streamsDrained();

    // assess
    expect(failed.status_reason).toContain('restarted while this session was launching');
    expect(lines.filter((line) => line.includes('started task') && line.includes(runId))).toEqual([]);
    expect(second.platform.tasks().filter((task) => task.runId === runId)).toEqual([]);
    const pages = alertsFor(second, runId);
    expect(pages.map((alert) => [alert.kind, alert.severity])).toEqual([['status.failed', 'INFO']]);
    expect(pages[0]?.message).not.toContain('exchange account');
    expect((await second.store.getLock('e2e-restart-launch'))?.active_run_id).toBeNull();
  });
});
