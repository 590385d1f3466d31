import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseAgentEnv } from '../../container/agent/env';
import { TradeStoreMissingError } from '../../container/agent/errors';
import { tradeDatabaseOf, writeFreqtradeConfig } from '../../container/agent/freqtrade/config-writer';

const STRATEGY_CONFIG = {
  strategy: 'PascalStrategy',
  stake_currency: 'USDT',
  exchange: { name: 'binance', pair_whitelist: ['BTC/USDT'] },
};
const DURABLE = 'sqlite:////mnt/trade-store/pascal-btc/tradesv3.live.sqlite';

describe('Freqtrade config writer: where the trade database lives', () => {
  let workDir: string;
  /** Stands in for the EFS mount: present, with no strategy folder yet. */
  let mount: string;
  let durable: string;
  beforeEach(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'tradai-writer-'));
    mount = await mkdtemp(join(tmpdir(), 'tradai-trade-store-'));
    durable = `sqlite:///${join(mount, 'pascal-btc', 'tradesv3.live.sqlite')}`;
  });
  afterEach(async () => {
    await rm(workDir, { recursive: true, force: true });
    await rm(mount, { recursive: true, force: true });
  });
  const written = async (path: string) => JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;

  it('points a live Freqtrade at the durable trade store, not at the task work folder (lost with every replacement task)', async () => {
    const result = await writeFreqtradeConfig(workDir, { ...STRATEGY_CONFIG, dry_run: false }, 'running', {
      port: 18_080,
      tradeDbUrl: durable,
    });

    expect((await written(result.path)).db_url).toBe(durable);
    expect(result.tradeDatabase).toEqual({ url: durable, durable: true });
  });

  it('refuses to write a live config with no durable trade store, naming TRADE_DB_URL', async () => {
    const attempt = writeFreqtradeConfig(workDir, { ...STRATEGY_CONFIG, dry_run: false }, 'running', {
      port: 18_080,
    });

    await expect(attempt).rejects.toBeInstanceOf(TradeStoreMissingError);
    await expect(attempt).rejects.toMatchObject({ field: 'TRADE_DB_URL' });
    await expect(attempt).rejects.toThrow(/TRADE_DB_URL/);
  });

  it('lets the trade store win over a db_url in the strategy config (a path inside the container dies with it)', async () => {
    const result = await writeFreqtradeConfig(
      workDir,
      { ...STRATEGY_CONFIG, dry_run: false, db_url: 'sqlite:///tradesv3.sqlite' },
      'running',
      { port: 18_080, tradeDbUrl: durable },
    );

    expect((await written(result.path)).db_url).toBe(durable);
  });

  it('falls back to the work folder in dry-run without a trade store, and says it is not durable', async () => {
    const result = await writeFreqtradeConfig(workDir, { ...STRATEGY_CONFIG, dry_run: true }, 'running', {
      port: 18_080,
    });

    const url = `sqlite:///${join(workDir, 'tradesv3.dryrun.sqlite')}`;
    expect((await written(result.path)).db_url).toBe(url);
    expect(result.tradeDatabase).toEqual({ url, durable: false });
  });

  it('creates the strategy folder on the mounted trade store (a new strategy has none yet)', async () => {
    await writeFreqtradeConfig(workDir, { ...STRATEGY_CONFIG, dry_run: false }, 'running', {
      port: 18_080,
      tradeDbUrl: durable,
    });

    expect(existsSync(join(mount, 'pascal-btc'))).toBe(true);
  });

  it('refuses a trade store whose mount is missing (an unmounted volume would leave the trades on the task disk)', async () => {
    const unmounted = `sqlite:///${join(mount, 'not-mounted', 'pascal-btc', 'tradesv3.live.sqlite')}`;

    const attempt = writeFreqtradeConfig(workDir, { ...STRATEGY_CONFIG, dry_run: false }, 'running', {
      port: 18_080,
      tradeDbUrl: unmounted,
    });

    await expect(attempt).rejects.toBeInstanceOf(TradeStoreMissingError);
    await expect(attempt).rejects.toThrow(/not-mounted/);
    expect(existsSync(join(mount, 'not-mounted'))).toBe(false);
  });

  it('decides the trade database as a table of cases', () => {
    const cases = [
      { dryRun: false, tradeDbUrl: DURABLE, configDbUrl: undefined, expected: { ok: true, url: DURABLE } },
      { dryRun: false, tradeDbUrl: undefined, configDbUrl: undefined, expected: { ok: false } },
      { dryRun: false, tradeDbUrl: undefined, configDbUrl: 'sqlite:///x.sqlite', expected: { ok: false } },
      { dryRun: true, tradeDbUrl: DURABLE, configDbUrl: undefined, expected: { ok: true, url: DURABLE } },
      {
        dryRun: true,
        tradeDbUrl: undefined,
        configDbUrl: 'sqlite:///x.sqlite',
        expected: { ok: true, url: 'sqlite:///x.sqlite', durable: false },
      },
    ] as const;
    for (const entry of cases) {
      const decided = tradeDatabaseOf({
        config: {
          dry_run: entry.dryRun,
          ...(entry.configDbUrl === undefined ? {} : { db_url: entry.configDbUrl }),
        },
        workDir: '/work',
        ...(entry.tradeDbUrl === undefined ? {} : { tradeDbUrl: entry.tradeDbUrl }),
      });
      expect(decided, JSON.stringify(entry)).toMatchObject(entry.expected);
    }
  });
});

