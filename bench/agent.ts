/**
 * Container agent benchmark.
 * 1. Footprint: the bundled agent (what the image runs, with the image's node flags) at default intervals
 *    (15 s heartbeat, 5 s risk and control polls) supervising the Freqtrade simulator, against the embedded
 *    DynamoDB; the agent process's RSS and CPU (its Freqtrade child excluded) sampled from /proc over
 *    `durationS`. Twice: with the registry read over HTTP from an MLflow REST server, as in AWS (through
 *    node:http; the global fetch's WebAssembly parser alone put the agent past the goal), and from a file.
 * 2. Breach → /pause latency over `runs` drawdowns: from the moment the simulator's equity falls past the
 *    limit to the moment Freqtrade is paused, with the default 5 s risk poll. Goal: p99 ≤ poll + 0.5 s.
 * 3. Failed /pause → process stopped (fail-closed, issue 8 finding 3) over `runs` breaches of a spawned
 *    simulator whose /pause answers HTTP 500: from the failed reply to the agent's report that the
 *    Freqtrade process is gone (SIGTERM, SIGKILL after the bound). Goal: p99 ≤ 2 s.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAgent } from '../container/agent/agent';
import { type HttpFetch, nodeHttpFetch } from '../container/agent/http';
import { createLogger, Redactor } from '../container/agent/logger';
import { bundleAgent } from '../container/build';
import { imageNodeFlags } from '../container/image-flags';
import { SIM_STRATEGY_TAGS, startFixture } from '../tests/container/support/fixture';
import { startFakeMlflow } from '../tests/container/support/mlflow-server';
import { attachTo, startSim } from '../tests/container/support/sim';
import { percentile } from './stats';

export const GOALS = {
  rss_mb: 60,
  cpu_pct_of_core: 1,
  pause_latency_margin_s: 0.5,
  failed_pause_to_process_stopped_s: 2,
} as const;

const TICKS_PER_S = 100;

const procSample = async (pid: number) => {
  const [stat, status] = await Promise.all([
    readFile(`/proc/${pid}/stat`, 'utf8'),
    readFile(`/proc/${pid}/status`, 'utf8'),
  ]);
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuS = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
  const rssMb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  // VmHWM: the process's peak since it started, start-up included (what a memory limit must hold).
  const lifetimePeakMb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  return { cpuS, rssMb, lifetimePeakMb };
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Where the agent reads its strategy's registry: MLflow's REST API over HTTP (as in AWS) or a file. */
type Registry = 'mlflow-http' | 'file';

const footprint = async (durationS: number, registry: Registry, flags?: readonly string[]) => {
  const nodeFlags = flags ?? (await imageNodeFlags());
  const fx = await startFixture();
  const mlflow =
    registry === 'mlflow-http'
      ? await startFakeMlflow([
          { name: 'SimStrategy', version: '1', current_stage: 'Production', tags: SIM_STRATEGY_TAGS },
        ])
      : undefined;
  const dir = await mkdtemp(join(tmpdir(), 'tradai-bench-agent-'));
  try {
    const bundle = await bundleAgent(join(dir, 'agent'));
    const { env } = await fx.session();
    const defaults = {
      ...env,
      ...(mlflow === undefined ? {} : { MLFLOW_TRACKING_URI: mlflow.url }),
      HEARTBEAT_INTERVAL_S: '15',
      RISK_POLL_INTERVAL_S: '5',
      CONTROL_POLL_INTERVAL_S: '5',
      LOG_LEVEL: 'warn',
      HEARTBEAT_FAIL_CLOSED_S: '30',
    };
    const child = spawn(process.execPath, [...nodeFlags, bundle], {
      env: { PATH: process.env.PATH ?? '', ...defaults },
      stdio: ['ignore', 'ignore', process.env.BENCH_AGENT_STDERR ? 'inherit' : 'ignore'],
    });
    const pid = child.pid ?? 0;
    // Let it load its config, start Freqtrade and settle before measuring.
    await sleep(8000);
    const start = await procSample(pid);
    const startedAt = performance.now();
    let peakRss = start.rssMb;
    const rss: number[] = [];
    while (performance.now() - startedAt < durationS * 1000) {
      await sleep(1000);
      const sample = await procSample(pid);
      peakRss = Math.max(peakRss, sample.rssMb);
      rss.push(sample.rssMb);
    }
    const end = await procSample(pid);
    const wallS = (performance.now() - startedAt) / 1000;
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('close', resolve));
    const cpuPct = ((end.cpuS - start.cpuS) / wallS) * 100;
    if (mlflow !== undefined && mlflow.requests.length === 0)
      throw new Error('the agent never read the MLflow registry: its MLflow client would be left out');
    return {
      window_s: Math.round(wallS),
      registry,
      node_flags: nodeFlags.join(' '),
      rss_mb_median: Math.round(percentile(rss, 50) * 10) / 10,
      rss_mb_peak: Math.round(peakRss * 10) / 10,
      rss_mb_lifetime_peak: Math.round(end.lifetimePeakMb * 10) / 10,
      cpu_pct_of_core: Math.round(cpuPct * 100) / 100,
      meets_rss_goal: peakRss <= GOALS.rss_mb,
      meets_cpu_goal: cpuPct <= GOALS.cpu_pct_of_core,
    };
  } finally {
    await mlflow?.close();
    await fx.close();
    await rm(dir, { recursive: true, force: true });
  }
};

