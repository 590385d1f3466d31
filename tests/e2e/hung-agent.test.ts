import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '../../local/cloud/cloud';
import {
  agentPidOf,
  alertsFor,
  apiOf,
  childPidsOf,
  eventually,
  FAST,
  isRunning,
  sessionWhere,
  startBody,
  startFastCloud,
} from './support';

describe('Local cloud: a hung agent force-stopped', () => {
  let cloud: LocalCloud;
  let hungPid: number | undefined;
  beforeAll(async () => {
    // SIGKILL comes from the test (as ECS's at StopTimeout), so the container's life after the stop is ours to end.
    // The agent is hung: a short stop grace only shortens the wait for the forced stop.
    cloud = await startFastCloud({
      stopTimeoutMs: 120_000, // ECS's most; the test ends the container well before
      functionEnvironment: { ...FAST.functionEnvironment, STOP_GRACE_S: '4' },
    });
  }, 60_000);
  afterAll(async () => {
    if (hungPid !== undefined && isRunning(hungPid)) process.kill(hungPid, 'SIGKILL');
    await cloud?.close();
  }, 60_000);

  it('keeps the strategy lock until the container is gone (lock freed before the container is gone)', async () => {
    // prepare: a running session whose agent stops answering (SIGSTOP): its Freqtrade child keeps trading
    const api = apiOf(cloud);
    const started = await api('POST', '/strategies/e2e-hung/start', { body: startBody() });
    const runId = String(started.body.run_id);
    await sessionWhere(cloud, runId, (s) => s.status === 'running', 'running');
    hungPid = agentPidOf(cloud, runId);
    if (hungPid === undefined) throw new Error('no agent process');
    const freqtrade = childPidsOf(hungPid);
    expect(freqtrade.length).toBeGreaterThan(0);
    process.kill(hungPid, 'SIGSTOP');

    // act: the operator stops it; the agent never confirms, so the sweep forces the stop after its grace
    const stop = await api('POST', '/strategies/e2e-hung/stop', { body: { reason: 'e2e hung agent' } });
    const stopped = await sessionWhere(cloud, runId, (s) => s.status === 'stopped', 'forced stop', 60_000);
    await cloud.streamsDrained();

    // assess: stopped, but the container (and its Freqtrade) still runs, so the lock is still held
    expect(stop.status).toBe(202);
    expect(stopped.status_reason).toContain('forced stop');
    expect(isRunning(hungPid)).toBe(true);
    expect(freqtrade.some(isRunning)).toBe(true);
    expect((await cloud.store.getLock('e2e-hung'))?.active_run_id).toBe(runId);
    const blocked = await api('POST', '/strategies/e2e-hung/start', { body: startBody() });
    expect(blocked.status).toBe(409);
    const [stoppedPage, ...more] = alertsFor(cloud, runId, { kind: 'status.stopped' });
    expect(more).toEqual([]);
    expect(stoppedPage?.message).toContain('strategy lock kept until the container is confirmed gone');

    // act: the container dies (ECS's SIGKILL at StopTimeout)
    process.kill(hungPid, 'SIGKILL');

    // assess: its STOPPED event frees the lock
    await eventually(
      async () => !cloud.platform.tasks().some((task) => task.runId === runId),
      'container gone',
    );
    await eventually(
      async () => (await cloud.store.getLock('e2e-hung'))?.active_run_id === null,
      'lock released once the container is gone',
    );
    await eventually(async () => !freqtrade.some(isRunning), "the container's Freqtrade gone with it");
  });
});
