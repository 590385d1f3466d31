import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join, posix } from 'node:path';
import * as z from 'zod';
import { StrategyConfigError } from '../errors';
import { isPlainObject, type JsonObject } from './merge';
import { MlflowRegistryError } from './mlflow';
import type { ModelRegistrar, RegisteredVersion } from './mlflow-writer';
import type { DownloadedFile, ModelArtifactDownloader } from './model-artifacts';
import type { FreqaiModelRef } from './strategy-config-loader';

/**
 * seed §5: "FreqAI does NOT retrain during live trading. Models are loaded once from MLflow and used for
 * inference only." Freqtrade has no inference-only switch; in dry-run and live its FreqAI thread retrains a
 * pair when the model's age (`trained_timestamp` in `pair_dictionary.json`) exceeds `live_retrain_hours`
 * (default 0: retrain continuously), and trains from scratch a pair the dictionary does not hold. So:
 * - `live_retrain_hours` far beyond any session's life: no model is ever old enough to retrain;
 * - `expiration_hours: 0`: a model is never refused for its age (predictions continue);
 * - `continual_learning: false`: no fit starts from the loaded model;
 * - `purge_old_models: false`: nothing deletes the downloaded model;
 * - `save_backtest_models: false`: nothing is written next to it;
 * and every whitelisted pair must be in the downloaded dictionary (checked below), else that pair would train.
 */
export const FREQAI_INFERENCE_ONLY = {
  live_retrain_hours: 1_000_000,
  expiration_hours: 0,
  continual_learning: false,
  purge_old_models: false,
  save_backtest_models: false,
} as const;

/** Freqtrade's model folder name: `user_data/models/<identifier>`; one path segment. */
const IdentifierSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'must be one folder name (letters, digits, . _ -)');

/** freqtrade/freqai/data_drawer.py `pair_info`, one entry per pair. */
const PairDictionarySchema = z.record(
  z.string(),
  z.looseObject({
    model_filename: z.string(),
    trained_timestamp: z.number(),
    data_path: z.string(),
  }),
);

/** A digest of the whole folder: sha256 over `path\tbytes\tsha256\n` lines sorted by path. */
export const manifestDigest = (files: readonly DownloadedFile[]): string =>
  createHash('sha256')
    .update(
      [...files]
        .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
        .map((file) => `${file.path}\t${file.bytes}\t${file.sha256}\n`)
        .join(''),
    )
    .digest('hex');

/** A FreqAI model that cannot be used: the session fails with the model URI named. */
export class FreqaiModelError extends StrategyConfigError {
  readonly uri: string;

  constructor(uri: string, message: string, options?: { cause?: unknown }) {
    super('tags.freqai_model', `${uri}: ${message}`, options);
    this.name = 'FreqaiModelError';
    this.uri = uri;
  }
}

export interface InstalledFreqaiModel {
  identifier: string;
  path: string;
  files: number;
  bytes: number;
  digest: string;
  /** `sha256`: the digest matched the version's `artifact_sha256` tag; `sizes`: only MLflow's sizes were checked. */
  verified: 'sha256' | 'sizes';
}

export interface FreqaiInstallRequest {
  /** The merged Freqtrade config; its `freqai` section gets the identifier and the inference-only settings. */
  config: JsonObject;
  model: FreqaiModelRef;
  userDataDir: string;
  pairs: readonly string[];
  downloader: ModelArtifactDownloader;
}

/**
 * Downloads the FreqAI model version into `<user_data_dir>/models/<identifier>`, checks it (sizes always,
 * the `artifact_sha256` tag's digest where the version carries one, a dictionary entry and a model folder
 * for every pair), points the dictionary's `data_path`s at where the folder is now (Freqtrade loads each
 * pair's model from that absolute path, which named the training machine's folder), and sets the config
 * for inference only. Transient registry faults keep their cause (the start retries them); anything else
 * fails the session naming the URI.
 */
