import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileConfigSource } from '../../container/agent/config/config-source';
import { deepMerge } from '../../container/agent/config/merge';
import { FileModelRegistry, MlflowRestRegistry, parseModelUri } from '../../container/agent/config/mlflow';
import {
  StrategyConfigLoader,
  type StrategyConfigRequest,
} from '../../container/agent/config/strategy-config-loader';
import { StrategyConfigError, StrategyConfigValidationError } from '../../container/agent/errors';
import { type FakeMlflow, startFakeMlflow } from './support/mlflow-server';

const TAGS = {
  strategy_name: 'PascalStrategy',
  strategy_version: '2.0.0',
  timeframe: '1h',
  category: 'mean_reversion',
  can_short: 'true',
  pairs: 'BTC/USDT:USDT,ETH/USDT:USDT',
  stake_amount: '100',
  max_open_trades: '3',
  warmup_days: '45',
  configuration_file: 'strategies/pascal/v2.0.0/config.json',
};

const BASE_CONFIG = {
  stake_currency: 'USDT',
  stake_amount: 50,
  max_open_trades: 1,
  dry_run: false,
  timeframe: '5m',
  exchange: { name: 'binance', pair_whitelist: ['SOL/USDT:USDT'], ccxt_config: { enableRateLimit: true } },
  entry_pricing: { price_side: 'same', use_order_book: true },
  internals: { process_throttle_secs: 5 },
};

const request = (overrides: Partial<StrategyConfigRequest> = {}): StrategyConfigRequest => ({
  strategy: 'PascalStrategy',
  strategyId: 'pascal-btc',
  runId: 'dry-run-pascal-btc-1',
  tradingMode: 'dry-run',
  arcticdbS3Uri: 's3://arctic',
  alias: null,
  stage: null,
  overrides: {},
  ...overrides,
});

