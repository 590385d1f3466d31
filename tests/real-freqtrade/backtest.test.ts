import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../local/cloud/cloud';
import { REAL_FREQTRADE_CMD, realFreqtradeEnvironment } from '../../local/exchange/index';
import { apiOf, sessionWhere } from '../e2e/support';
import { type RealCloud, realFreqtradeAvailable, startRealCloud } from './support';

const run = promisify(execFile);
const BASE_CONFIG = join(REPO_ROOT, 'local/demo/configs/strategies/tradai_demo/v1.0.0/config.json');
const PYTHON = join(REPO_ROOT, '.venv/bin/python');

/**
 * The one-shot path on real Freqtrade: a day of seeded 1m candles downloaded from the local exchange by
 * `freqtrade download-data` (as an operator would seed a data folder), then a backtest session whose
 * container runs `freqtrade backtesting` on it; the results are stored outside the container and
 * recorded on the session.
 */
describe.skipIf(!realFreqtradeAvailable())('Real Freqtrade: a backtest on seeded data', () => {
  let dataDir: string;
  let userData: string;
  let real: RealCloud;
  let api: ReturnType<typeof apiOf>;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tradai-real-backtest-'));
    userData = join(dataDir, 'backtest-user-data');
    // The market data reaches the container as a mounted folder would (MARKET_DATA_DIR -> --datadir);
    // start overrides may not touch paths, and Freqtrade ignores a `datadir` in its config file.
    real = await startRealCloud({
      dataDir,
      containerEnvironment: { MARKET_DATA_DIR: join(userData, 'data', 'binance') },
    });
    api = apiOf(real.cloud);
    await mkdir(userData, { recursive: true });
    await run(
      REAL_FREQTRADE_CMD,
      ['download-data', '--config', BASE_CONFIG, '--userdir', userData, '--days', '1', '-t', '1m'],
      {
        env: { ...process.env, ...realFreqtradeEnvironment(real.exchange.url) },
        cwd: userData,
        timeout: 60_000,
      },
    );
  }, 90_000);
  afterAll(async () => {
    await real?.close();
    await rm(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('runs freqtrade backtesting in a one-shot container, completes, and records where its results are stored', async () => {
    expect((await readdir(join(userData, 'data', 'binance'))).sort()).toEqual([
      'BTC_USDT-1m.feather',
      'ETH_USDT-1m.feather',
    ]);

    const answer = await api('POST', '/strategies/real-backtest/start', {
      body: {
        strategy: 'TradaiDemo',
        mode: 'backtest',
        stage: 'Production',
        reason: 'e2e real backtest',
      },
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    const runId = String(answer.body.run_id);
    const done = await sessionWhere(
      real.cloud,
      runId,
      (s) => s.status === 'completed' || s.status === 'failed',
      'the backtest to end',
      90_000,
    );

    expect(done.status, done.status_reason ?? '').toBe('completed');
    const stored = done.result_s3_path ?? '';
    expect(stored).toContain(runId);
    const folder = stored.startsWith('file://') ? fileURLToPath(stored) : stored;
    const files = await readdir(folder);
    const zip = files.find((name) => name.startsWith('backtest-result-') && name.endsWith('.zip'));
    expect(zip, files.join(', ')).toBeDefined();
    // The stored result is Freqtrade's own: TradaiDemo's EMA cross traded the seeded day.
    const script = [
      'import json, sys, zipfile',
      'z = zipfile.ZipFile(sys.argv[1])',
      'name = next(n for n in z.namelist() if n.endswith(".json") and "_config" not in n and "market_change" not in n)',
      'stats = json.loads(z.read(name))["strategy"]["TradaiDemo"]',
      'print(json.dumps({"trades": stats["total_trades"], "pairs": sorted({t["pair"] for t in stats["trades"]})}))',
    ].join('\n');
    const { stdout } = await run(PYTHON, ['-c', script, join(folder, zip as string)]);
    const summary = JSON.parse(stdout) as { trades: number; pairs: string[] };
    expect(summary.trades).toBeGreaterThan(0);
    expect(summary.pairs).toEqual(['BTC/USDT', 'ETH/USDT']);
  }, 120_000);
});
