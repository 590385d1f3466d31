import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FREQAI_INFERENCE_ONLY, hashFolder, manifestDigest } from '../../container/agent/config/freqai-model';
import { REPO_ROOT } from '../../local/cloud/cloud';
import { REAL_FREQTRADE_CMD, realFreqtradeEnvironment } from '../../local/exchange/index';
import { type FakeModelVersion, startFakeMlflow } from '../container/support/mlflow-server';
import { apiOf, eventually, sessionWhere } from '../e2e/support';
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

/**
 * The train run as an operator would make it once, outside any session: real `freqtrade trade` dry-run with
 * FreqAI's defaults (it trains every pair at its first loop) on the local exchange's candles, stopped as soon
 * as both pairs have a model in `user_data/models/<identifier>`.
 */
const trainOnce = async (exchangeUrl: string, scratch: string): Promise<string> => {
  const userData = join(scratch, 'train-user-data');
  await mkdir(userData, { recursive: true });
  const config = join(scratch, 'train-config.json');
  const base = await baseConfig();
  await writeFile(
    config,
    JSON.stringify({
      ...base,
      initial_state: 'running',
      internals: { process_throttle_secs: 1 },
      freqai: { ...FREQAI_SECTION, identifier: 'trained', live_retrain_hours: 0 },
    }),
  );
  const log = createWriteStream(join(scratch, 'train.log'));
  const child: ChildProcess = spawn(
    REAL_FREQTRADE_CMD,
    ['trade', '--config', config, '--userdir', userData, '--db-url', `sqlite:///${scratch}/train.sqlite`],
    {
      cwd: scratch,
      env: {
        ...process.env,
        ...realFreqtradeEnvironment(exchangeUrl),
        FREQTRADE__STRATEGY_PATH: STRATEGY_PATH,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const modelDir = join(userData, 'models', 'trained');
  try {
    await eventually(
      async () => {
        const text = await readFile(join(modelDir, 'pair_dictionary.json'), 'utf8').catch(() => '{}');
        const dictionary = JSON.parse(text) as Record<string, { model_filename?: string }>;
        return PAIRS.every((pair) => (dictionary[pair]?.model_filename ?? '') !== '');
      },
      `FreqAI to train ${PAIRS.join(' and ')} (see ${join(scratch, 'train.log')})`,
      90_000,
    );
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  return modelDir;
};

/** Every file of a model folder by path, as bytes (the fake registry serves them as MLflow's artifact proxy). */
const filesOf = async (dir: string): Promise<Record<string, Buffer>> => {
  const files: Record<string, Buffer> = {};
  for (const file of await hashFolder(dir)) files[file.path] = await readFile(join(dir, file.path));
  return files;
};

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/**
 * seed §5 "loaded once from MLflow and used for inference only", on real Freqtrade 2026.9 with FreqAI: a
 * LightGBMRegressor model trained once on the local exchange's candles, registered in an MLflow-shaped
 * registry (REST API 2.0 and its artifact proxy) as the FreqAI model the strategy version's `freqai_model` tag
 * names; a dry-run session's agent downloads it, and Freqtrade predicts with it without training.
 */
describe.skipIf(!realFreqtradeAvailable())(
  'Real Freqtrade: a FreqAI model from MLflow, inference only',
  () => {
    let scratch: string;
    let real: RealCloud;
    let api: ReturnType<typeof apiOf>;
    let trained: Record<string, Buffer>;
    const versions: FakeModelVersion[] = [];
    let mlflow: Awaited<ReturnType<typeof startFakeMlflow>>;

    beforeAll(async () => {
      scratch = await mkdtemp(join(tmpdir(), 'tradai-real-freqai-'));
      const configs = join(scratch, 'configs');
      await mkdir(join(configs, 'strategies/tradai_freqai/v1.0.0'), { recursive: true });
      await writeFile(join(configs, CONFIG_FILE), JSON.stringify(await baseConfig()));
      // The versions are registered once the model is trained; the registry reads this array per request.
      mlflow = await startFakeMlflow(versions);
      real = await startRealCloud({
        dataDir: join(scratch, 'cloud'),
        containerEnvironment: {
          MLFLOW_TRACKING_URI: mlflow.url,
          S3_CONFIG_BUCKET: `file://${configs}`,
          FREQTRADE__STRATEGY_PATH: STRATEGY_PATH,
          // Freqtrade's INFO lines (FreqAI's loading, training and inference) reach the task's log.
          LOG_LEVEL: 'info',
        },
      });
      api = apiOf(real.cloud);
      trained = await filesOf(await trainOnce(real.exchange.url, scratch));
      versions.push(
        {
          name: STRATEGY,
          version: '1',
          current_stage: 'Production',
          tags: {
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
          },
        },
        {
          name: FREQAI_MODEL,
          version: '1',
          current_stage: 'Production',
          files: trained,
          tags: {
            artifact_sha256: manifestDigest(
              Object.entries(trained).map(([path, bytes]) => ({
                path,
                bytes: bytes.length,
                sha256: sha256(bytes),
              })),
            ),
          },
        },
      );
    }, 150_000);
    afterAll(async () => {
      await real?.close();
      await mlflow?.close();
      await rm(scratch, { recursive: true, force: true });
    }, 60_000);

    it('downloads the trained model, and Freqtrade loads it from disk and predicts with it without retraining', async () => {
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