describe('Agent env: TRADE_DB_URL', () => {
  const ENV = {
    STRATEGY: 'PascalStrategy',
    STRATEGY_ID: 'pascal-btc',
    RUN_ID: 'live-pascal-btc-20260101-abc',
    TRADING_MODE: 'live',
    MLFLOW_TRACKING_URI: 'http://mlflow.tradai-dev.local:5000/mlflow',
    EXCHANGE_SECRET_NAME: 'tradai/exchange/binance',
    DYNAMODB_TABLE: 'tradai-workflow-state-dev',
    ARCTICDB_S3_URI: 's3://tradai-arcticdb-dev',
    S3_CONFIG_BUCKET: 'tradai-configs-dev',
  };

  it('reads the durable trade store', () => {
    const parsed = parseAgentEnv({ ...ENV, TRADE_DB_URL: DURABLE });

    expect(parsed.ok && parsed.options.tradeDbUrl).toBe(DURABLE);
  });

  it('refuses a TRADE_DB_URL that is not a database URL, naming it and not echoing it', () => {
    const parsed = parseAgentEnv({ ...ENV, TRADE_DB_URL: '/mnt/trade-store/x.sqlite' });

    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.message).toContain('TRADE_DB_URL');
    expect(!parsed.ok && parsed.message).not.toContain('/mnt/trade-store/x.sqlite');
  });
});

describe('Freqtrade config writer: what real Freqtrade 2026.9 needs to start', () => {
  let workDir: string;
  beforeEach(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'tradai-writer-'));
  });
  afterEach(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  it('gives Freqtrade a user_data_dir that exists (real `freqtrade trade` exits at start without one; the simulator never cared)', async () => {
    const result = await writeFreqtradeConfig(workDir, { ...STRATEGY_CONFIG, dry_run: true }, 'running', {
      port: 18_080,
      cwd: join(workDir, 'fresh-task-folder'),
    });

    const config = JSON.parse(await readFile(result.path, 'utf8')) as Record<string, unknown>;
    expect(config.user_data_dir).toBe(join(workDir, 'user_data'));
    expect((await stat(join(workDir, 'user_data'))).isDirectory()).toBe(true);
  });

  it('uses Freqtrade’s own ./user_data where it exists (the image’s, which holds the strategies)', async () => {
    const cwd = join(workDir, 'image-freqtrade');
    await mkdir(join(cwd, 'user_data', 'strategies'), { recursive: true });

    const result = await writeFreqtradeConfig(workDir, { ...STRATEGY_CONFIG, dry_run: true }, 'running', {
      port: 18_080,
      cwd,
    });

    const config = JSON.parse(await readFile(result.path, 'utf8')) as Record<string, unknown>;
    expect(config.user_data_dir).toBe(join(cwd, 'user_data'));
  });

  it('keeps a user_data_dir the strategy config names, and creates it', async () => {
    const own = join(workDir, 'elsewhere', 'user_data');

    const result = await writeFreqtradeConfig(
      workDir,
      { ...STRATEGY_CONFIG, dry_run: true, user_data_dir: own },
      'running',
      { port: 18_080 },
    );

    const config = JSON.parse(await readFile(result.path, 'utf8')) as Record<string, unknown>;
    expect(config.user_data_dir).toBe(own);
    expect((await stat(own)).isDirectory()).toBe(true);
  });

  it('writes API credentials as long as Freqtrade’s config schema demands (jwt_secret_key ≥ 32, ws_token ≥ 32 characters)', async () => {
    const result = await writeFreqtradeConfig(workDir, { ...STRATEGY_CONFIG, dry_run: true }, 'running', {
      port: 18_080,
    });

    const api = (JSON.parse(await readFile(result.path, 'utf8')) as { api_server: Record<string, string> })
      .api_server;
    expect(api.jwt_secret_key?.length).toBeGreaterThanOrEqual(32);
    expect(api.ws_token?.length).toBeGreaterThanOrEqual(32);
  });
});