const pauseLatency = async (runs: number, riskPollS: number) => {
  const fx = await startFixture();
  const latencies: number[] = [];
  try {
    for (let run = 0; run < runs; run += 1) {
      const sim = await startSim();
      const { options } = await fx.session({ limits: { max_drawdown_pct: 5 } });
      const agent = await runAgent(
        {
          ...options,
          riskPollIntervalS: riskPollS,
          heartbeatIntervalS: 30,
          heartbeatFailClosedS: 120,
          controlPollIntervalS: 5,
          attach: attachTo(sim),
        },
        {
          store: fx.store,
          redactor: new Redactor(),
          logger: createLogger({ level: 'error', write: () => {} }),
        },
      );
      // Random phase against the poll, as a real breach would be.
      await sleep(1000 + Math.random() * riskPollS * 1000);
      sim.setScenario({ name: 'drawdown', at_s: 0, depth_pct: 8 });
      let breachAt: number | undefined;
      const deadline = performance.now() + (riskPollS + 10) * 1000;
      while (performance.now() < deadline) {
        const state = sim.state();
        if (breachAt === undefined && state.equity_drawdown_pct >= 5) breachAt = performance.now();
        if (state.state === 'paused') break;
        await sleep(5);
      }
      const pausedAt = performance.now();
      if (breachAt !== undefined && sim.state().state === 'paused')
        latencies.push((pausedAt - breachAt) / 1000);
      await agent.shutdown('bench run over');
      await sim.close();
    }
  } finally {
    await fx.close();
  }
  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);
  return {
    runs,
    measured: latencies.length,
    risk_poll_interval_s: riskPollS,
    p50_s: Math.round(p50 * 1000) / 1000,
    p99_s: Math.round(p99 * 1000) / 1000,
    max_s: latencies.length === 0 ? null : Math.round(Math.max(...latencies) * 1000) / 1000,
    goal_p99_s: riskPollS + GOALS.pause_latency_margin_s,
    meets_goal: latencies.length === runs && p99 <= riskPollS + GOALS.pause_latency_margin_s,
  };
};

/** Failed /pause → the supervised Freqtrade process stopped, measured on the agent's own events. */
const failedPauseToProcessStop = async (runs: number) => {
  const fx = await startFixture();
  const latencies: number[] = [];
  const outcomes: Record<string, number> = {};
  try {
    for (let run = 0; run < runs; run += 1) {
      const { options } = await fx.session({
        limits: { max_drawdown_pct: 5 },
        sim: { scenario: { name: 'drawdown', at_s: 1 + Math.random(), depth_pct: 8 } },
      });
      let failedAt: number | undefined;
      let stoppedAt: number | undefined;
      let action: string | undefined;
      const failingPause: HttpFetch = async (url, init) => {
        if (init.method === 'POST' && new URL(url).pathname.endsWith('/pause')) {
          failedAt ??= performance.now();
          return { ok: false, status: 500, text: async () => 'Internal Server Error' };
        }
        return nodeHttpFetch(url, init);
      };
      const agent = await runAgent(
        { ...options, riskPollIntervalS: 1, heartbeatIntervalS: 30, heartbeatFailClosedS: 120 },
        {
          store: fx.store,
          freqtradeFetch: failingPause,
          redactor: new Redactor(),
          logger: createLogger({
            level: 'error',
            write: (line) => {
              if (stoppedAt === undefined && line.includes('"message":"fail-closed: freqtrade process"')) {
                stoppedAt = performance.now();
                action = /"action":"([a-z_]+)"/.exec(line)?.[1];
              }
            },
          }),
        },
      );
      const deadline = performance.now() + 30_000;
      while (stoppedAt === undefined && performance.now() < deadline) await sleep(5);
      if (failedAt !== undefined && stoppedAt !== undefined) latencies.push((stoppedAt - failedAt) / 1000);
      outcomes[action ?? 'none'] = (outcomes[action ?? 'none'] ?? 0) + 1;
      await agent.shutdown('bench run over');
    }
  } finally {
    await fx.close();
  }
  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);
  const round = (value: number) => Math.round(value * 1000) / 1000;
  return {
    runs,
    measured: latencies.length,
    actions: outcomes,
    p50_s: round(p50),
    p99_s: round(p99),
    max_s: latencies.length === 0 ? null : round(Math.max(...latencies)),
    goal_p99_s: GOALS.failed_pause_to_process_stopped_s,
    meets_goal: latencies.length === runs && p99 <= GOALS.failed_pause_to_process_stopped_s,
  };
};

export { failedPauseToProcessStop, footprint };

export async function runAgentBench(options: {
  durationS: number;
  runs: number;
}): Promise<Record<string, unknown>> {
  const footprintResult = await footprint(options.durationS, 'mlflow-http');
  const fileRegistryFootprint = await footprint(options.durationS, 'file');
  const latency = await pauseLatency(options.runs, 5);
  // Each run spawns a simulator process: a tenth of the pause runs, at least 3, keeps the bench short.
  const processStop = await failedPauseToProcessStop(Math.max(3, Math.ceil(options.runs / 10)));
  return {
    goals: GOALS,
    footprint: footprintResult,
    footprint_file_registry: fileRegistryFootprint,
    breach_to_pause: latency,
    failed_pause_to_process_stopped: processStop,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const durationS = Number(process.argv[2] ?? 60);
  const runs = Number(process.argv[3] ?? 5);
  runAgentBench({ durationS, runs })
    .then((result) => process.stdout.write(`${JSON.stringify(result, null, 2)}\n`))
    .catch((error: unknown) => {
      process.stderr.write(`${String(error)}\n`);
      process.exit(1);
    });
}
