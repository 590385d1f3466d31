import { type ChildProcess, execFile, execFileSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalCloud, type LocalCloudOptions, startLocalCloud } from '../../local/cloud/cloud';
import { publishEndpoint } from '../../local/cloud/endpoint';
import { publishIssuer } from '../../local/cloud/jwt-issuer';
import type { Alert } from '../../shared/domain/ports';
import type { Session } from '../../shared/domain/session';

/** Every interval scaled down so the suite sees in seconds what takes minutes in production. */
export const FAST: LocalCloudOptions = {
  port: 0,
  print: () => undefined,
  logLevel: 'ERROR',
  scheduleEveryMs: 500,
  restartDelayMs: () => 6_000,
  // The stack's 120 s StopTimeout would only slow a test whose container ignores its stop; those set their own.
  stopTimeoutMs: 30_000,
  containerEnvironment: {
    HEARTBEAT_INTERVAL_S: '0.5',
    RISK_POLL_INTERVAL_S: '0.25',
    CONTROL_POLL_INTERVAL_S: '0.25',
    FREQTRADE_TIMEOUT_S: '1',
    STOP_TIMEOUT_S: '5',
    FREQTRADE_RESTART_BACKOFF_MAX_S: '1',
    LOG_LEVEL: 'warn',
  },
  functionEnvironment: { STALE_AFTER_S: '3', LAUNCH_TIMEOUT_S: '60', STOP_GRACE_S: '15' },
};

/** The simulator's market and Freqtrade's loop, fast (merged into the strategy's config as overrides). */
/**
 * Two trades open at the first loop and none closed after (flat prices: no ROI, no stoploss), so a halt, a
 * budget, a handoff or a restart has exactly these positions to act on.
 */
export const TWO_OPEN_TRADES = {
  max_open_trades: 2,
  sim: { tick_ms: 200, open_trades_at_start: 0, entry_probability: 1, volatility: 0, drift: 0 },
};

export const FAST_MARKET = { internals: { process_throttle_secs: 1 }, sim: { tick_ms: 200 } };

export const startFastCloud = (options: Partial<LocalCloudOptions> = {}) =>
  startLocalCloud({ ...FAST, ...options });

/** The token of a person who may trade live: the live scope and membership of the live group. */
export const LIVE_TRADER = {
  scopes: ['strategies:read', 'strategies:write', 'strategies:live'],
  groups: ['tradai-live'],
};

/** Inside the deployment bounds a live start must name; one set for the e2e and browser suites. */
export const LIVE_LIMITS = {
  max_drawdown_pct: 50,
  max_daily_loss: 100_000,
  max_open_trades: 3,
  max_leverage: 2,
  max_monitor_failures: 5,
  breach_ladder: ['pause'],
  escalation_grace_s: 60,
};

const tokenOf = (cloud: LocalCloud, scopes: string[], groups: string[] | undefined) =>
  groups === undefined
    ? cloud.token(scopes)
    : cloud.issuer.issue({
        subject: 'local-operator',
        scopes: scopes.map((scope) => (scope.includes('/') ? scope : `tradai/${scope}`)),
        groups,
      });

export interface ApiAnswer {
  status: number;
  body: Record<string, unknown>;
}

export const apiOf =
  (cloud: LocalCloud) =>
  async (
    method: string,
    path: string,
    options: {
      body?: unknown;
      scopes?: string[];
      /** Cognito groups of the token's user; `LIVE_TRADER` for a live start or resume. */
      groups?: string[];
      token?: string | null;
      headers?: Record<string, string>;
    } = {},
  ): Promise<ApiAnswer> => {
    const token =
      options.token === null
        ? undefined
        : (options.token ??
          (await tokenOf(cloud, options.scopes ?? ['strategies:read', 'strategies:write'], options.groups)));
    const response = await fetch(`${cloud.url}${path}`, {
      method,
      headers: {
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...options.headers,
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
    const text = await response.text();
    return {
      status: response.status,
      body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
    };
  };

/** Polls until `probe` returns a value, within a bounded time: a deadline that stops a broken run, not a timing claim. */
export const eventually = async <T>(
  probe: () => Promise<T | undefined | null | false>,
  what: string,
  timeoutMs = 30_000,
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value as T;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};

/** What a timed-out wait last saw of the session, so a failure in CI says where it stood. */
const glimpseOf = (session: Session | undefined): string =>
  session === undefined
    ? 'no such session'
    : JSON.stringify({
        status: session.status,
        status_reason: session.status_reason ?? null,
        desired_state: session.desired_state,
        freqtrade_state: session.health?.freqtrade_state ?? null,
        open_trades: session.open_trades.map((trade) => [trade.pair, trade.amount]),
        risk: session.risk ?? null,
      });

export const sessionWhere = async (
  cloud: LocalCloud,
  runId: string,
  predicate: (session: Session) => boolean,
  what: string,
  timeoutMs?: number,
) => {
  let last: Session | undefined;
  try {
    return await eventually(
      async () => {
        last = await cloud.store.get(runId);
        return last !== undefined && predicate(last) ? last : undefined;
      },
      `${runId}: ${what}`,
      timeoutMs,
    );
  } catch (error) {
    throw new Error(
      `${error instanceof Error ? error.message : String(error)}; last seen: ${glimpseOf(last)}`,
    );
  }
};

export const alertsFor = (
  cloud: LocalCloud,
  runId: string,
  filter: Partial<Pick<Alert, 'kind' | 'severity'>> = {},
) =>
  cloud.alerts.published.filter(
    (alert) =>
      alert.run_id === runId &&
      (filter.kind === undefined || alert.kind === filter.kind) &&
      (filter.severity === undefined || alert.severity === filter.severity),
  );

/**
 * A process that can still act: present and not a zombie. A killed child whose parent died is reaped by
 * PID 1 whenever PID 1 gets to it (some CI init processes take their time); kill(pid, 0) still succeeds
 * on it meanwhile, though it can place no order.
 */
export const isRunning = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
};

/**
 * Ends an `npm start` child as Ctrl-C does, so it stops its tasks (each in a process group of its own, as a
 * container is); SIGKILL only if it has not exited within the bound. A SIGKILL to tsx alone left the cloud,
 * its demo agent and that agent's Freqtrade running after the tests.
 */
export const stopCloudProcess = async (child: ChildProcess | undefined, boundMs = 30_000): Promise<void> => {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGINT');
  const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), boundMs).unref());
  if ((await Promise.race([exited, timer])) === 'timeout') child.kill('SIGKILL');
};

