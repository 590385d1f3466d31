import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '../../local/cloud/cloud';
import { DEMO_REGISTRY_FILE } from '../../local/mlflow/index';
import { apiOf, eventually, sessionWhere, startBody, startFastCloud } from './support';

const TRAINED_AT = 1_764_547_200;

/**
 * The local cloud's registry (a copy of the demo registry in its data folder) with a FreqAI model in its file
 * store and a new MomentumStrategy version whose freqai_model tag names it, as a train run would leave them.
 */
const prepareRegistry = async (dataDir: string) => {
  const registry = JSON.parse(await readFile(DEMO_REGISTRY_FILE, 'utf8'));
  const momentum = registry.registered_models.find(
    (model: { name: string }) => model.name === 'MomentumStrategy',
  );
  const production = momentum.versions.find(
    (version: { current_stage: string }) => version.current_stage === 'Production',
  );
  const next = String(
    Math.max(...momentum.versions.map((version: { version: string }) => Number(version.version))) + 1,
  );
  momentum.versions.push({
    version: next,
    current_stage: 'None',
    tags: {
      ...production.tags,
      strategy_version: '1.2.0',
      status: 'testing',
      freqai_model: 'models:/MomentumFreqAI/Production',
    },
  });
  const folder = join(dataDir, 'model-store', 'MomentumFreqAI', '1');
  const dictionary: Record<string, unknown> = {};
  for (const pair of production.tags.pairs.split(',')) {
    const coin = pair.split('/')[0];
    const sub = join(folder, `sub-train-${coin}_${TRAINED_AT}`);
    await mkdir(sub, { recursive: true });
    await writeFile(join(sub, `cb_${coin.toLowerCase()}_${TRAINED_AT}_model.joblib`), `model of ${pair}`);
    dictionary[pair] = {
      model_filename: `cb_${coin.toLowerCase()}_${TRAINED_AT}`,
      trained_timestamp: TRAINED_AT,
      data_path: `/train/user_data/models/MomentumFreqAI-v1/sub-train-${coin}_${TRAINED_AT}`,
      extras: {},
    };
  }
  await writeFile(join(folder, 'pair_dictionary.json'), JSON.stringify(dictionary));
  registry.registered_models.push({
    name: 'MomentumFreqAI',
    aliases: {},
    versions: [{ version: '1', current_stage: 'Production', source: `file://${folder}`, tags: {} }],
  });
  await writeFile(join(dataDir, 'registry.json'), JSON.stringify(registry));
  return next;
};

describe('e2e: promote a version on the local cloud, then a dry-run of it loads its FreqAI model', () => {
  let cloud: LocalCloud;
  let dataDir: string;
  let version: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tradai-e2e-promote-'));
    version = await prepareRegistry(dataDir);
    cloud = await startFastCloud({ dataDir });
  });
  afterAll(async () => {
    await cloud?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('POST /promote moves alias ml to the new version (audited), and a start on @ml installs the FreqAI model inference-only', async () => {
    // prepare
    const api = apiOf(cloud);

    // act
    const promoted = await api('POST', '/strategies/ml-momentum/promote', {
      body: { version, to: 'ml', model: 'MomentumStrategy', reason: 'trained model for a dry run' },
    });
    const started = await api('POST', '/strategies/ml-momentum/start', {
      body: { ...startBody(), stage: undefined, alias: 'ml' },
    });

    // assess
    expect(promoted.status).toBe(200);
    expect(promoted.body).toMatchObject({
      model: 'MomentumStrategy',
      version,
      kind: 'alias',
      aliases: ['ml'],
    });
    expect(started.status).toBe(202);
    const runId = String(started.body.run_id);
    const running = await sessionWhere(
      cloud,
      runId,
      (s) => s.status === 'running' && s.heartbeat_seq > 0,
      'running',
      60_000,
    );
    expect(running.strategy_version).toBe('1.2.0');
    const config = await eventually(async () => {
      for (const task of await readdir(join(dataDir, 'tasks'))) {
        const text = await readFile(join(dataDir, 'tasks', task, 'config.json'), 'utf8').catch(
          () => undefined,
        );
        if (text?.includes(runId)) return JSON.parse(text);
      }
      return undefined;
    }, "the task's Freqtrade config");
    expect(config.freqai).toMatchObject({
      enabled: true,
      identifier: 'MomentumFreqAI-v1',
      live_retrain_hours: 1_000_000,
    });
    const dictionary = JSON.parse(
      await readFile(
        join(config.user_data_dir, 'models', 'MomentumFreqAI-v1', 'pair_dictionary.json'),
        'utf8',
      ),
    );
    expect(dictionary['BTC/USDT'].data_path).toBe(
      join(config.user_data_dir, 'models', 'MomentumFreqAI-v1', `sub-train-BTC_${TRAINED_AT}`),
    );
    const audit = await api('GET', '/strategies/ml-momentum/audit');
    expect(JSON.stringify(audit.body)).toContain('"action":"promote"');
    await api('POST', '/strategies/ml-momentum/stop', { body: { reason: 'e2e over' } });
    await sessionWhere(cloud, runId, (s) => s.status === 'stopped', 'stopped', 60_000);
  });
});
