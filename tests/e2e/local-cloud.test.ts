import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '../../local/cloud/cloud';
import { loadServerlessConfig } from '../../local/serverless/config';
import { functionsOf } from '../../local/serverless/functions';
import {
  type ApiAnswer,
  agentPidOf,
  alertsFor,
  apiOf,
  eventually,
  freqtradePidOf,
  sessionWhere,
  startBody,
  startFastCloud,
} from './support';

describe('Local cloud: end to end over HTTP', () => {
  let cloud: LocalCloud;
  let api: ReturnType<typeof apiOf>;

  beforeAll(async () => {
    cloud = await startFastCloud();
    api = apiOf(cloud);
  }, 60_000);
  afterAll(async () => {
    await cloud?.close();
  }, 60_000);

  const start = async (
    strategyId: string,
    overrides: Record<string, unknown> = {},
    extra: Record<string, unknown> = {},
  ) => {
    const answer = await api('POST', `/strategies/${strategyId}/start`, {
      body: startBody(overrides, extra),
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    return String(answer.body.run_id);
  };
  const running = (runId: string) => sessionWhere(cloud, runId, (s) => s.status === 'running', 'running');

  it('refuses every route without a token, and with a token lacking the route scope', async () => {
    const config = await loadServerlessConfig({ stage: 'local' });
    const routes = functionsOf(config).flatMap((fn) => fn.events.filter((event) => event.kind === 'httpApi'));
    expect(routes.length).toBeGreaterThanOrEqual(10);

    for (const route of routes) {
      if (route.kind !== 'httpApi') continue;
      const path = route.path
        .replace('{strategyId}', 'pascal-btc')
        .replace('{runId}', 'dry-run-pascal-btc-000001');
      const body = route.method === 'POST' ? {} : undefined;
      const wrongScope = route.method === 'GET' ? ['strategies:write'] : ['strategies:read'];

      const anonymous = await api(route.method, path, { token: null, body });
      const wrong = await api(route.method, path, { scopes: wrongScope, body });

      expect(anonymous.status, `${route.method} ${route.path} without a token`).toBe(401);
      expect(wrong.status, `${route.method} ${route.path} with ${wrongScope}`).toBe(403);
    }
  });

  it('launches a dry-run session to running: the first heartbeat resumes the launch workflow', async () => {
    const runId = await start('e2e-launch');

    const session = await running(runId);

    expect(session.last_heartbeat).not.toBeNull();
    expect(session.launch_token).toBeNull();
    expect(session.container).toMatchObject({ platform: 'local', launch_type: 'service' });
    expect(cloud.platform.tasks().filter((task) => task.runId === runId)).toHaveLength(1);
    const view = await api('GET', '/strategies/e2e-launch');
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({ session: { run_id: runId, status: 'running' } });
  });

  it('pauses Freqtrade within the control poll and resumes it', async () => {
    const runId = await start('e2e-pause');
    await running(runId);

    const paused = await api('POST', '/strategies/e2e-pause/pause', { body: { reason: 'e2e pause' } });
    await sessionWhere(cloud, runId, (s) => s.health?.freqtrade_state === 'paused', 'Freqtrade paused');
    await sessionWhere(cloud, runId, (s) => s.status === 'paused', 'status paused once confirmed');
    const resumed = await api('POST', '/strategies/e2e-pause/resume', { body: { reason: 'e2e resume' } });
    const back = await sessionWhere(
      cloud,
      runId,
      (s) => s.health?.freqtrade_state === 'running',
      'Freqtrade running',
    );

    await sessionWhere(cloud, runId, (s) => s.status === 'running', 'status running once confirmed');
    await cloud.streamsDrained();

    expect(paused.status).toBe(202);
    expect(resumed.status).toBe(202);
    expect(back.desired_state).toBe('running');
    // An operator's pause and resume page, as information.
    expect(alertsFor(cloud, runId).map((alert) => [alert.kind, alert.severity])).toEqual([
      ['status.launching', 'INFO'],
      ['status.running', 'INFO'],
      ['status.paused', 'INFO'],
      ['status.resumed', 'INFO'],
    ]);
  });

  it("auto-pauses on a drawdown breach and pages exactly once, CRITICAL (the pause it caused paged INFO 'paused' too)", async () => {
    const runId = await start(
      'e2e-drawdown',
      {
        sim: {
          tick_ms: 200,
          open_trades_at_start: 3,
          scenario: { name: 'drawdown', at_s: 2, depth_pct: 40 },
        },
      },
      {
        // Three stakes of 100 on a 10,000 wallet: a 40 % fall of the positions is a ~3 % equity drawdown.
        risk_limits: {
          max_drawdown_pct: 2,
          max_daily_loss: 100_000,
          max_open_trades: 10,
          max_leverage: 3,
          max_monitor_failures: 5,
        },
      },
    );
    await running(runId);

    const breached = await sessionWhere(
      cloud,
      runId,
      (s) => s.risk?.state === 'breached' && s.desired_state === 'paused',
      'breach and auto-pause',
    );
    await sessionWhere(cloud, runId, (s) => s.health?.freqtrade_state === 'paused', 'Freqtrade paused');
    const seq = breached.heartbeat_seq;
    await sessionWhere(cloud, runId, (s) => s.heartbeat_seq >= seq + 6, 'more heartbeats while breached');
    await cloud.streamsDrained();

    const paused = await cloud.store.get(runId);
    expect(paused?.status).toBe('paused');
    expect(alertsFor(cloud, runId).map((alert) => [alert.kind, alert.severity])).toEqual([
      ['status.launching', 'INFO'],
      ['status.running', 'INFO'],
      ['risk.breach', 'CRITICAL'],
    ]);
    // The alert history (GET /strategies/{id}/alerts) recorded the page, newest first, without ARNs.
    const history = await api('GET', '/strategies/e2e-drawdown/alerts');
    expect(history.status, JSON.stringify(history.body)).toBe(200);
    const recorded = (history.body.items as { run_id: string; kind: string; severity: string }[]).filter(
      (alert) => alert.run_id === runId,
    );
    expect(recorded.map((alert) => [alert.kind, alert.severity])).toEqual([
      ['risk.breach', 'CRITICAL'],
      ['status.running', 'INFO'],
      ['status.launching', 'INFO'],
    ]);
    expect(JSON.stringify(history.body)).not.toContain('arn:aws');
  });

  it('pages once when an agent is killed (stale), and once more when it is back', async () => {
    const runId = await start('e2e-kill');
    await running(runId);
    const pid = agentPidOf(cloud, runId);
    expect(pid).toBeDefined();

    process.kill(pid as number, 'SIGKILL');
    await sessionWhere(cloud, runId, (s) => s.status === 'stale', 'stale');
    await sessionWhere(cloud, runId, (s) => s.status === 'running', 'recovered', 60_000);
    await cloud.streamsDrained();

    expect(alertsFor(cloud, runId, { kind: 'container.restarting' })).toHaveLength(1);
    expect(alertsFor(cloud, runId, { kind: 'status.stale' })).toHaveLength(1);
    expect(alertsFor(cloud, runId, { kind: 'status.recovered' })).toHaveLength(1);
    expect(cloud.platform.tasks().filter((task) => task.runId === runId)).toHaveLength(1);
  });

  it('restarts a crashed Freqtrade and warns once with the restart count (a crash was restarted with no alert at all)', async () => {
    const runId = await start('e2e-crash');
    await running(runId);
    const agent = agentPidOf(cloud, runId) as number;
    // A Freqtrade with a live trading loop, so the kill is a crash and not a start-up failure.
    const trading = await sessionWhere(
      cloud,
      runId,
      (s) => s.health?.loop_alive === true && (s.health.last_process_at ?? null) !== null,
      'a live trading loop',
    );
    // The agent's child running freqtrade (it may have short-lived others, e.g. for process stats).
    const freqtrade = await eventually(async () => freqtradePidOf(agent), 'the Freqtrade process');
    const restartsBefore = trading.health?.freqtrade_restarts ?? 0;
    await cloud.streamsDrained();
    const alertsBefore = alertsFor(cloud, runId).length;

    process.kill(freqtrade as number, 'SIGKILL');
    const restarted = await sessionWhere(
      cloud,
      runId,
      (s) => (s.health?.freqtrade_restarts ?? 0) > restartsBefore && s.health?.freqtrade_state === 'running',
      'Freqtrade restarted',
    );
    await cloud.streamsDrained();

    expect(restarted.status).toBe('running');
    const pages = alertsFor(cloud, runId).slice(alertsBefore);
    expect(pages.map((alert) => [alert.kind, alert.severity])).toEqual([['freqtrade.restarted', 'WARNING']]);
    expect(pages[0]?.message).toContain(`restart ${restartsBefore + 1}`);
  });

  it('pages a failure when a one-shot container exits with an error', async () => {
    const runId = await start(
      'e2e-exit',
      { sim: { tick_ms: 200, scenario: { name: 'crash', at_s: 0, exit_code: 3 } } },
      { mode: 'backtest' },
    );

    const failed = await sessionWhere(cloud, runId, (s) => s.status === 'failed', 'failed');
    await cloud.streamsDrained();

    expect(failed.status_reason).toBeTruthy();
    expect(alertsFor(cloud, runId, { kind: 'status.failed' })).toHaveLength(1);
    // Freed once the container is gone (its STOPPED event), which may come after the failed status.
    await eventually(
      async () => (await cloud.store.getLock('e2e-exit'))?.active_run_id === null,
      'lock free once the container is gone',
    );
  });

  it('stops a session: stopped, container gone, lock free, and a new start works', async () => {
    const runId = await start('e2e-stop');
    await running(runId);

    const stopped = await api('POST', '/strategies/e2e-stop/stop', { body: { reason: 'e2e stop' } });
    await sessionWhere(cloud, runId, (s) => s.status === 'stopped', 'stopped');
    await eventually(
      async () => cloud.platform.tasks().every((task) => task.runId !== runId),
      'container gone',
    );
    await eventually(
      async () => (await cloud.store.getLock('e2e-stop'))?.active_run_id === null,
      'lock free',
    );
    const again = await start('e2e-stop');

    expect(stopped.status).toBe(202);
    expect(again).not.toBe(runId);
    await running(again);
  });

  it('starts exactly one container when 50 starts race for one strategy', async () => {
    const answers: ApiAnswer[] = await Promise.all(
      Array.from({ length: 50 }, () => api('POST', '/strategies/e2e-race/start', { body: startBody() })),
    );

    const accepted = answers.filter((answer) => answer.status === 202);
    expect(accepted).toHaveLength(1);
    expect(answers.filter((answer) => answer.status === 409)).toHaveLength(49);
    const runId = String(accepted[0]?.body.run_id);
    await running(runId);
    expect(cloud.platform.tasks().filter((task) => task.runId.startsWith('dry-run-e2e-race-'))).toHaveLength(
      1,
    );
  });
});
