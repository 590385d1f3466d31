import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { isPlainObject, type JsonObject } from '../config/merge';
import { TradeStoreMissingError } from '../errors';
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

/** Freqtrade's `db_url` for this start, and whether it outlives the task. */
export interface TradeDatabase {
  url: string;
  durable: boolean;
}

export type TradeDatabaseDecision =
  | ({ ok: true } & TradeDatabase)
  | { ok: false; field: 'TRADE_DB_URL'; reason: string };

/**
 * Where Freqtrade keeps its trades. A task's own disk goes with the task (every ECS replacement starts
 * empty), so the durable store the platform declares (TRADE_DB_URL: EFS in AWS, a per-strategy folder
 * locally) wins over anything else. Live money without one is refused: a replacement task would forget
 * the open positions on the exchange and stop managing their exits. Dry-run may fall back to the
 * strategy config's db_url or the work folder (Freqtrade's own `tradesv3.dryrun.sqlite`), not durable.
 */
export const tradeDatabaseOf = (input: {
  config: JsonObject;
  workDir: string;
  tradeDbUrl?: string;
}): TradeDatabaseDecision => {
  if (input.tradeDbUrl !== undefined) return { ok: true, url: input.tradeDbUrl, durable: true };
  // Freqtrade trades real money exactly when dry_run is false (the loader sets it from TRADING_MODE).
  if (input.config.dry_run === false) {
    return {
      ok: false,
      field: 'TRADE_DB_URL',
      reason:
        'a live session needs a durable trade store (TRADE_DB_URL); without one a replacement task ' +
        'would forget the open positions',
    };
  }
  const url =
    typeof input.config.db_url === 'string'
      ? input.config.db_url
      : `sqlite:///${join(input.workDir, 'tradesv3.dryrun.sqlite')}`;
  return { ok: true, url, durable: false };
};

/** `sqlite:////abs/path` → `/abs/path` (SQLAlchemy: four slashes for an absolute path). */
const sqliteFileOf = (url: string): string | undefined => /^sqlite:\/\/\/(\/.+)$/.exec(url)?.[1];

/**
 * sqlite creates its file, not its folder: the strategy's folder on the trade store is made here, and
 * only that folder. The store's root (the EFS mount) must already exist: creating it too would quietly
 * put live trades on the task's own disk when the volume is not mounted.
 */
const ensureStrategyFolder = async (url: string): Promise<void> => {
  const file = sqliteFileOf(url);
  if (file === undefined) return;
  const folder = dirname(file);
  try {
    await mkdir(folder, { mode: 0o700 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    throw new TradeStoreMissingError(
      code === 'ENOENT'
        ? `the trade store ${dirname(folder)} does not exist: is its volume mounted?`
        : `cannot create ${folder} on the trade store (${code ?? String(error)})`,
    );
  }
};

export interface WrittenConfig {
  path: string;
  endpoint: FreqtradeEndpoint;
  tradeDatabase: TradeDatabase;
}

/**
 * Real Freqtrade refuses to trade without an existing user_data_dir. Its own default is `./user_data`
 * (the image's, which holds the strategies); where that is missing (a local task's fresh folder), one
 * is made in the work folder. A user_data_dir the strategy config names is kept, and created.
 */
export const userDataDirFor = async (config: JsonObject, workDir: string, cwd: string): Promise<string> => {
  if (typeof config.user_data_dir === 'string') {
    await mkdir(config.user_data_dir, { recursive: true, mode: 0o700 });
    return config.user_data_dir;
  }
  const freqtradeDefault = join(cwd, 'user_data');
  if (existsSync(freqtradeDefault)) return freqtradeDefault;
  const own = join(workDir, 'user_data');
  await mkdir(own, { recursive: true, mode: 0o700 });
  return own;
};

/**
 * Freqtrade's config for one start: the strategy config plus an API server bound to 127.0.0.1 on a free
 * port with credentials made for this start only (a restarted Freqtrade gets new ones). Exchange
 * credentials are not in it: they arrive through the environment. The file is readable by its owner only.
 */
export const writeFreqtradeConfig = async (
  workDir: string,
  config: JsonObject,
  initialState: InitialState,
  options: { port?: number; tradeDbUrl?: string; cwd?: string } = {},
): Promise<WrittenConfig> => {
  const database = tradeDatabaseOf({
    config,
    workDir,
    ...(options.tradeDbUrl === undefined ? {} : { tradeDbUrl: options.tradeDbUrl }),
  });
  if (!database.ok) throw new TradeStoreMissingError(database.reason);
  if (database.durable) await ensureStrategyFolder(database.url);
  await mkdir(workDir, { recursive: true, mode: 0o700 });
  const userDataDir = await userDataDirFor(config, workDir, options.cwd ?? process.cwd());
  const port = options.port ?? (await freePort());
  const username = `agent-${token(6)}`;
  const password = token(24);
  const existingApi = isPlainObject(config.api_server) ? config.api_server : {};
  const full: JsonObject = {
    ...config,
    initial_state: initialState,
    user_data_dir: userDataDir,
    db_url: database.url,
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
  return {
    path,
    endpoint: { url: `http://${API_HOST}:${port}`, username, password, auth: 'jwt' },
    tradeDatabase: { url: database.url, durable: database.durable },
  };
};
