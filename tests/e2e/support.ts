import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type LocalCloud, type LocalCloudOptions, startLocalCloud } from '../../local/cloud/cloud';
import type { Alert } from '../../shared/domain/ports';
import type { Session } from '../../shared/domain/session';

/** Every interval scaled down so the suite sees in seconds what takes minutes in production. */
export const FAST: LocalCloudOptions = {
  port: 0,
  print: () => undefined,
  logLevel: 'ERROR',
  scheduleEveryMs: 500,
  restartDelayMs: () => 6_000,
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
export const FAST_MARKET = { internals: { process_throttle_secs: 1 }, sim: { tick_ms: 200 } };

export const startFastCloud = (options: Partial<LocalCloudOptions> = {}) =>
  startLocalCloud({ ...FAST, ...options });

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
      token?: string | null;
      headers?: Record<string, string>;
    } = {},
  ): Promise<ApiAnswer> => {
    const token =
      options.token === null
        ? undefined
        : (options.token ?? (await cloud.token(options.scopes ?? ['strategies:read', 'strategies:write'])));
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

export const sessionWhere = (
  cloud: LocalCloud,
  runId: string,
  predicate: (session: Session) => boolean,
  what: string,
  timeoutMs?: number,
) =>
  eventually(
    async () => {
      const session = await cloud.store.get(runId);
      return session !== undefined && predicate(session) ? session : undefined;
    },
    `${runId}: ${what}`,
    timeoutMs,
  );

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
