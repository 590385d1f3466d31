import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestDigest } from '../../container/agent/config/freqai-model';
import { MlflowRestRegistry } from '../../container/agent/config/mlflow';
import { MlflowArtifactDownloader } from '../../container/agent/config/model-artifacts';
import { EXIT } from '../../container/agent/constants';
import { parseAgentEnv } from '../../container/agent/env';
import { mlflowInstalled, startTestMlflow, type TestMlflow } from '../support/mlflow-server';
import { baseConfig, SIM_STRATEGY_TAGS, useAgentFixture } from './support/fixture';
import { pollUntil } from './support/poll';
import { startAgent } from './support/run';

/** seed §4 tags of the strategy version a train run starts from. */
const STRATEGY_TAGS = {
  ...SIM_STRATEGY_TAGS,
  category: 'ml',
  author: 'TradAI Team',
  status: 'production',
  freqai_model: 'models:/SimFreqAI/Production',
};

describe.skipIf(!mlflowInstalled())(
  'Agent: a train run registers its FreqAI model in a real MLflow, and a dry-run loads it',
  () => {
    const { fx, agents } = useAgentFixture();
    let mlflow: TestMlflow;
    let scratch: string;
    beforeAll(async () => {
      mlflow = await startTestMlflow();
      scratch = await mkdtemp(join(tmpdir(), 'tradai-train-'));
      await mlflow.admin.createRegisteredModel('SimStrategy');
      const version = await mlflow.admin.createModelVersion('SimStrategy', {
        source: 's3://tradai-demo/SimStrategy/1',
        tags: STRATEGY_TAGS,
      });
      await mlflow.admin.transitionStage('SimStrategy', version, 'Production');
    }, 120_000);
    afterAll(async () => {
      await mlflow?.close();
      await rm(scratch, { recursive: true, force: true });
    });

    /** A session of SimStrategy whose agent reads the real MLflow; the base config has a freqai section. */
    const prepared = async (mode: 'train' | 'dry-run') => {
      const { runId, env } = await fx.session({ mode });
      const configs = env.S3_CONFIG_BUCKET?.replace('file://', '') ?? '';
      await writeFile(
        join(configs, 'base.json'),
        JSON.stringify({
          ...baseConfig(),
          // A FreqAI train run is a backtest, and real Freqtrade refuses an open timerange for it.
          timerange: '20261101-20261201',
          freqai: { enabled: true, train_period_days: 1, backtest_period_days: 1 },
        }),
      );
      const parsed = parseAgentEnv({
        ...env,
        MLFLOW_TRACKING_URI: mlflow.url,
        RESULTS_S3_URI: `file://${join(scratch, runId)}`,
      });
      if (!parsed.ok) throw new Error(parsed.message);
      return { runId, options: parsed.options, workDir: env.AGENT_WORK_DIR as string };
    };

    it('registers the trained models as SimFreqAI v1 (artifact_sha256 over its files) and SimStrategy v2 (seed tags, freqai_model naming v1, status testing)', async () => {
      // prepare
      const { runId, options } = await prepared('train');

      // act
      const agent = await startAgent(options, { store: fx.store });
      const code = await agent.handle.done;

      // assess
      if (code !== EXIT.ok)
        throw new Error(`${(await fx.store.get(runId))?.status_reason}\n${agent.logs.slice(-15).join('\n')}`);
      expect(code).toBe(EXIT.ok);
      const session = await fx.store.get(runId);
      expect(session?.status).toBe('completed');
      expect(session?.status_reason).toContain('registered SimFreqAI v1');
      const registry = new MlflowRestRegistry({ trackingUri: mlflow.url });
      const freqai = await registry.getModelVersion({ name: 'SimFreqAI', version: '1' });
      const strategy = await registry.getModelVersion({ name: 'SimStrategy', version: '2' });
      expect(strategy.tags).toEqual({
        ...STRATEGY_TAGS,
        freqai_model: 'models:/SimFreqAI/1',
        status: 'testing',
        tradai_run_id: runId,
      });
      const downloaded = await new MlflowArtifactDownloader({ trackingUri: mlflow.url }).download(
        { name: 'SimFreqAI', version: '1' },
        join(scratch, 'check'),
      );
      expect(manifestDigest(downloaded.files)).toBe(freqai.tags.artifact_sha256);
      const dictionary = JSON.parse(await readFile(join(scratch, 'check', 'pair_dictionary.json'), 'utf8'));
      expect(Object.keys(dictionary).sort()).toEqual(['BTC/USDT', 'ETH/USDT']);
    });

    it('a dry-run of the promoted version downloads that model through the artifact proxy and runs inference-only', async () => {
      // prepare: v2 (the trained one) to Production, as POST /promote would
      await mlflow.admin.transitionStage('SimStrategy', '2', 'Production', true);
      const { runId, options, workDir } = await prepared('dry-run');

      // act
      const agent = await startAgent(options, { store: fx.store });
      agents.push(agent);

      // assess
      await pollUntil(
        'claimed and heartbeating',
        async () => (await fx.store.get(runId))?.heartbeat_seq,
        30_000,
      );
      const config = JSON.parse(await readFile(join(workDir, 'config.json'), 'utf8'));
      expect(config.freqai).toMatchObject({ identifier: 'SimFreqAI-v1', live_retrain_hours: 1_000_000 });
      const dictionary = JSON.parse(
        await readFile(join(config.user_data_dir, 'models', 'SimFreqAI-v1', 'pair_dictionary.json'), 'utf8'),
      );
      expect(
        dictionary['ETH/USDT'].data_path.startsWith(join(config.user_data_dir, 'models', 'SimFreqAI-v1')),
      ).toBe(true);
    });
  },
);
