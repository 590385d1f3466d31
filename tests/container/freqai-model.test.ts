import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FREQAI_INFERENCE_ONLY } from '../../container/agent/config/freqai-model';
import { EXIT } from '../../container/agent/constants';
import { parseAgentEnv } from '../../container/agent/env';
import { SIM_STRATEGY_TAGS, useAgentFixture } from './support/fixture';
import { type FakeMlflow, type FakeModelVersion, startFakeMlflow } from './support/mlflow-server';
import { pollUntil } from './support/poll';
import { startAgent } from './support/run';

const FREQAI_URI = 'models:/SimFreqAI/Production';
const TRAINED_AT = 1_764_547_200;

/** A FreqAI model folder as Freqtrade writes it under user_data/models/<identifier> on the training machine. */
const modelFiles = (pairs = ['BTC/USDT', 'ETH/USDT']): Record<string, string> => {
  const files: Record<string, string> = { 'global_metadata.json': '{"start_dry_live_date": 1764547200}' };
  const dictionary: Record<string, unknown> = {};
  for (const pair of pairs) {
    const coin = pair.split('/')[0] ?? pair;
    const folder = `sub-train-${coin}_${TRAINED_AT}`;
    const filename = `cb_${coin.toLowerCase()}_${TRAINED_AT}`;
    files[`${folder}/${filename}_model.joblib`] = `model bytes of ${coin} `.repeat(50);
    files[`${folder}/${filename}_metadata.json`] = JSON.stringify({ label_list: ['&-s_close'] });
    dictionary[pair] = {
      model_filename: filename,
      trained_timestamp: TRAINED_AT,
      data_path: `/home/train/user_data/models/SimFreqAI-v1/${folder}`,
      extras: {},
    };
  }
  files['pair_dictionary.json'] = JSON.stringify(dictionary);
  return files;
};

/** config/freqai-model.ts manifestDigest, written out again from its definition. */
const digestOf = (files: Record<string, string>) =>
  createHash('sha256')
    .update(
      Object.keys(files)
        .sort()
        .map((path) => {
          const content = files[path] ?? '';
          return `${path}\t${Buffer.byteLength(content)}\t${createHash('sha256').update(content).digest('hex')}\n`;
        })
        .join(''),
    )
    .digest('hex');

const strategyVersion = (): FakeModelVersion => ({
  name: 'SimStrategy',
  version: '1',
  current_stage: 'Production',
  tags: { ...SIM_STRATEGY_TAGS, freqai_model: FREQAI_URI },
});

describe('Agent: FreqAI model from MLflow (seed §5: loaded once, inference only)', () => {
  const { fx, agents } = useAgentFixture();
  let mlflow: FakeMlflow | undefined;
  afterEach(async () => {
    await mlflow?.close();
    mlflow = undefined;
  });

  /** A session whose agent reads an MLflow-shaped HTTP server holding the strategy and its FreqAI model. */
  const prepared = async (freqai: Partial<FakeModelVersion>, extraEnv: Record<string, string> = {}) => {
    mlflow = await startFakeMlflow([
      strategyVersion(),
      { name: 'SimFreqAI', version: '1', current_stage: 'Production', tags: {}, ...freqai },
    ]);
    const { runId, env } = await fx.session();
    const parsed = parseAgentEnv({ ...env, MLFLOW_TRACKING_URI: mlflow.url, ...extraEnv });
    if (!parsed.ok) throw new Error(parsed.message);
    return { runId, options: parsed.options, workDir: env.AGENT_WORK_DIR as string };
  };

  it('downloads the model into user_data/models/<identifier>, checks its digest, re-points data_path and starts Freqtrade inference-only', async () => {
    // prepare
    const files = modelFiles();
    const { runId, options, workDir } = await prepared({ files, tags: { artifact_sha256: digestOf(files) } });

    // act
    const agent = await startAgent(options, { store: fx.store });
    agents.push(agent);

    // assess
    await pollUntil('claimed and heartbeating', async () => (await fx.store.get(runId))?.heartbeat_seq);
    const config = JSON.parse(await readFile(join(workDir, 'config.json'), 'utf8'));
    const modelDir = join(config.user_data_dir, 'models', 'SimFreqAI-v1');
    expect(config.freqai).toMatchObject({
      enabled: true,
      identifier: 'SimFreqAI-v1',
      ...FREQAI_INFERENCE_ONLY,
    });
    const dictionary = JSON.parse(await readFile(join(modelDir, 'pair_dictionary.json'), 'utf8'));
    expect(dictionary['BTC/USDT'].data_path).toBe(join(modelDir, `sub-train-BTC_${TRAINED_AT}`));
    expect(existsSync(join(dictionary['ETH/USDT'].data_path, `cb_eth_${TRAINED_AT}_model.joblib`))).toBe(
      true,
    );
    expect(
      agent.logs.some(
        (line) => line.includes('FreqAI model installed') && line.includes('"verified":"sha256"'),
      ),
    ).toBe(true);
  });

  it('fails the session naming the model URI when the version has no artifacts (start_failed, exit configuration)', async () => {
    // prepare: MLflow lists nothing under the version's artifact location
    const { runId, options } = await prepared({});

    // act
    const agent = await startAgent(options, { store: fx.store });
    const code = await agent.handle.done;

    // assess
    expect(code).toBe(EXIT.configuration);
    const session = await fx.store.get(runId);
    expect(session?.status).toBe('failed');
    expect(session?.status_reason).toContain(FREQAI_URI);
    expect(session?.status_reason).toContain('no files');
  });

  it('fails the session when the artifacts do not match the artifact_sha256 tag, leaving no model folder behind', async () => {
    // prepare
    const files = modelFiles();
    const { runId, options, workDir } = await prepared({ files, tags: { artifact_sha256: 'f'.repeat(64) } });

    // act
    const agent = await startAgent(options, { store: fx.store });
    const code = await agent.handle.done;

    // assess
    expect(code).toBe(EXIT.configuration);
    const session = await fx.store.get(runId);
    expect(session?.status).toBe('failed');
    expect(session?.status_reason).toContain(FREQAI_URI);
    expect(session?.status_reason).toContain('artifact_sha256');
    expect(existsSync(join(workDir, 'user_data', 'models', 'SimFreqAI-v1'))).toBe(false);
  });

  it('refuses a model that lacks a whitelisted pair (Freqtrade would train that pair live)', async () => {
    // prepare
    const { runId, options } = await prepared({ files: modelFiles(['BTC/USDT']) });

    // act
    const agent = await startAgent(options, { store: fx.store });
    await agent.handle.done;

    // assess
    const session = await fx.store.get(runId);
    expect(session?.status).toBe('failed');
    expect(session?.status_reason).toContain('no trained model for ETH/USDT');
  });

  it('bounds a download that hangs by MODEL_DOWNLOAD_TIMEOUT_S: the session fails naming the URI and the bound, no partial folder', async () => {
    // prepare
    const { runId, options, workDir } = await prepared(
      { files: modelFiles(), stallFiles: true },
      { MODEL_DOWNLOAD_TIMEOUT_S: '1' },
    );

    // act
    const agent = await startAgent(options, { store: fx.store });
    const code = await agent.handle.done;

    // assess
    expect(code).toBe(EXIT.configuration);
    const session = await fx.store.get(runId);
    expect(session?.status).toBe('failed');
    expect(session?.status_reason).toContain(FREQAI_URI);
    expect(session?.status_reason).toContain('MODEL_DOWNLOAD_TIMEOUT_S');
    const models = join(workDir, 'user_data', 'models');
    expect(existsSync(models) ? await readdir(models) : []).toEqual([]);
  });
});