describe('Config: deepMerge', () => {
  it('merges objects key by key and replaces arrays and scalars', () => {
    // prepare
    const base = { a: { b: 1, c: [1, 2], d: { e: 'x' } }, f: 2 };
    // act
    const merged = deepMerge(base, { a: { c: [3], d: { g: true } }, f: null });
    // assess
    expect(merged).toEqual({ a: { b: 1, c: [3], d: { e: 'x', g: true } }, f: null });
    expect(base.a.c).toEqual([1, 2]);
  });

  it('never pollutes the prototype from a merged document', () => {
    const merged = deepMerge({}, JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}'));
    expect(merged).toEqual({ ok: 1 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('keeps every override leaf (property)', () => {
    const json = fc.jsonValue();
    fc.assert(
      fc.property(fc.dictionary(fc.string(), json), fc.dictionary(fc.string(), json), (base, override) => {
        const merged = deepMerge(base, override);
        expect(typeof merged).toBe('object');
      }),
      { numRuns: 200 },
    );
  });
});

describe('Config: parseModelUri', () => {
  it('reads stage, version and alias model URIs', () => {
    expect(parseModelUri('models:/PascalStrategy-FreqAI/Production')).toEqual({
      name: 'PascalStrategy-FreqAI',
      stage: 'Production',
    });
    expect(parseModelUri('models:/M/3')).toEqual({ name: 'M', version: '3' });
    expect(parseModelUri('models:/M@champion')).toEqual({ name: 'M', alias: 'champion' });
    expect(parseModelUri('models:/M/latest')).toEqual({ name: 'M', latest: true });
    expect(parseModelUri('models:/M/LATEST')).toEqual({ name: 'M', latest: true });
    expect(parseModelUri('s3://nope')).toBeUndefined();
  });
});

describe('StrategyConfigLoader: MLflow REST', () => {
  let mlflow: FakeMlflow;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tradai-loader-'));
    await writeFile(join(dir, 'base.json'), JSON.stringify(BASE_CONFIG));
    await writeFile(join(dir, 'broken.json'), '{ nope');
    mlflow = await startFakeMlflow([
      {
        name: 'PascalStrategy',
        version: '1',
        current_stage: 'Staging',
        tags: { ...TAGS, strategy_version: '1.0.0', configuration_file: 'base.json' },
      },
      {
        name: 'PascalStrategy',
        version: '2',
        current_stage: 'Production',
        aliases: ['champion'],
        tags: {
          ...TAGS,
          configuration_file: 'base.json',
          freqai_model: 'models:/PascalStrategy-FreqAI/Production',
        },
      },
      {
        name: 'PascalStrategy',
        version: '3',
        current_stage: 'None',
        aliases: ['broken'],
        tags: { ...TAGS, pairs: '', timeframe: 'hourly', configuration_file: 'base.json' },
      },
      {
        name: 'PascalStrategy',
        version: '4',
        current_stage: 'None',
        aliases: ['badfile'],
        tags: { ...TAGS, configuration_file: 'broken.json' },
      },
      {
        name: 'PascalStrategy-FreqAI',
        version: '7',
        current_stage: 'Production',
        source: 's3://mlflow/artifacts/7',
        tags: {},
      },
    ]);
  });

  afterAll(async () => {
    await mlflow.close();
    await rm(dir, { recursive: true, force: true });
  });

  const loader = () =>
    new StrategyConfigLoader(
      new MlflowRestRegistry({ trackingUri: mlflow.url }),
      new FileConfigSource(`file://${dir}`),
    );

  it('loads the Production version by default and merges tags over the base config', async () => {
    // act
    const loaded = await loader().load(request());
    // assess
    expect(loaded.modelVersion.version).toBe('2');
    expect(loaded.strategyVersion).toBe('2.0.0');
    expect(loaded.pairs).toEqual(['BTC/USDT:USDT', 'ETH/USDT:USDT']);
    expect(loaded.config).toMatchObject({
      strategy: 'PascalStrategy',
      timeframe: '1h',
      stake_amount: 100,
      max_open_trades: 3,
      dry_run: true,
      exchange: { name: 'binance', ccxt_config: { enableRateLimit: true } },
      tradai: {
        warmup_days: 45,
        arcticdb_s3_uri: 's3://arctic',
        can_short: true,
        run_id: 'dry-run-pascal-btc-1',
      },
    });
    expect(loaded.freqaiModel).toEqual({
      uri: 'models:/PascalStrategy-FreqAI/Production',
      name: 'PascalStrategy-FreqAI',
      version: '7',
      source: 's3://mlflow/artifacts/7',
      run_id: 'run-7',
      sha256: null,
    });
    expect(mlflow.requests.some((r) => r.path.endsWith('/registered-models/get-latest-versions'))).toBe(true);
  });

  it('resolves an alias with registered-models/alias and a stage with get-latest-versions', async () => {
    const byAlias = await loader().load(request({ alias: 'champion' }));
    const byStage = await loader().load(request({ stage: 'Staging' }));
    expect(byAlias.modelVersion.version).toBe('2');
    expect(byStage.strategyVersion).toBe('1.0.0');
    expect(
      mlflow.requests.some((r) =>
        r.path.includes('/registered-models/alias?name=PascalStrategy&alias=champion'),
      ),
    ).toBe(true);
  });

  it('applies runtime overrides last: objects merge, arrays and scalars replace', async () => {
    const loaded = await loader().load(
      request({
        overrides: {
          exchange: { pair_whitelist: ['BTC/USDT:USDT'] },
          entry_pricing: { use_order_book: false },
          max_open_trades: 1,
        },
      }),
    );
    expect(loaded.config).toMatchObject({
      max_open_trades: 1,
      entry_pricing: { price_side: 'same', use_order_book: false },
      exchange: { name: 'binance', pair_whitelist: ['BTC/USDT:USDT'] },
    });
  });

  it('lets TRADING_MODE decide dry_run whatever the config or overrides say', async () => {
    const dry = await loader().load(request({ overrides: { dry_run: false } }));
    const live = await loader().load(request({ tradingMode: 'live' }));
    expect(dry.config.dry_run).toBe(true);
    expect(live.config.dry_run).toBe(false);
  });

  it('names the path of every invalid field', async () => {
    const tags = await loader()
      .load(request({ alias: 'broken' }))
      .catch((error: unknown) => error);
    const merged = await loader()
      .load(request({ overrides: { stake_amount: -1, exchange: { pair_whitelist: [] } } }))
      .catch((error: unknown) => error);
    expect(tags).toBeInstanceOf(StrategyConfigValidationError);
    expect(String(tags)).toContain('tags.pairs');
    expect(String(tags)).toContain('tags.timeframe');
    expect(merged).toBeInstanceOf(StrategyConfigValidationError);
    expect(String(merged)).toContain('stake_amount');
    expect(String(merged)).toContain('exchange.pair_whitelist');
  });

  it('refuses exchange credentials in a config file or an override', async () => {
    const error = await loader()
      .load(request({ overrides: { exchange: { key: 'abc', secret: 'def' } } }))
      .catch((e: unknown) => e);
    expect(String(error)).toContain('exchange.key');
    expect(String(error)).toContain('exchange.secret');
  });

  it('refuses a FreqAI train run without a closed timerange, naming timerange (real Freqtrade backtesting refuses an open one)', async () => {
    // prepare: a train run of a config with a freqai section (FreqAI trains during the backtest)
    const train = (timerange?: string) =>
      request({
        tradingMode: 'train',
        runId: 'train-pascal-btc-1',
        overrides: { freqai: { enabled: true }, ...(timerange === undefined ? {} : { timerange }) },
      });

    // act
    const none = await loader()
      .load(train())
      .catch((e: unknown) => e);
    const open = await loader()
      .load(train('20261101-'))
      .catch((e: unknown) => e);
    const closed = await loader().load(train('20261101-20261201'));

    // assess
    expect(none).toBeInstanceOf(StrategyConfigError);
    expect(none).toMatchObject({ path: 'timerange' });
    expect(String(open)).toContain('20261101-');
    expect(open).toMatchObject({ path: 'timerange' });
    expect(closed.freqaiTrainTarget).toBe('PascalStrategy-FreqAI');
    expect(closed.config.timerange).toBe('20261101-20261201');
  });

  it('reports an MLflow refusal and a broken base config with their source', async () => {
    const missing = await loader()
      .load(request({ alias: 'nope' }))
      .catch((e: unknown) => e);
    const broken = await loader()
      .load(request({ alias: 'badfile' }))
      .catch((e: unknown) => e);
    const unknown = await loader()
      .load(request({ strategy: 'Other' }))
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(StrategyConfigError);
    expect(missing).toMatchObject({ reason: 'not_found', errorCode: 'INVALID_PARAMETER_VALUE' });
    expect(String(missing)).toContain('PascalStrategy@nope');
    expect(String(broken)).toContain('configuration_file');
    expect(String(unknown)).toContain('Other');
  });
});

describe('StrategyConfigLoader: file registry', () => {
  it('reads the same tag schema from a local registry file', async () => {
    // prepare
    const dir = await mkdtemp(join(tmpdir(), 'tradai-registry-'));
    await writeFile(join(dir, 'base.json'), JSON.stringify(BASE_CONFIG));
    await writeFile(
      join(dir, 'registry.json'),
      JSON.stringify({
        registered_models: [
          {
            name: 'PascalStrategy',
            aliases: { champion: 5 },
            versions: [
              { version: 5, current_stage: 'Production', tags: { ...TAGS, configuration_file: 'base.json' } },
            ],
          },
        ],
      }),
    );
    try {
      // act
      const loaded = await new StrategyConfigLoader(
        new FileModelRegistry(`file://${dir}`),
        new FileConfigSource(`file://${dir}`),
      ).load(request({ alias: 'champion' }));
      // assess
      expect(loaded.modelVersion.version).toBe('5');
      expect(loaded.timeframe).toBe('1h');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('resolves latest (in any case) to the newest version and refuses what is missing as not_found', async () => {
    // prepare
    const dir = await mkdtemp(join(tmpdir(), 'tradai-registry-'));
    await writeFile(
      join(dir, 'registry.json'),
      JSON.stringify({
        registered_models: [
          {
            name: 'PascalStrategy',
            versions: [
              { version: 2, current_stage: 'Production', tags: TAGS },
              { version: 10, current_stage: 'None', tags: TAGS },
              { version: 9, current_stage: 'Staging', tags: TAGS },
            ],
          },
        ],
      }),
    );
    const registry = new FileModelRegistry(`file://${dir}`);
    try {
      // act
      const latest = await registry.getModelVersion({ name: 'PascalStrategy', latest: true });
      const latestStage = await registry.getModelVersion({ name: 'PascalStrategy', stage: 'Latest' });
      const missing = await registry
        .getModelVersion({ name: 'PascalStrategy', alias: 'champion' })
        .catch((error: unknown) => error);
      const unknown = await registry
        .getModelVersion({ name: 'Other', latest: true })
        .catch((e: unknown) => e);
      // assess
      expect(latest.version).toBe('10');
      expect(latestStage.version).toBe('10');
      expect(missing).toMatchObject({ reason: 'not_found' });
      expect(unknown).toMatchObject({ reason: 'not_found' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a configuration_file outside the config folder', async () => {
    const source = new FileConfigSource('file:///tmp/nowhere');
    await expect(source.readJson('../../etc/passwd')).rejects.toThrow('outside');
  });
});