/** Processes whose parent is `pid` (the agent's Freqtrade). */
export const childPidsOf = (pid: number): number[] => {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
};

/** The agent's child that runs Freqtrade (the agent may have short-lived others, e.g. `ps` for its stats). */
export const freqtradePidOf = (agentPid: number): number | undefined =>
  childPidsOf(agentPid).find((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('freqtrade');
    } catch {
      return false;
    }
  });

export const agentPidOf = (cloud: LocalCloud, runId: string): number | undefined =>
  cloud.platform.tasks().find((task) => task.runId === runId)?.pid;

export const startBody = (overrides: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  strategy: 'MomentumStrategy',
  mode: 'dry-run',
  stage: 'Production',
  reason: 'e2e',
  overrides: { ...FAST_MARKET, ...overrides },
  ...extra,
});

/**
 * A TCP proxy between the agents and the local DynamoDB gateway that a test can cut and restore: cut, it
 * drops the open connections and resets every new one, as an unreachable endpoint does to the SDK (each
 * call fails after its retries). Only what is pointed at it is cut off (the containers, through
 * AWS_ENDPOINT_URL_DYNAMODB); the functions keep talking to the gateway directly.
 */
export interface CuttableProxy {
  url: string;
  /** Where connections go; until set, every connection is reset. */
  setTarget(url: string): void;
  cut(): void;
  restore(): void;
  /** Connections reset while cut (or before a target was set). */
  readonly refused: number;
  close(): Promise<void>;
}

export const startCuttableProxy = async (): Promise<CuttableProxy> => {
  let target: URL | undefined;
  let cut = false;
  let refused = 0;
  const open = new Set<Socket>();
  const server = createServer((client) => {
    if (cut || target === undefined) {
      refused += 1;
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(Number(target.port), target.hostname);
    open.add(client);
    open.add(upstream);
    const drop = () => {
      open.delete(client);
      open.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    setTarget: (url) => {
      target = new URL(url);
    },
    cut: () => {
      cut = true;
      for (const socket of open) socket.resetAndDestroy();
      open.clear();
    },
    restore: () => {
      cut = false;
    },
    get refused() {
      return refused;
    },
    close: async () => {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};

/** The REST API of the Freqtrade an agent runs, from the config it wrote in its task folder (its cwd). */
export const freqtradeApiOf = (agentPid: number) => {
  const workDir = readlinkSync(`/proc/${agentPid}/cwd`);
  const config = JSON.parse(readFileSync(join(workDir, 'config.json'), 'utf8')) as {
    api_server: { listen_ip_address: string; listen_port: number; username: string; password: string };
  };
  const { listen_ip_address: host, listen_port: port, username, password } = config.api_server;
  const authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  return async <T>(path: string): Promise<T> => {
    const response = await fetch(`http://${host}:${port}/api/v1${path}`, { headers: { authorization } });
    if (!response.ok) throw new Error(`freqtrade ${path}: HTTP ${response.status}`);
    return (await response.json()) as T;
  };
};

export interface CliOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * A fast local cloud and `tradai` as a person runs it: the bundle the package's bin runs (built here as prepack
 * builds it: plain node, quick to start), as a child process that finds the cloud itself (its endpoint record
 * and published key, in a fresh run directory), no URL or token given.
 */
export const startCliCloud = async (options: Partial<LocalCloudOptions> = {}, timeoutMs = 90_000) => {
  const runDir = await mkdtemp(join(tmpdir(), 'tradai-cli-e2e-'));
  const bundle = join(runDir, 'tradai.mjs');
  execFileSync(join(process.cwd(), 'node_modules/.bin/tsx'), ['console/cli/build.ts', '--outfile', bundle]);
  process.env.TRADAI_RUN_DIR = runDir;
  const cloud = await startFastCloud(options);
  const cleanups = [
    await publishIssuer(cloud.url, cloud.issuer, undefined),
    await publishEndpoint(cloud.url, undefined, runDir),
  ];
  const { TRADAI_API_URL: _url, TRADAI_TOKEN: _token, ...rest } = process.env;
  const env: NodeJS.ProcessEnv = {
    ...rest,
    TRADAI_RUN_DIR: runDir,
    NO_COLOR: '1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  const tradai = (args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CliOutcome> =>
    new Promise((resolve) => {
      execFile(
        process.execPath,
        [bundle, ...args],
        { env: { ...env, ...extraEnv }, timeout: timeoutMs },
        (error, stdout, stderr) =>
          resolve({
            code: error === null ? 0 : typeof error.code === 'number' ? error.code : null,
            stdout,
            stderr,
          }),
      );
    });
  const close = async () => {
    for (const cleanup of cleanups) await cleanup();
    await cloud.close();
    delete process.env.TRADAI_RUN_DIR;
    await rm(runDir, { recursive: true, force: true });
  };
  return { cloud, bundle, env, tradai, close };
};
