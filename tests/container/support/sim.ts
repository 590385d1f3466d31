import { type HttpFetch, nodeHttpFetch } from '../../../container/agent/http';
import { type FreqtradeSimHandle, startFreqtradeSim } from '../../../local/freqtrade-sim';
import { baseConfig } from './fixture';

export const SIM_USER = 'sim-user';
export const SIM_PASSWORD = 'sim-password-123';

export interface RecordedRequest {
  method: string;
  path: string;
  at: number;
  /** The reply body (recorded when the reply arrives). */
  body?: string;
}

/** The simulator in-process, for attach mode (FREQTRADE_API_URL): fast, and scenarios can be switched live. */
export const startSim = async (sim: Record<string, unknown> = {}): Promise<FreqtradeSimHandle> =>
  startFreqtradeSim({
    ...baseConfig(sim),
    strategy: 'SimStrategy',
    timeframe: '5m',
    initial_state: 'running',
    api_server: {
      enabled: true,
      listen_ip_address: '127.0.0.1',
      listen_port: 0,
      username: SIM_USER,
      password: SIM_PASSWORD,
      jwt_secret_key: 'sim-jwt-secret-for-tests',
    },
  });

export const attachTo = (sim: FreqtradeSimHandle) => ({
  url: sim.url ?? '',
  username: SIM_USER,
  password: SIM_PASSWORD,
  auth: 'jwt' as const,
});

/** The agent's Freqtrade HTTP, recording every call in the order it was made, with its reply. */
export const recordingFetch = (log: RecordedRequest[]): HttpFetch => {
  return async (url, init) => {
    const entry: RecordedRequest = { method: init.method, path: new URL(url).pathname, at: Date.now() };
    log.push(entry);
    const response = await nodeHttpFetch(url, init);
    const body = await response.text();
    entry.body = body;
    return { ok: response.ok, status: response.status, text: async () => body };
  };
};
