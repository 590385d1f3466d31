import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '../../local/cloud/cloud';
import { readOrderLog } from '../../local/freqtrade-sim/order-log';
import { CHURNING, expectNoOverlap, tradesOf } from './handoff-support';
import {
  agentPidOf,
  alertsFor,
  apiOf,
  eventually,
  FAST,
  freqtradeApiOf,
  freqtradePidOf,
  isRunning,
  sessionWhere,
  startBody,
  startFastCloud,
  TWO_OPEN_TRADES,
} from './support';

/**
 * The task's StopTimeout (SIGTERM to SIGKILL) longer than the agent's stop grace: the launch step must
 * wait for the platform's own kill rather than give up while the old container is still being stopped.
 */
const STOP_GRACE_S = 3;
const TASK_STOP_TIMEOUT_MS = 6_000;

describe('Local cloud: a deploy whose old agent is hung (never answers the handoff)', () => {
  let dataDir: string;
  let cloud: LocalCloud;
  let api: ReturnType<typeof apiOf>;
  let orderLog: string;
  const platformLog: string[] = [];
  const hung: number[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tradai-e2e-hung-handoff-'));
    orderLog = join(dataDir, 'orders.jsonl');
    cloud = await startFastCloud({
      dataDir,
      print: (line) => platformLog.push(line),
      stopTimeoutMs: TASK_STOP_TIMEOUT_MS,
      containerEnvironment: { ...FAST.containerEnvironment, FREQTRADE_SIM_ORDER_LOG: orderLog },
      // Stale well after the handoff: the hung agent's silence is not what this test is about.
      functionEnvironment: {
        ...FAST.functionEnvironment,
        STALE_AFTER_S: '60',
        STOP_GRACE_S: String(STOP_GRACE_S),
      },
    });
    api = apiOf(cloud);
  }, 60_000);
  afterAll(async () => {
    for (const pid of hung) if (isRunning(pid)) process.kill(pid, 'SIGCONT');
    await cloud?.close();
    await rm(dataDir, { recursive: true, force: true });
  }, 60_000);

  /** Waits for the successor to leave pending and launching, and requires it running (else its reason). */
  const expectLaunched = async (newRun: string) => {
    const settled = await sessionWhere(
      cloud,
      newRun,
      (s) => s.status !== 'pending' && s.status !== 'launching',
      'successor launched or failed',
      90_000,
    );
    expect(settled.status, settled.status_reason ?? '').toBe('running');
  };

  it('force-stops the old container after its grace (SIGKILL after the StopTimeout) and only then starts the new version: the old Freqtrade keeps entries on while hung, is killed before the new one starts, the trades are carried, and nothing pages CRITICAL', async () => {
    const started = await api('POST', '/strategies/e2e-hung/start', { body: startBody(TWO_OPEN_TRADES) });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const oldRun = String(started.body.run_id);
    const carried = tradesOf(
      await sessionWhere(
        cloud,
        oldRun,
        (s) => s.status === 'running' && s.open_trades.length === 2,
        'two open trades',
        90_000,
      ),
    );
    const agentPid = agentPidOf(cloud, oldRun) as number;
    const oldFreqtrade = freqtradePidOf(agentPid) as number;
    expect(oldFreqtrade).toBeDefined();
    const oldFreqtradeApi = freqtradeApiOf(agentPid);

    // The agent freezes: it will never see the handoff, pause its Freqtrade nor stop it.
    process.kill(agentPid, 'SIGSTOP');
    hung.push(agentPid);
    const deployed = await api('POST', '/strategies/e2e-hung/deploy', {
      body: { alias: 'challenger', handoff: 'carry_positions', reason: 'e2e: old agent hung' },
    });
    expect(deployed.status, JSON.stringify(deployed.body)).toBe(202);
    const newRun = String(deployed.body.run_id);
    // Nobody paused it: the old Freqtrade may still enter and exit on the account.
    await eventually(
      async () => (await cloud.store.get(oldRun))?.status === 'stopping',
      'old run asked to stop',
    );
    expect((await oldFreqtradeApi<{ state: string }>('/show_config')).state).toBe('running');

    await expectLaunched(newRun);
    const successor = await sessionWhere(
      cloud,
      newRun,
      (s) => s.health?.freqtrade_state === 'running',
      'successor trading',
      60_000,
    );
    await cloud.streamsDrained();

    expect(successor.handoff?.phase).toBe('live');
    expect(tradesOf(successor)).toEqual(carried);
    expect(isRunning(agentPid)).toBe(false);
    expect(isRunning(oldFreqtrade)).toBe(false);
    // The platform's kill, not the agent's own stop (exit 137 once the StopTimeout ran out), and the whole
    // old container (its Freqtrade with it) was gone before the new task was started.
    const killedAt = platformLog.findIndex((line) => line.includes(`of ${oldRun} stopped (exit 137`));
    const newTaskAt = platformLog.findIndex(
      (line) => line.includes(`for ${newRun}`) && line.includes('started task'),
    );
    expect(killedAt, platformLog.join('\n')).toBeGreaterThanOrEqual(0);
    expect(newTaskAt).toBeGreaterThan(killedAt);
    const old = await sessionWhere(cloud, oldRun, (s) => s.status === 'stopped', 'old run stopped');
    expect(old.superseded_by).toBe(newRun);
    expect(old.stop_outcome ?? null).toBeNull();

    expectNoOverlap(readOrderLog(orderLog), oldRun, newRun, 'killed');
    expect([oldRun, newRun].flatMap((run) => alertsFor(cloud, run, { severity: 'CRITICAL' }))).toEqual([]);

    await api('POST', '/strategies/e2e-hung/stop', { body: { reason: 'e2e done' } });
    await sessionWhere(cloud, newRun, (s) => s.status === 'stopped', 'stopped', 60_000);
    await eventually(
      async () => (await cloud.store.getLock('e2e-hung'))?.active_run_id === null,
      'lock released',
      60_000,
    );
  }, 180_000);
  it('takes over from a hung agent whose Freqtrade went on trading after its last report: the trades it closed meanwhile are in the trade store, not missing, so the new version trades and nothing pages CRITICAL', async () => {
    const started = await api('POST', '/strategies/e2e-hung-churn/start', { body: startBody(CHURNING) });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const oldRun = String(started.body.run_id);
    await sessionWhere(
      cloud,
      oldRun,
      (s) => s.status === 'running' && (s.metrics?.total_trades ?? 0) >= 2 && s.open_trades.length === 1,
      'churning, one trade open',
      90_000,
    );
    const agentPid = agentPidOf(cloud, oldRun) as number;

    process.kill(agentPid, 'SIGSTOP');
    hung.push(agentPid);
    const deployedAt = Date.now();
    const deployed = await api('POST', '/strategies/e2e-hung-churn/deploy', {
      body: { alias: 'challenger', handoff: 'carry_positions', reason: 'e2e: old agent hung, still trading' },
    });
    expect(deployed.status, JSON.stringify(deployed.body)).toBe(202);
    const newRun = String(deployed.body.run_id);

    await expectLaunched(newRun);
    const successor = await sessionWhere(
      cloud,
      newRun,
      (s) => s.health?.freqtrade_state === 'running' || (s.health?.missing_trades ?? null) !== null,
      'successor trading, or reporting trades missing',
      60_000,
    );
    await cloud.streamsDrained();

    expect(successor.health?.missing_trades ?? null).toBeNull();
    expect(successor.health?.freqtrade_state).toBe('running');
    const log = readOrderLog(orderLog);
    // The hung agent never paused its Freqtrade: it went on changing trades after the deploy was asked.
    expect(
      log.some(
        (line) => line.run_id === oldRun && line.event === 'trades_changed' && line.at_ms > deployedAt,
      ),
    ).toBe(true);
    expectNoOverlap(log, oldRun, newRun, 'killed');
    expect([oldRun, newRun].flatMap((run) => alertsFor(cloud, run, { severity: 'CRITICAL' }))).toEqual([]);

    await api('POST', '/strategies/e2e-hung-churn/stop', { body: { reason: 'e2e done' } });
    await sessionWhere(cloud, newRun, (s) => s.status === 'stopped', 'stopped', 60_000);
  }, 180_000);
});
