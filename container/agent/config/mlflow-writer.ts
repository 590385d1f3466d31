import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { MlflowHttp, MlflowRegistryError, type MlflowRestOptions } from './mlflow';
import type { DownloadedFile } from './model-artifacts';

/**
 * The writes a train run needs, through MLflow's REST API 2.0 (as MLflow 3.17 answers them):
 * `experiments/get-by-name` / `experiments/create`, `runs/create` → `{ run: { info: { run_id, artifact_uri } } }`,
 * `PUT /api/2.0/mlflow-artifacts/artifacts/<path>` (the server's artifact proxy, `--serve-artifacts`),
 * `registered-models/create` (RESOURCE_ALREADY_EXISTS when it is there), `model-versions/create`
 * → `{ model_version: { version } }`, `runs/update` to close the run.
 */
const ExperimentSchema = z.object({ experiment: z.object({ experiment_id: z.string().min(1) }) });
const CreatedExperimentSchema = z.object({ experiment_id: z.string().min(1) });
const RunSchema = z.object({
  run: z.object({ info: z.object({ run_id: z.string().min(1), artifact_uri: z.string().min(1) }) }),
});
const CreatedVersionSchema = z.object({ model_version: z.object({ version: z.string().min(1) }) });

export interface RegisteredVersion {
  name: string;
  version: string;
  source: string;
  runId: string;
}

/** Registers a train run's results as new model versions. */
export interface ModelRegistrar {
  /** Opens an MLflow run for the train session; its artifacts go under `artifactUri`. */
  startRun(
    experiment: string,
    runName: string,
    tags: Record<string, string>,
  ): Promise<{ runId: string; artifactUri: string }>;
  uploadFolder(
    artifactUri: string,
    prefix: string,
    localDir: string,
    files: readonly DownloadedFile[],
  ): Promise<string>;
  createVersion(
    name: string,
    source: string,
    runId: string,
    tags: Record<string, string>,
  ): Promise<RegisteredVersion>;
  finishRun(runId: string, status: 'FINISHED' | 'FAILED'): Promise<void>;
}

const tagList = (tags: Record<string, string>) =>
  Object.entries(tags).map(([key, value]) => ({ key, value }));

const proxiedPathOf = (uri: string): string | undefined =>
  /^mlflow-artifacts:(?:\/\/[^/]*)?\/*(.*)$/.exec(uri)?.[1]?.replace(/\/+$/, '');

export class MlflowRestRegistrar implements ModelRegistrar {
  readonly #http: MlflowHttp;

  constructor(options: MlflowRestOptions) {
    this.#http = new MlflowHttp(options);
  }

  async #experimentId(name: string): Promise<string> {
    const what = `the experiment ${name}`;
    try {
      const found = await this.#http.json(
        'GET',
        `/api/2.0/mlflow/experiments/get-by-name?${new URLSearchParams({ experiment_name: name })}`,
        undefined,
        what,
      );
      return this.#http.parse(ExperimentSchema, found, what).experiment.experiment_id;
    } catch (error) {
      if (!(error instanceof MlflowRegistryError) || error.reason !== 'not_found') throw error;
    }
    const created = await this.#http.json('POST', '/api/2.0/mlflow/experiments/create', { name }, what);
    return this.#http.parse(CreatedExperimentSchema, created, what).experiment_id;
  }

  async startRun(experiment: string, runName: string, tags: Record<string, string>) {
    const experimentId = await this.#experimentId(experiment);
    const what = `a run for ${runName}`;
    const body = await this.#http.json(
      'POST',
      '/api/2.0/mlflow/runs/create',
      { experiment_id: experimentId, run_name: runName, start_time: Date.now(), tags: tagList(tags) },
      what,
    );
    const { info } = this.#http.parse(RunSchema, body, what).run;
    return { runId: info.run_id, artifactUri: info.artifact_uri };
  }

  async uploadFolder(
    artifactUri: string,
    prefix: string,
    localDir: string,
    files: readonly DownloadedFile[],
  ) {
    const root = proxiedPathOf(artifactUri);
    if (root === undefined || root === '') {
      throw new MlflowRegistryError(
        'refused',
        `the run's artifacts go to ${artifactUri}, which the tracking server does not serve (only mlflow-artifacts:/ through --serve-artifacts)`,
      );
    }
    for (const file of files) {
      const path = `${root}/${prefix}/${file.path}`
        .split('/')
        .filter((part) => part !== '')
        .map(encodeURIComponent)
        .join('/');
      await this.#http.put(
        `/api/2.0/mlflow-artifacts/artifacts/${path}`,
        await readFile(join(localDir, ...file.path.split('/'))),
        `the upload of ${file.path}`,
      );
    }
    return `${artifactUri.replace(/\/+$/, '')}/${prefix}`;
  }

  async createVersion(name: string, source: string, runId: string, tags: Record<string, string>) {
    const what = `a new version of ${name}`;
    try {
      await this.#http.json('POST', '/api/2.0/mlflow/registered-models/create', { name }, what);
    } catch (error) {
      if (!(error instanceof MlflowRegistryError) || error.errorCode !== 'RESOURCE_ALREADY_EXISTS')
        throw error;
    }
    const body = await this.#http.json(
      'POST',
      '/api/2.0/mlflow/model-versions/create',
      {
        name,
        source,
        run_id: runId,
        tags: tagList(tags),
        description: `trained by TradAI run ${tags.tradai_run_id ?? runId}`,
      },
      what,
    );
    return {
      name,
      version: this.#http.parse(CreatedVersionSchema, body, what).model_version.version,
      source,
      runId,
    };
  }

  async finishRun(runId: string, status: 'FINISHED' | 'FAILED') {
    await this.#http.json(
      'POST',
      '/api/2.0/mlflow/runs/update',
      { run_id: runId, status, end_time: Date.now() },
      `closing run ${runId}`,
    );
  }
}
