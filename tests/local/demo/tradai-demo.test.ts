import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { FileConfigSource } from '../../../container/agent/config/config-source';
import { FileModelRegistry } from '../../../container/agent/config/mlflow';
import { StrategyConfigLoader } from '../../../container/agent/config/strategy-config-loader';
import { ccxtConfigFor } from '../../../local/exchange/index';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const DEMO = join(ROOT, 'local/demo');
const FREQTRADE = join(ROOT, '.venv/bin/freqtrade');
const STRATEGY_PATH = join(ROOT, 'strategies/tradai_demo');

const load = () =>
  new StrategyConfigLoader(
    new FileModelRegistry(`file://${join(DEMO, 'registry.json')}`),
    new FileConfigSource(`file://${join(DEMO, 'configs')}`),
  ).load({
    strategy: 'TradaiDemo',
    strategyId: 'demo',
    runId: 'dry-run-demo-000001',
    tradingMode: 'dry-run',
    arcticdbS3Uri: 's3://tradai-arcticdb-local',
    alias: null,
    stage: 'Production',
    overrides: {},
  });

describe('Demo registry: TradaiDemo (the real Freqtrade strategy)', () => {
  it('loads through the seed §4 tag schema with a base config aimed at the local exchange on spot only', async () => {
    const loaded = await load();

    expect(loaded.modelVersion).toMatchObject({ name: 'TradaiDemo', version: '1' });
    expect(loaded).toMatchObject({ timeframe: '1m', pairs: ['BTC/USDT', 'ETH/USDT'], exchange: 'binance' });
    const exchange = loaded.config.exchange as Record<string, unknown>;
    // The same ccxt settings the local exchange's own helper gives (so no futures or wallet calls).
    expect(exchange.ccxt_config).toEqual(ccxtConfigFor('http://127.0.0.1:8090'));
    // Freqtrade would otherwise open ccxt.pro websockets for candles, which the local exchange has not.
    expect(exchange.enable_ws).toBe(false);
    expect(loaded.config.pairlists).toEqual([{ method: 'StaticPairList' }]);
  });

  it.skipIf(!existsSync(FREQTRADE))(
    'names a strategy class Freqtrade 2026.9 finds and loads',
    async () => {
      const userdir = await mkdtemp(join(tmpdir(), 'tradai-demo-userdir-'));
      try {
        const { stdout } = await promisify(execFile)(
          FREQTRADE,
          ['list-strategies', '--strategy-path', STRATEGY_PATH, '--userdir', userdir, '-1'],
          { timeout: 30_000, cwd: userdir },
        );
        expect(stdout.split('\n').map((line) => line.trim())).toContain('TradaiDemo');
      } finally {
        await rm(userdir, { recursive: true, force: true });
      }
    },
    40_000,
  );
});
