/**
 * The local cloud, measured end to end (issue 5): how fast a hung agent and an exited container page
 * on-call, how fast a pause reaches Freqtrade, and what a start costs on top of Freqtrade's own boot.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SIMULATOR_CMD } from '../local/cloud/cloud';
import { agentPidOf, apiOf, eventually, sessionWhere, startBody, startFastCloud } from '../tests/e2e/support';
import { percentile } from './stats';

const stats = (values: number[]) => ({
  runs: values.length,
  p50_ms: Math.round(percentile(values, 50)),
  p99_ms: Math.round(percentile(values, 99)),
  max_ms: Math.round(Math.max(...values)),
});

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });

/** Freqtrade's own boot (the simulator's): spawn to first /ping answer. */
const measureFreqtradeBoot = async (runs: number): Promise<number[]> => {
  const dir = await mkdtemp(join(tmpdir(), 'tradai-bench-ft-'));
  const samples: number[] = [];
  try {
    for (let run = 0; run < runs; run += 1) {
      const port = await freePort();
      const config = join(dir, `config-${run}.json`);
      await writeFile(
        config,
        JSON.stringify({
          strategy: 'MomentumStrategy',
          timeframe: '5m',
          stake_currency: 'USDT',
          stake_amount: 100,
          max_open_trades: 3,
          dry_run: true,
          exchange: { name: 'binance', pair_whitelist: ['BTC/USDT'] },
          api_server: {
            enabled: true,
            listen_ip_address: '127.0.0.1',
            listen_port: port,
            username: 'b',
            password: 'b',
            jwt_secret_key: 'bench',
          },
        }),
      );
      const began = performance.now();
      const child = spawn(SIMULATOR_CMD, ['trade', '--config', config], { stdio: 'ignore' });
      await eventually(
        async () => (await fetch(`http://127.0.0.1:${port}/api/v1/ping`)).ok,
        'simulator ping',
        30_000,
      );
      samples.push(performance.now() - began);
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return samples;
};

export const runLocalCloudBench = async (options: { runs: number }): Promise<Record<string, unknown>> => {
  const staleAfterS = 3;
  const sweepEveryMs = 1_000;
  const controlPollS = 1;
  const cloud = await startFastCloud({
    scheduleEveryMs: sweepEveryMs,
    restartDelayMs: () => 60_000,
    functionEnvironment: { STALE_AFTER_S: String(staleAfterS), LAUNCH_TIMEOUT_S: '60', STOP_GRACE_S: '30' },
    containerEnvironment: {
      HEARTBEAT_INTERVAL_S: '0.25',
      RISK_POLL_INTERVAL_S: '1',
      CONTROL_POLL_INTERVAL_S: String(controlPollS),
      FREQTRADE_TIMEOUT_S: '1',
      STOP_TIMEOUT_S: '5',
      LOG_LEVEL: 'warn',
    },
  });
  const api = apiOf(cloud);
  const startToRunning: number[] = [];
  const pauseToPaused: number[] = [];
  const hungToPage: number[] = [];
  const exitToPage: number[] = [];
  try {
    for (let run = 0; run < options.runs; run += 1) {
      const strategyId = `bench-${run}`;
      const began = performance.now();
      const started = await api('POST', `/strategies/${strategyId}/start`, { body: startBody() });
      const runId = String(started.body.run_id);
      await sessionWhere(cloud, runId, (s) => s.status === 'running', 'running', 60_000);
      startToRunning.push(performance.now() - began);
      await sessionWhere(cloud, runId, (s) => s.health?.freqtrade_state === 'running', 'Freqtrade running');

      const pausedAt = performance.now();
      await api('POST', `/strategies/${strategyId}/pause`, { body: { reason: 'bench' } });
      await sessionWhere(
        cloud,
        runId,
        (s) => s.health?.freqtrade_state === 'paused',
        'Freqtrade paused',
        30_000,
      );
      pauseToPaused.push(performance.now() - pausedAt);

      // A hung agent: the process stops (SIGSTOP) without exiting, so only staleness can notice.
      const pid = agentPidOf(cloud, runId) as number;
      const hungAt = performance.now();
      process.kill(pid, 'SIGSTOP');
      await eventually(
        async () => cloud.alerts.published.some((a) => a.run_id === runId && a.kind === 'status.stale'),
        'stale page',
        60_000,
      );
      hungToPage.push(performance.now() - hungAt);
      process.kill(pid, 'SIGCONT');

      const exitAt = performance.now();
      process.kill(pid, 'SIGKILL');
      await eventually(
        async () =>
          cloud.alerts.published.some((a) => a.run_id === runId && a.kind === 'container.restarting'),
        'container exit page',
        30_000,
      );
      exitToPage.push(performance.now() - exitAt);
      await api('POST', `/strategies/${strategyId}/stop`, { body: { reason: 'bench' } });
    }
  } finally {
    await cloud.close();
  }
  const freqtradeBoot = await measureFreqtradeBoot(Math.min(options.runs, 5));
  const bootP50 = percentile(freqtradeBoot, 50);
  return {
    settings: {
      stale_after_s: staleAfterS,
      sweep_every_ms: sweepEveryMs,
      control_poll_s: controlPollS,
      heartbeat_interval_s: 0.25,
    },
    agent_hung_to_page: { ...stats(hungToPage), goal_ms: staleAfterS * 1000 + sweepEveryMs },
    container_exit_to_page: { ...stats(exitToPage), goal_ms: 2000 },
    pause_to_freqtrade_paused: {
      ...stats(pauseToPaused),
      goal_p99_ms: controlPollS * 1000 + 1000,
      note: 'seen through heartbeats every 0.25 s, so up to 250 ms above the true latency',
    },
    start_to_running: stats(startToRunning),
    freqtrade_boot: stats(freqtradeBoot),
    start_to_running_overhead_p50_ms: Math.round(percentile(startToRunning, 50) - bootP50),
  };
};
