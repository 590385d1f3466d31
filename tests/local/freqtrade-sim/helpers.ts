import { afterEach } from 'vitest';
import { deepMerge } from '../../../local/freqtrade-sim/config';
import {
  type FreqtradeSimHandle,
  type FreqtradeSimOptions,
  startFreqtradeSim,
} from '../../../local/freqtrade-sim/index';

export const USERNAME = 'freqtrader';
export const PASSWORD = 'correct-horse-battery';

/** A valid dry-run config for a simulator on a free port; `overrides` merge into it. */
export const simConfig = (overrides: Record<string, unknown> = {}): Record<string, unknown> =>
  deepMerge(
    {
      dry_run: true,
      stake_currency: 'USDT',
      stake_amount: 100,
      dry_run_wallet: 1000,
      max_open_trades: 3,
      strategy: 'SampleStrategy',
      timeframe: '5m',
      exchange: { name: 'binance', pair_whitelist: ['BTC/USDT', 'ETH/USDT', 'SOL/USDT', 'XRP/USDT'] },
      api_server: {
        enabled: true,
        listen_ip_address: '127.0.0.1',
        listen_port: 0,
        username: USERNAME,
        password: PASSWORD,
        jwt_secret_key: 'test-jwt-secret',
      },
      sim: { tick_ms: 10, seed: 42 },
    },
    overrides,
  );

const running: FreqtradeSimHandle[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((sim) => sim.close()));
});

/** Starts a simulator that is closed after the test. */
export const startSim = async (
  overrides: Record<string, unknown> = {},
  options: FreqtradeSimOptions = {},
): Promise<FreqtradeSimHandle & { url: string }> => {
  const sim = await startFreqtradeSim(simConfig(overrides), options);
  running.push(sim);
  if (sim.url === null) throw new Error('simulator started without an API');
  return Object.assign(sim, { url: sim.url });
};

export const basicAuth = (username = USERNAME, password = PASSWORD): string =>
  `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;

export interface ApiResponse {
  status: number;
  body: unknown;
  headers: Headers;
}

/** One request; `auth` is an Authorization header value (Basic by default, `null` for none). */
export const call = async (
  url: string,
  path: string,
  init: { method?: string; auth?: string | null; body?: unknown; timeoutMs?: number } = {},
): Promise<ApiResponse> => {
  const headers: Record<string, string> = {};
  const auth = init.auth === undefined ? basicAuth() : init.auth;
  if (auth !== null) headers.authorization = auth;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${url}${path}`, {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: AbortSignal.timeout(init.timeoutMs ?? 5_000),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Plain-text bodies (a 500) stay strings.
  }
  return { status: response.status, body, headers: response.headers };
};

export const get = (url: string, path: string, auth?: string | null) => call(url, path, { auth });
export const post = (url: string, path: string, body?: unknown, auth?: string | null) =>
  call(url, path, { method: 'POST', body, auth });

/** Polls `probe` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export const waitFor = async <T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 10_000,
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

/** Runs `sim.tick()` until `done()` holds; bounded so a broken simulator fails instead of spinning. */
export const tickUntil = (
  sim: FreqtradeSimHandle,
  done: () => boolean,
  what: string,
  maxTicks = 20_000,
): number => {
  for (let ticks = 0; ticks < maxTicks; ticks++) {
    if (done()) return ticks;
    sim.tick();
  }
  throw new Error(`${what} did not happen within ${maxTicks} ticks`);
};
