import { randomBytes } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { isPlainObject, type JsonObject } from '../config/merge';
import type { FreqtradeEndpoint } from './client';

/** Freqtrade's `initial_state`: the state the bot loop starts in. `paused` needs Freqtrade ≥ 2025.4. */
export type InitialState = 'running' | 'paused' | 'stopped';

export const API_HOST = '127.0.0.1';

/** Asks the OS for a free port on the loopback interface. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, API_HOST, () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port assigned'));
      });
    });
  });

const token = (bytes: number) => randomBytes(bytes).toString('base64url');

export interface WrittenConfig {
  path: string;
  endpoint: FreqtradeEndpoint;
}

/**
 * Freqtrade's config for one start: the strategy config plus an API server bound to 127.0.0.1 on a free
 * port with credentials made for this start only (a restarted Freqtrade gets new ones). Exchange
 * credentials are not in it: they arrive through the environment. The file is readable by its owner only.
 */
export const writeFreqtradeConfig = async (
  workDir: string,
  config: JsonObject,
  initialState: InitialState,
  options: { port?: number } = {},
): Promise<WrittenConfig> => {
  await mkdir(workDir, { recursive: true, mode: 0o700 });
  const port = options.port ?? (await freePort());
  const username = `agent-${token(6)}`;
  const password = token(24);
  const existingApi = isPlainObject(config.api_server) ? config.api_server : {};
  const dbName = config.dry_run === false ? 'tradesv3.sqlite' : 'tradesv3.dryrun.sqlite';
  const full: JsonObject = {
    ...config,
    initial_state: initialState,
    // Kept in the work dir so a restarted Freqtrade finds its open trades again.
    db_url: typeof config.db_url === 'string' ? config.db_url : `sqlite:///${join(workDir, dbName)}`,
    api_server: {
      ...existingApi,
      enabled: true,
      listen_ip_address: API_HOST,
      listen_port: port,
      username,
      password,
      jwt_secret_key: token(32),
      ws_token: token(24),
      CORS_origins: [],
      verbosity: 'error',
    },
  };
  const path = join(workDir, 'config.json');
  await writeFile(path, `${JSON.stringify(full, null, 2)}\n`, { mode: 0o600 });
  await chmod(path, 0o600);
  return { path, endpoint: { url: `http://${API_HOST}:${port}`, username, password, auth: 'jwt' } };
};
