import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FREQAI_INFERENCE_ONLY, hashFolder } from '../../container/agent/config/freqai-model';
import { MlflowArtifactDownloader } from '../../container/agent/config/model-artifacts';
import { REPO_ROOT } from '../../local/cloud/cloud';
import { REAL_FREQTRADE_CMD, realFreqtradeEnvironment, startLocalExchange } from '../../local/exchange/index';
import { apiOf, eventually, sessionWhere } from '../e2e/support';
import { mlflowInstalled, startTestMlflow, type TestMlflow } from '../support/mlflow-server';
import { type RealCloud, realFreqtradeAvailable, startRealCloud } from './support';

const PAIRS = ['BTC/USDT', 'ETH/USDT'];
const STRATEGY = 'TradaiFreqaiDemo';
const FREQAI_MODEL = `${STRATEGY}-FreqAI`;
const CONFIG_FILE = 'strategies/tradai_freqai/v1.0.0/config.json';
const STRATEGY_PATH = join(REPO_ROOT, 'strategies/tradai_freqai');
const BASE_CONFIG = join(REPO_ROOT, 'local/demo/configs/strategies/tradai_demo/v1.0.0/config.json');

/** What FreqAI needs beyond the demo's base config: LightGBM on four features of the 1m candles, a day's window. */
const FREQAI_SECTION = {
  enabled: true,
  train_period_days: 1,
  backtest_period_days: 1,
  activate_tensorboard: false,
  feature_parameters: {
    include_timeframes: ['1m'],
    include_corr_pairlist: [],
    label_period_candles: 5,
    include_shifted_candles: 0,
    indicator_periods_candles: [10],
    DI_threshold: 0,
    weight_factor: 0,
  },
  data_split_parameters: { test_size: 0.25, shuffle: false },
  model_training_parameters: { n_estimators: 20, verbose: -1, n_jobs: 1 },
};

const baseConfig = async (): Promise<Record<string, unknown>> => {
  const { tradai_demo: _demo, sim: _sim, ...demo } = JSON.parse(await readFile(BASE_CONFIG, 'utf8'));
  return { ...demo, strategy: STRATEGY, freqaimodel: 'LightGBMRegressor', freqai: FREQAI_SECTION };
};

const run = promisify(execFile);
/** FreqAI backtesting wants a closed timerange: yesterday, trained on the day before (train_period_days 1). */
const day = (daysAgo: number) =>
  new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10).replace(/-/g, '');
const TIMERANGE = `${day(1)}-${day(0)}`;

/** Every file of a model folder by path, as bytes. */
const filesOf = async (dir: string): Promise<Record<string, Buffer>> => {
  const files: Record<string, Buffer> = {};
  for (const file of await hashFolder(dir)) files[file.path] = await readFile(join(dir, file.path));
  return files;
};

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/**
 * Three days of 1m candles into `<userData>/data/binance` (the backtest day, the training day before it and the
 * startup candles), by `freqtrade download-data` as an operator seeds a data folder, from a local exchange of
 * the seed the cloud's exchange has.
 */
const downloadCandles = async (userData: string): Promise<void> => {
  const exchange = await startLocalExchange({ seed: 7 });
  try {
    await run(
      REAL_FREQTRADE_CMD,
      ['download-data', '--config', BASE_CONFIG, '--userdir', userData, '--days', '3', '-t', '1m'],
      { env: { ...process.env, ...realFreqtradeEnvironment(exchange.url) }, cwd: userData, timeout: 60_000 },
    );
  } finally {
    await exchange.close();
  }
};

/** seed §4 tags of the strategy version a train run starts from. */
const STRATEGY_TAGS = {
  strategy_name: STRATEGY,
  strategy_version: '1.0.0',
  timeframe: '1m',
  category: 'ml',
  author: 'TradAI Team',
  status: 'production',
  can_short: 'false',
  pairs: PAIRS.join(','),
  stake_amount: '100',
  max_open_trades: '2',
  warmup_days: '1',
  data_format: 'ohlcv',
  configuration_file: CONFIG_FILE,
  freqai_model: `models:/${FREQAI_MODEL}/Production`,
};

/**
 * seed §5 end to end on real Freqtrade 2026.9 with FreqAI and a real MLflow: a train session runs `freqtrade
 * backtesting` of TradaiFreqaiDemo (FreqAI trains a LightGBMRegressor per pair on the local exchange's candles),
 * and its agent registers the models as a new FreqAI model version and a new strategy version (seed tags,
 * `freqai_model` naming it); a dry-run of that version downloads the model through MLflow's artifact proxy and
 * Freqtrade predicts with it, "loaded once from MLflow and used for inference only", without training.
 */