export const installFreqaiModel = async (request: FreqaiInstallRequest): Promise<InstalledFreqaiModel> => {
  const { config, model } = request;
  const freqai = isPlainObject(config.freqai) ? config.freqai : {};
  const identifier = IdentifierSchema.safeParse(freqai.identifier ?? `${model.name}-v${model.version}`);
  if (!identifier.success) {
    throw new FreqaiModelError(model.uri, `freqai.identifier ${identifier.error.issues[0]?.message ?? ''}`);
  }
  const path = join(request.userDataDir, 'models', identifier.data);
  let downloaded: Awaited<ReturnType<ModelArtifactDownloader['download']>>;
  try {
    downloaded = await request.downloader.download(
      { name: model.name, version: model.version, source: model.source },
      path,
    );
  } catch (error) {
    const transient = error instanceof MlflowRegistryError && error.reason === 'unavailable';
    throw new FreqaiModelError(
      model.uri,
      `${model.name} v${model.version} could not be downloaded: ${error instanceof Error ? error.message : String(error)}`,
      transient ? { cause: error } : undefined,
    );
  }
  const fail = async (message: string): Promise<never> => {
    await rm(path, { recursive: true, force: true });
    throw new FreqaiModelError(model.uri, message);
  };
  const digest = manifestDigest(downloaded.files);
  if (model.sha256 !== null && model.sha256.toLowerCase() !== digest) {
    return fail(`the artifacts' digest ${digest} is not the artifact_sha256 tag ${model.sha256}`);
  }
  const dictionaryPath = join(path, 'pair_dictionary.json');
  let dictionary: z.infer<typeof PairDictionarySchema>;
  try {
    dictionary = PairDictionarySchema.parse(JSON.parse(await readFile(dictionaryPath, 'utf8')));
  } catch (error) {
    return fail(`not a FreqAI model folder: pair_dictionary.json missing or unreadable (${String(error)})`);
  }
  const untrained = request.pairs.filter((pair) => {
    const entry = dictionary[pair];
    return entry === undefined || entry.model_filename === '' || entry.trained_timestamp <= 0;
  });
  if (untrained.length > 0) {
    return fail(`no trained model for ${untrained.join(', ')}: Freqtrade would train it live`);
  }
  for (const [pair, entry] of Object.entries(dictionary)) {
    if (entry.data_path === '') continue;
    const local = join(path, basename(entry.data_path.replace(/\\/g, '/')));
    if (!existsSync(local))
      return fail(`the model folder of ${pair} (${basename(entry.data_path)}) is missing`);
    entry.data_path = local;
  }
  await writeFile(dictionaryPath, `${JSON.stringify(dictionary, null, 2)}\n`);
  config.user_data_dir = request.userDataDir;
  config.freqai = { ...freqai, enabled: true, identifier: identifier.data, ...FREQAI_INFERENCE_ONLY };
  return {
    identifier: identifier.data,
    path,
    files: downloaded.files.length,
    bytes: downloaded.totalBytes,
    digest,
    verified: model.sha256 === null ? 'sizes' : 'sha256',
  };
};

/** Every file under `dir` with its size and sha256, paths relative with `/` (manifestDigest's input). */
export const hashFolder = async (dir: string): Promise<DownloadedFile[]> => {
  const files: DownloadedFile[] = [];
  const walk = async (relative: string): Promise<void> => {
    for (const entry of await readdir(join(dir, relative), { withFileTypes: true })) {
      const child = relative === '' ? entry.name : posix.join(relative, entry.name);
      if (entry.isDirectory()) await walk(child);
      else if (entry.isFile()) {
        const bytes = await readFile(join(dir, child));
        files.push({
          path: child,
          bytes: bytes.length,
          sha256: createHash('sha256').update(bytes).digest('hex'),
        });
      }
    }
  };
  await walk('');
  return files;
};

export interface TrainedModelRegistration {
  freqai: RegisteredVersion;
  strategy: RegisteredVersion;
  digest: string;
  files: number;
}

/**
 * seed §5 "Save to MLflow": the models a train run's backtest left in `<user_data_dir>/models/<identifier>`
 * become a new version of the FreqAI registered model (its files under the MLflow run, `artifact_sha256`
 * over them), and the strategy gets a new version with the trained version's seed §4 tags, `freqai_model`
 * naming that exact FreqAI version and `status: testing` (promotion moves it on).
 */
export const registerTrainedModel = async (input: {
  registrar: ModelRegistrar;
  modelDir: string;
  freqaiName: string;
  strategy: string;
  runId: string;
  /** The tags of the strategy version the run trained (seed §4 schema), carried over to the new version. */
  strategyTags: Record<string, string>;
}): Promise<TrainedModelRegistration> => {
  const files = await hashFolder(input.modelDir).catch((error: unknown) => {
    throw new FreqaiModelError(
      `models:/${input.freqaiName}`,
      `the train run left no model folder at ${input.modelDir} (${String(error)})`,
    );
  });
  if (!files.some((file) => file.path === 'pair_dictionary.json')) {
    throw new FreqaiModelError(
      `models:/${input.freqaiName}`,
      `${input.modelDir} is not a FreqAI model folder (no pair_dictionary.json)`,
    );
  }
  const digest = manifestDigest(files);
  const run = await input.registrar.startRun(`tradai-train-${input.strategy}`, input.runId, {
    tradai_run_id: input.runId,
    strategy_name: input.strategy,
  });
  try {
    const source = await input.registrar.uploadFolder(run.artifactUri, 'freqai', input.modelDir, files);
    const freqai = await input.registrar.createVersion(input.freqaiName, source, run.runId, {
      artifact_sha256: digest,
      strategy_name: input.strategy,
      tradai_run_id: input.runId,
    });
    const strategy = await input.registrar.createVersion(input.strategy, run.artifactUri, run.runId, {
      ...input.strategyTags,
      freqai_model: `models:/${input.freqaiName}/${freqai.version}`,
      status: 'testing',
      tradai_run_id: input.runId,
    });
    await input.registrar.finishRun(run.runId, 'FINISHED');
    return { freqai, strategy, digest, files: files.length };
  } catch (error) {
    await input.registrar.finishRun(run.runId, 'FAILED').catch(() => undefined);
    throw error;
  }
};
