import * as z from 'zod';

/**
 * The writes of MLflow's REST API 2.0 that seeding a registry needs (experiments, runs, artifacts,
 * registered models, versions, tags, aliases, stages). Reads for trading live in the agent's loader;
 * this client is for the local cloud and the tests, never for a Lambda or the agent.
 */
const ErrorSchema = z.object({ error_code: z.string(), message: z.string().default('') });
const CreateVersionSchema = z.object({ model_version: z.object({ version: z.string() }) });
const LatestVersionsSchema = z.object({
  model_versions: z.array(z.object({ version: z.string() })).optional(),
});
const CreateExperimentSchema = z.object({ experiment_id: z.string() });
const GetExperimentSchema = z.object({ experiment: z.object({ experiment_id: z.string() }) });
const CreateRunSchema = z.object({
  run: z.object({ info: z.object({ run_id: z.string(), artifact_uri: z.string() }) }),
});

export class MlflowRequestError extends Error {
  readonly status: number;
  readonly errorCode: string | null;

  constructor(message: string, status: number, errorCode: string | null) {
    super(message);
    this.name = 'MlflowRequestError';
    this.status = status;
    this.errorCode = errorCode;
  }
}

export interface MlflowAdminOptions {
  trackingUri: string;
  /** Basic auth for a server started with `--app-name basic-auth`. */
  username?: string;
  password?: string;
  fetch?: typeof fetch;
}

export interface SeedRun {
  runId: string;
  /** `mlflow-artifacts:/<experiment>/<run>/artifacts` when the server proxies artifacts. */
  artifactUri: string;
}

export class MlflowAdminClient {
  readonly #base: string;
  readonly #headers: Record<string, string>;
  readonly #fetch: typeof fetch;

  constructor(options: MlflowAdminOptions) {
    this.#base = options.trackingUri.replace(/\/+$/, '');
    this.#fetch = options.fetch ?? fetch;
    this.#headers = {};
    if (options.username !== undefined && options.password !== undefined) {
      this.#headers.authorization = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`;
    }
  }

  async #send(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await this.#fetch(`${this.#base}${path}`, {
      method,
      headers: {
        ...this.#headers,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = text === '' ? {} : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!response.ok) {
      const error = ErrorSchema.safeParse(json);
      throw new MlflowRequestError(
        `${method} ${path}: HTTP ${response.status} ${error.success ? `${error.data.error_code} ${error.data.message}` : text.slice(0, 200)}`,
        response.status,
        error.success ? error.data.error_code : null,
      );
    }
    return json;
  }

  #api(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', route: string, body?: unknown) {
    return this.#send(method, `/api/2.0/mlflow/${route}`, body);
  }

  async experimentId(name: string): Promise<string> {
    try {
      const found = await this.#api(
        'GET',
        `experiments/get-by-name?${new URLSearchParams({ experiment_name: name })}`,
      );
      return GetExperimentSchema.parse(found).experiment.experiment_id;
    } catch (error) {
      if (!(error instanceof MlflowRequestError) || error.errorCode !== 'RESOURCE_DOES_NOT_EXIST')
        throw error;
    }
    return CreateExperimentSchema.parse(await this.#api('POST', 'experiments/create', { name }))
      .experiment_id;
  }

  async createRun(experimentId: string, runName: string): Promise<SeedRun> {
    const created = CreateRunSchema.parse(
      await this.#api('POST', 'runs/create', { experiment_id: experimentId, run_name: runName }),
    );
    return { runId: created.run.info.run_id, artifactUri: created.run.info.artifact_uri };
  }

  /** PUT through the server's artifact proxy; `artifactUri` is a run's `mlflow-artifacts:/...` root. */
  async uploadArtifact(artifactUri: string, path: string, content: Uint8Array | string): Promise<void> {
    const root = artifactUri.replace(/^mlflow-artifacts:(\/\/[^/]*)?\/*/, '');
    const encoded = `${root}/${path}`
      .split('/')
      .filter((part) => part !== '')
      .map(encodeURIComponent)
      .join('/');
    const response = await this.#fetch(`${this.#base}/api/2.0/mlflow-artifacts/artifacts/${encoded}`, {
      method: 'PUT',
      headers: { ...this.#headers, 'content-type': 'application/octet-stream' },
      body: typeof content === 'string' ? content : Buffer.from(content),
      signal: AbortSignal.timeout(15_000),
    });
    if (!response.ok) {
      throw new MlflowRequestError(
        `PUT artifact ${encoded}: HTTP ${response.status} ${(await response.text()).slice(0, 200)}`,
        response.status,
        null,
      );
    }
  }

  async createRegisteredModel(name: string): Promise<void> {
    try {
      await this.#api('POST', 'registered-models/create', { name });
    } catch (error) {
      if (!(error instanceof MlflowRequestError) || error.errorCode !== 'RESOURCE_ALREADY_EXISTS')
        throw error;
    }
  }

  /**
   * MLflow refuses a local path as a version's source unless it lies in the named run's artifacts, so
   * a version without artifacts gets a placeholder URI of the kind the real registry stores (S3).
   */
  async createModelVersion(
    name: string,
    version: { source: string; runId?: string; tags?: Record<string, string>; description?: string },
  ): Promise<string> {
    const created = await this.#api('POST', 'model-versions/create', {
      name,
      source: version.source,
      ...(version.runId === undefined ? {} : { run_id: version.runId }),
      ...(version.description === undefined ? {} : { description: version.description }),
      tags: Object.entries(version.tags ?? {}).map(([key, value]) => ({ key, value })),
    });
    return CreateVersionSchema.parse(created).model_version.version;
  }

  async setModelVersionTag(name: string, version: string, key: string, value: string): Promise<void> {
    await this.#api('POST', 'model-versions/set-tag', { name, version, key, value });
  }

  /** 0 when the model has no version yet (get-latest-versions with no stage: the latest of each stage). */
  async newestVersionNumber(name: string): Promise<number> {
    const latest = LatestVersionsSchema.parse(
      await this.#api('POST', 'registered-models/get-latest-versions', { name }),
    );
    return Math.max(0, ...(latest.model_versions ?? []).map((version) => Number(version.version)));
  }

  async getModelVersion(name: string, version: string): Promise<unknown> {
    return this.#api('GET', `model-versions/get?${new URLSearchParams({ name, version })}`);
  }

  async setAlias(name: string, alias: string, version: string): Promise<void> {
    await this.#api('POST', 'registered-models/alias', { name, alias, version });
  }

  /** basic-auth app only. */
  async createUser(username: string, password: string): Promise<void> {
    await this.#api('POST', 'users/create', { username, password });
  }

  /** basic-auth app only; MLflow 3.17 grants permissions on its 3.0 API. */
  async grantPermission(
    username: string,
    resourceType: 'registered_model' | 'experiment',
    resourceId: string,
    permission: 'READ' | 'EDIT' | 'MANAGE' | 'NO_PERMISSIONS',
  ): Promise<void> {
    await this.#send('POST', '/api/3.0/mlflow/users/permissions/grant', {
      username,
      resource_type: resourceType,
      resource_id: resourceId,
      permission,
    });
  }

  async transitionStage(
    name: string,
    version: string,
    stage: string,
    archiveExisting = false,
  ): Promise<void> {
    await this.#api('POST', 'model-versions/transition-stage', {
      name,
      version,
      stage,
      archive_existing_versions: archiveExisting,
    });
  }
}