describe.skipIf(!realFreqtradeAvailable() || !mlflowInstalled())(
  'Real Freqtrade: a FreqAI model trained by a train session, registered in MLflow, used for inference only',
  () => {
    let scratch: string;
    let real: RealCloud;
    let api: ReturnType<typeof apiOf>;
    let trained: Record<string, Buffer>;
    let mlflow: TestMlflow;

    beforeAll(async () => {
      scratch = await mkdtemp(join(tmpdir(), 'tradai-real-freqai-'));
      const configs = join(scratch, 'configs');
      const userData = join(scratch, 'market-data');
      await mkdir(join(configs, 'strategies/tradai_freqai/v1.0.0'), { recursive: true });
      await mkdir(userData, { recursive: true });
      // The train run's backtest window comes from the base config (a session may not pass CLI flags).
      await writeFile(
        join(configs, CONFIG_FILE),
        JSON.stringify({ ...(await baseConfig()), timerange: TIMERANGE }),
      );
      // The candles come from an exchange of the same seed as the cloud's, while MLflow boots (seconds).
      [mlflow] = await Promise.all([startTestMlflow(), downloadCandles(userData)]);
      await mlflow.admin.createRegisteredModel(STRATEGY);
      const version = await mlflow.admin.createModelVersion(STRATEGY, {
        source: `s3://tradai-demo/${STRATEGY}/1`,
        tags: STRATEGY_TAGS,
      });
      await mlflow.admin.transitionStage(STRATEGY, version, 'Production');
      real = await startRealCloud({
        dataDir: join(scratch, 'cloud'),
        containerEnvironment: {
          MLFLOW_TRACKING_URI: mlflow.url,
          S3_CONFIG_BUCKET: `file://${configs}`,
          FREQTRADE__STRATEGY_PATH: STRATEGY_PATH,
          MARKET_DATA_DIR: join(userData, 'data', 'binance'),
          // Freqtrade's INFO lines (FreqAI's loading, training and inference) reach the task's log.
          LOG_LEVEL: 'info',
        },
      });
      api = apiOf(real.cloud);
    }, 150_000);
    afterAll(async () => {
      await real?.close();
      await mlflow?.close();
      await rm(scratch, { recursive: true, force: true });
    }, 60_000);

    it('a train session trains with real FreqAI backtesting and registers the models: FreqAI v1 and strategy v2 (seed tags, freqai_model naming v1, status testing)', async () => {
      // act
      const answer = await api('POST', '/strategies/real-freqai-train/start', {
        body: { strategy: STRATEGY, mode: 'train', stage: 'Production', reason: 'e2e real FreqAI train' },
      });
      expect(answer.status, JSON.stringify(answer.body)).toBe(202);
      const runId = String(answer.body.run_id);
      const done = await sessionWhere(
        real.cloud,
        runId,
        (s) => s.status === 'completed' || s.status === 'failed',
        'the train run to end',
        120_000,
      );

      // assess
      expect(done.status, done.status_reason ?? '').toBe('completed');
      expect(done.status_reason).toContain(`registered ${FREQAI_MODEL} v1`);
      const strategy = (await mlflow.admin.getModelVersion(STRATEGY, '2')) as {
        model_version: { tags: { key: string; value: string }[] };
      };
      const tags = Object.fromEntries(strategy.model_version.tags.map((tag) => [tag.key, tag.value]));
      expect(tags).toMatchObject({
        ...STRATEGY_TAGS,
        freqai_model: `models:/${FREQAI_MODEL}/1`,
        status: 'testing',
      });
      const check = join(scratch, 'registered');
      await new MlflowArtifactDownloader({ trackingUri: mlflow.url }).download(
        { name: FREQAI_MODEL, version: '1' },
        check,
      );
      trained = await filesOf(check);
      const dictionary = JSON.parse(trained['pair_dictionary.json']?.toString('utf8') ?? '{}');
      expect(Object.keys(dictionary).sort()).toEqual(PAIRS);
      // The version a dry run starts from, as POST /promote would move it.
      await mlflow.admin.transitionStage(STRATEGY, '2', 'Production', true);
    }, 180_000);

    it('a dry-run of the trained version downloads its model, and Freqtrade loads it from disk and predicts with it without training', async () => {
      // act
      const started = await api('POST', '/strategies/real-freqai/start', {
        body: {
          strategy: STRATEGY,
          mode: 'dry-run',
          stage: 'Production',
          reason: 'e2e real FreqAI inference',
          overrides: { internals: { process_throttle_secs: 1 } },
        },
      });
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      const runId = String(started.body.run_id);
      await sessionWhere(
        real.cloud,
        runId,
        (s) => s.status === 'running' && s.heartbeat_seq > 0,
        'running',
        90_000,
      );
      const config = await eventually(async () => {
        for (const task of await readdir(join(scratch, 'cloud', 'tasks'))) {
          const text = await readFile(join(scratch, 'cloud', 'tasks', task, 'config.json'), 'utf8').catch(
            () => undefined,
          );
          if (text?.includes(runId)) return JSON.parse(text);
        }
        return undefined;
      }, "the task's Freqtrade config");
      // The predictions are in the strategy's dataframe: Freqtrade's own /pair_candles shows `&-s_close` (the
      // model's output) and `do_predict` on the latest candle of each pair.
      const { listen_port: port, username, password } = config.api_server;
      const auth = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
      const latestPrediction = async (pair: string) => {
        const reply = await fetch(
          `http://127.0.0.1:${port}/api/v1/pair_candles?pair=${encodeURIComponent(pair)}&timeframe=1m&limit=5`,
          { headers: { authorization: auth } },
        );
        if (reply.status !== 200) return undefined;
        const candles = (await reply.json()) as { columns: string[]; data: unknown[][] };
        const latest = candles.data.at(-1) ?? [];
        const prediction = latest[candles.columns.indexOf('&-s_close')];
        const doPredict = latest[candles.columns.indexOf('do_predict')];
        return typeof prediction === 'number' && typeof doPredict === 'number'
          ? { prediction, doPredict }
          : undefined;
      };
      const predictions = await eventually(
        async () => {
          const each = await Promise.all(PAIRS.map(latestPrediction));
          return each.every((one) => one !== undefined) ? each : undefined;
        },
        `a FreqAI prediction for ${PAIRS.join(' and ')} in /pair_candles`,
        60_000,
      );
      expect(predictions).toHaveLength(PAIRS.length);
      // FreqAI's training thread looks at the queue's first pair every second from the first prediction on, and
      // starts a due training at once (with `live_retrain_hours: 0` the loaded model is retrained ~1 s after its
      // first prediction): five more heartbeats (1 s apart) give it several looks before the log is read.
      const seq = (await real.cloud.store.get(runId))?.heartbeat_seq ?? 0;
      await sessionWhere(
        real.cloud,
        runId,
        (s) => s.heartbeat_seq >= seq + 5,
        'five more heartbeats',
        30_000,
      );
      const log = await readFile(join(scratch, 'cloud', 'logs', `${runId}.log`), 'utf8');

      // assess: the agent's config is inference-only and names the downloaded folder
      const identifier = `${FREQAI_MODEL}-v1`;
      expect(Object.keys(trained ?? {}).length, 'the train test registered a model').toBeGreaterThan(0);
      expect(config.freqai).toMatchObject({ enabled: true, identifier, ...FREQAI_INFERENCE_ONLY });
      const modelDir = join(config.user_data_dir, 'models', identifier);

      // Freqtrade found the downloaded pair dictionary (a fresh one would say "starting from scratch" and queue
      // the whitelist afresh), and never trained.
      expect(log).toContain('Set existing queue from trained timestamps');
      expect(log).not.toContain('Could not find existing datadrawer');
      expect(log).not.toContain('Set fresh train queue');
      const trainingLines = log
        .split('\n')
        .filter((line) => /Starting training|Total time spent training|No model ready/.test(line));
      expect(trainingLines).toEqual([]);

      // Every model file is the registered one, byte for byte, and no other model was written next to them.
      const now = await filesOf(modelDir);
      const models = (files: Record<string, Buffer>) =>
        Object.fromEntries(
          Object.entries(files)
            .filter(([path]) => path.startsWith('sub-train-'))
            .map(([path, bytes]) => [path, sha256(bytes)]),
        );
      expect(Object.keys(models(trained)).length).toBeGreaterThanOrEqual(PAIRS.length * 4);
      expect(models(now)).toEqual(models(trained));

      await api('POST', '/strategies/real-freqai/stop', { body: { reason: 'e2e over', flatten: false } });
      await sessionWhere(real.cloud, runId, (s) => s.status === 'stopped', 'stopped', 60_000);
    }, 180_000);
  },
);
