import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { filePathOf } from '../env';
import { StrategyConfigError, StrategyConfigValidationError } from '../errors';
import { type HttpStream, type HttpStreamedReply, nodeHttpStream, readText } from '../http';

/**
 * MLflow Model Registry REST API 2.0 shapes (mlflow/protos/model_registry.proto):
 * `GET  /api/2.0/mlflow/registered-models/alias?name=&alias=` → `{ model_version }`
 * `POST /api/2.0/mlflow/registered-models/get-latest-versions {name, stages}` → `{ model_versions }`
 * `GET  /api/2.0/mlflow/model-versions/get?name=&version=` → `{ model_version }`
 * Tags are a list of `{ key, value }`; errors are `{ error_code, message }`.
 */
const TagSchema = z.object({ key: z.string(), value: z.string() });

export const MlflowModelVersionSchema = z.object({
  name: z.string(),
  version: z.string(),
  current_stage: z.string().optional(),
  source: z.string().optional(),
  run_id: z.string().optional(),
  status: z.string().optional(),
  tags: z.array(TagSchema).optional(),
  aliases: z.array(z.string()).optional(),
});
export type MlflowModelVersion = z.infer<typeof MlflowModelVersionSchema>;

const ModelVersionResponseSchema = z.object({ model_version: MlflowModelVersionSchema });
const LatestVersionsResponseSchema = z.object({
  model_versions: z.array(MlflowModelVersionSchema).optional(),
});
const MlflowErrorSchema = z.object({ error_code: z.string().optional(), message: z.string().optional() });

/** A registered model version as the agent needs it: tags flattened into a map. */
export interface ModelVersion {
  name: string;
  version: string;
  stage: string | null;
  source: string | null;
  runId: string | null;
  tags: Record<string, string>;
}

/** Which version: by alias (MLflow ≥ 2.3), by stage, an exact version, or the newest of all (`models:/Name/latest`). */
export type ModelVersionRef =
  | { name: string; alias: string }
  | { name: string; stage: string }
  | { name: string; version: string }
  | { name: string; latest: true };

export interface ModelRegistry {
  getModelVersion(ref: ModelVersionRef): Promise<ModelVersion>;
}

export const describeRef = (ref: ModelVersionRef): string =>
  'alias' in ref
    ? `${ref.name}@${ref.alias}`
    : 'stage' in ref
      ? `${ref.name} (stage ${ref.stage})`
      : 'version' in ref
        ? `${ref.name} v${ref.version}`
        : `${ref.name} (latest version)`;

/** MLflow reads `latest` (any case) as a keyword in a model URI's stage position, never as a stage name. */
export const isLatestKeyword = (stage: string): boolean => stage.toLowerCase() === 'latest';

/** MLflow answers `""` (not an absent field) for a version registered without a run. */
const emptyToNull = (value: string | undefined): string | null =>
  value === undefined || value === '' ? null : value;

const toModelVersion = (raw: MlflowModelVersion): ModelVersion => ({
  name: raw.name,
  version: raw.version,
  stage: raw.current_stage ?? null,
  source: emptyToNull(raw.source),
  runId: emptyToNull(raw.run_id),
  tags: Object.fromEntries((raw.tags ?? []).map((tag) => [tag.key, tag.value])),
});

/** The newest version among the given ones (versions are decimal strings). */
const newest = <V extends { version: string }>(versions: V[]): V | undefined =>
  [...versions].sort((a, b) => Number(b.version) - Number(a.version))[0];

export interface MlflowRestOptions {
  trackingUri: string;
  /** node:http(s) unless a test swaps it (never global fetch: see ../http). */
  http?: HttpStream;
  token?: string;
  username?: string;
  password?: string;
  timeoutMs?: number;
}

/**
 * Why MLflow did not give a version:
 * - `not_found`: no such model, version or alias, or no version in the stage (the session is wrong);
 * - `refused`: MLflow rejected the request as invalid (e.g. an unknown stage name);
 * - `unauthorized`: 401/403 (credentials, permissions, or a Host header MLflow does not allow);
 * - `unavailable`: unreachable, timed out or a 5xx (may succeed on a later start);
 * - `bad_reply`: an answer that is not MLflow's REST API;
 * - `timed_out`: a model download past its bound.
 */
export type MlflowFailureReason =
  | 'not_found'
  | 'refused'
  | 'unauthorized'
  | 'unavailable'
  | 'bad_reply'
  /** A model download that ran past its bound (MODEL_DOWNLOAD_TIMEOUT_S): not retried, it already took its time. */
  | 'timed_out';

export class MlflowRegistryError extends StrategyConfigError {
  readonly reason: MlflowFailureReason;
  /** HTTP status of MLflow's answer, null when there was none. */
  readonly status: number | null;
  /** MLflow's `error_code` (e.g. RESOURCE_DOES_NOT_EXIST), null when the body was not an MLflow error. */
  readonly errorCode: string | null;

  constructor(
    reason: MlflowFailureReason,
    message: string,
    details: { status?: number | null; errorCode?: string | null; cause?: unknown } = {},
  ) {
    super('mlflow', message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'MlflowRegistryError';
    this.reason = reason;
    this.status = details.status ?? null;
    this.errorCode = details.errorCode ?? null;
  }
}

/**
 * Classifies an MLflow error answer. An unknown alias of an existing model is answered
 * 400 INVALID_PARAMETER_VALUE "Registered model alias X not found." (not 404 RESOURCE_DOES_NOT_EXIST),
 * so the message decides there.
 */
const reasonOf = (status: number, errorCode: string | null, message: string): MlflowFailureReason => {
  if (status === 401 || status === 403) return 'unauthorized';
  if (status >= 500 || status === 429) return 'unavailable';
  if (errorCode === 'RESOURCE_DOES_NOT_EXIST' || status === 404) return 'not_found';
  if (errorCode === 'INVALID_PARAMETER_VALUE' && /\balias\b.*\bnot found\b/i.test(message))
    return 'not_found';
  return 'refused';
};

/**
 * HTTP to a tracking server: MLFLOW_TRACKING_TOKEN or basic auth like MLflow's own clients, a timeout
 * per request, and every refusal turned into an MlflowRegistryError that says `what` was asked.
 */
export class MlflowHttp {
  readonly base: string;
  readonly #http: HttpStream;
  readonly #headers: Record<string, string>;
  readonly #timeoutMs: number;

  constructor(options: MlflowRestOptions) {
    this.base = options.trackingUri.replace(/\/+$/, '');
    this.#http = options.http ?? nodeHttpStream;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#headers = { accept: 'application/json' };
    if (options.token !== undefined) this.#headers.authorization = `Bearer ${options.token}`;
    else if (options.username !== undefined && options.password !== undefined) {
      this.#headers.authorization = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`;
    }
  }

  /** `path` from the server root, e.g. `/api/2.0/mlflow/registered-models/alias?...`. */
  async json(method: 'GET' | 'POST', path: string, body: unknown, what: string): Promise<unknown> {
    const response = await this.#send(method, path, body, what, this.#timeoutMs);
    let text: string;
    try {
      text = await readText(response.body);
    } catch (error) {
      throw new MlflowRegistryError(
        'unavailable',
        `MLflow at ${this.base} broke off its answer for ${what}: ${describeFetchError(error)}`,
        { cause: error },
      );
    }
    let json: unknown;
    try {
      json = text === '' ? {} : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!response.ok) throw refusalOf(this.base, response.status, text, json, what);
    if (json === undefined) {
      throw new MlflowRegistryError(
        'bad_reply',
        `MLflow at ${this.base} answered non-JSON for ${what} (HTTP ${response.status}): check MLFLOW_TRACKING_URI`,
        { status: response.status },
      );
    }
    return json;
  }

  /** A GET whose body the caller streams (artifact downloads); refusals are read and thrown here. */
  async stream(path: string, what: string, timeoutMs: number): Promise<HttpStreamedReply> {
    const response = await this.#send('GET', path, undefined, what, timeoutMs);
    if (response.ok) return response;
    const text = await readText(response.body).catch(() => '');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    throw refusalOf(this.base, response.status, text, json, what);
  }

  /** Bytes to the server's artifact proxy (`PUT /api/2.0/mlflow-artifacts/artifacts/<path>`). */
  async put(path: string, bytes: Uint8Array, what: string): Promise<void> {
    const signal = AbortSignal.timeout(this.#timeoutMs);
    let response: HttpStreamedReply;
    try {
      response = await this.#http(`${this.base}${path}`, {
        method: 'PUT',
        headers: { ...this.#headers, 'content-type': 'application/octet-stream' },
        body: bytes,
        signal,
      });
    } catch (error) {
      throw new MlflowRegistryError(
        'unavailable',
        `MLflow at ${this.base} is unreachable for ${what}: ${describeFetchError(error)}`,
        { cause: error },
      );
    }
    const text = await readText(response.body).catch(() => '');
    if (response.ok) return;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    throw refusalOf(this.base, response.status, text, json, what);
  }

  parse<S extends z.ZodType>(schema: S, body: unknown, what: string): z.output<S> {
    const result = schema.safeParse(body);
    if (!result.success) {
      throw new StrategyConfigValidationError(
        `MLflow answer for ${what}`,
        result.error.issues.map((issue) => ({
          path: issue.path.map(String).join('.'),
          message: issue.message,
        })),
      );
    }
    return result.data;
  }

  async #send(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    what: string,
    timeoutMs: number,
  ): Promise<HttpStreamedReply> {
    try {
      return await this.#http(`${this.base}${path}`, {
        method,
        headers:
          body === undefined ? this.#headers : { ...this.#headers, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new MlflowRegistryError(
        'unavailable',
        `MLflow at ${this.base} is unreachable for ${what}: ${describeFetchError(error)}`,
        { cause: error },
      );
    }
  }
}

/** An error answer: MLflow's own `{error_code, message}`, or a body that is not MLflow's (wrong URI, proxy, host check). */
const refusalOf = (
  base: string,
  status: number,
  text: string,
  json: unknown,
  what: string,
): MlflowRegistryError => {
  const detail = MlflowErrorSchema.safeParse(json);
  if (detail.success && detail.data.error_code !== undefined) {
    const errorCode = detail.data.error_code;
    const message = detail.data.message ?? '';
    return new MlflowRegistryError(
      reasonOf(status, errorCode, message),
      `MLflow refused ${what}: ${errorCode}: ${message}`,
      { status, errorCode },
    );
  }
  const excerpt = text.replace(/\s+/g, ' ').trim().slice(0, 120);
  if (status === 404) {
    return new MlflowRegistryError(
      'not_found',
      `no MLflow REST API at ${base} (HTTP 404 for ${what}): check MLFLOW_TRACKING_URI`,
      { status },
    );
  }
  if (status === 403 && /invalid host header/i.test(text)) {
    return new MlflowRegistryError(
      'unauthorized',
      `MLflow at ${base} refused the Host header (${excerpt}): start it with --allowed-hosts naming this host`,
      { status },
    );
  }
  if (status === 401 || status === 403) {
    return new MlflowRegistryError(
      'unauthorized',
      `MLflow at ${base} refused the credentials for ${what} (HTTP ${status}): check MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD`,
      { status },
    );
  }
  return new MlflowRegistryError(
    reasonOf(status, null, ''),
    `MLflow at ${base} answered HTTP ${status} for ${what}${excerpt === '' ? '' : `: ${excerpt}`}`,
    { status },
  );
};

const REGISTRY_API = '/api/2.0/mlflow';

/** The tracking server's Model Registry REST API. */
export class MlflowRestRegistry implements ModelRegistry {
  readonly #http: MlflowHttp;

  constructor(options: MlflowRestOptions) {
    this.#http = new MlflowHttp(options);
  }

  async getModelVersion(ref: ModelVersionRef): Promise<ModelVersion> {
    const what = describeRef(ref);
    if ('alias' in ref) {
      const query = new URLSearchParams({ name: ref.name, alias: ref.alias });
      const body = await this.#http.json(
        'GET',
        `${REGISTRY_API}/registered-models/alias?${query}`,
        undefined,
        what,
      );
      return toModelVersion(this.#http.parse(ModelVersionResponseSchema, body, what).model_version);
    }
    if ('version' in ref) {
      const query = new URLSearchParams({ name: ref.name, version: ref.version });
      const body = await this.#http.json(
        'GET',
        `${REGISTRY_API}/model-versions/get?${query}`,
        undefined,
        what,
      );
      return toModelVersion(this.#http.parse(ModelVersionResponseSchema, body, what).model_version);
    }
    // `latest` (any case) is MLflow's keyword, as in its client's models:/Name/latest: the newest
    // version among the latest of every stage. Sent as a stage it would be refused (400).
    const latestOfAll = 'latest' in ref || isLatestKeyword(ref.stage);
    const body = await this.#http.json(
      'POST',
      `${REGISTRY_API}/registered-models/get-latest-versions`,
      latestOfAll ? { name: ref.name } : { name: ref.name, stages: [ref.stage] },
      what,
    );
    // MLflow answers `{}` (no model_versions) when no version is in the stage.
    const versions = this.#http.parse(LatestVersionsResponseSchema, body, what).model_versions ?? [];
    const chosen = latestOfAll
      ? newest(versions)
      : newest(
          versions.filter(
            (version) => (version.current_stage ?? '').toLowerCase() === ref.stage.toLowerCase(),
          ),
        );
    if (chosen === undefined) {
      throw new MlflowRegistryError(
        'not_found',
        latestOfAll
          ? `${ref.name} has no version in MLflow at ${this.#http.base}`
          : `no version of ${ref.name} is in stage ${'stage' in ref ? ref.stage : ''} in MLflow at ${this.#http.base}`,
        { status: 200 },
      );
    }
    return toModelVersion(chosen);
  }
}

/** A timeout (AbortSignal.timeout's reason), a socket error's code, or fetch's "fetch failed" with its cause (a test's transport). */
export const describeFetchError = (error: unknown): string => {
  if (error instanceof Error && error.name === 'TimeoutError') return 'timed out';
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause instanceof Error)
    return `${String(error)} (${(cause as NodeJS.ErrnoException).code ?? cause.message})`;
  return String(error);
};

/**
 * The local stand-in: one JSON file with the same model versions and tag schema.
 * `{ "registered_models": [ { "name", "aliases": { "champion": "2" },
 *    "versions": [ { "version": "2", "current_stage": "Production", "source"?, "tags": { "k": "v" } | [{key,value}] } ] } ] }`
 */
const FileVersionSchema = z.object({
  version: z.union([z.string(), z.number().int()]).transform(String),
  current_stage: z.string().default('None'),
  source: z.string().optional(),
  run_id: z.string().optional(),
  tags: z.union([z.record(z.string(), z.string()), z.array(TagSchema)]).default({}),
});
export const FileRegistrySchema = z.object({
  registered_models: z.array(
    z.object({
      name: z.string(),
      aliases: z.record(z.string(), z.union([z.string(), z.number().int()]).transform(String)).default({}),
      versions: z.array(FileVersionSchema),
    }),
  ),
});

export class FileModelRegistry implements ModelRegistry {
  readonly #uri: string;

  constructor(uri: string) {
    this.#uri = uri;
  }

  async #load() {
    const path = filePathOf(this.#uri) ?? this.#uri;
    const file = (await stat(path)).isDirectory() ? join(path, 'registry.json') : path;
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(file, 'utf8'));
    } catch (error) {
      throw new StrategyConfigError('mlflow', `cannot read the file registry ${file}: ${String(error)}`, {
        cause: error,
      });
    }
    const result = FileRegistrySchema.safeParse(raw);
    if (!result.success) {
      throw new StrategyConfigValidationError(
        `file registry ${file}`,
        result.error.issues.map((issue) => ({
          path: issue.path.map(String).join('.'),
          message: issue.message,
        })),
      );
    }
    return result.data;
  }

  async getModelVersion(ref: ModelVersionRef): Promise<ModelVersion> {
    const registry = await this.#load();
    const model = registry.registered_models.find((candidate) => candidate.name === ref.name);
    if (model === undefined) throw new MlflowRegistryError('not_found', `no registered model ${ref.name}`);
    let chosen: z.infer<typeof FileVersionSchema> | undefined;
    if ('alias' in ref) {
      const version = model.aliases[ref.alias];
      chosen = model.versions.find((candidate) => candidate.version === version);
    } else if ('version' in ref) {
      chosen = model.versions.find((candidate) => candidate.version === ref.version);
    } else if ('latest' in ref || isLatestKeyword(ref.stage)) {
      chosen = newest(model.versions);
    } else {
      chosen = newest(
        model.versions.filter(
          (candidate) => candidate.current_stage.toLowerCase() === ref.stage.toLowerCase(),
        ),
      );
    }
    if (chosen === undefined) {
      throw new MlflowRegistryError('not_found', `no model version ${describeRef(ref)} in ${this.#uri}`);
    }
    const tags = Array.isArray(chosen.tags)
      ? Object.fromEntries(chosen.tags.map((tag) => [tag.key, tag.value]))
      : chosen.tags;
    return {
      name: model.name,
      version: chosen.version,
      stage: chosen.current_stage,
      source: chosen.source ?? null,
      runId: chosen.run_id ?? null,
      tags,
    };
  }
}

export const createModelRegistry = (options: MlflowRestOptions): ModelRegistry =>
  options.trackingUri.startsWith('file://')
    ? new FileModelRegistry(options.trackingUri)
    : new MlflowRestRegistry(options);

/**
 * `models:/Name/Production`, `models:/Name/3`, `models:/Name/latest` or `models:/Name@alias` (MLflow's
 * model URIs) → a reference. `latest` is a keyword in any case, as in MLflow's own URI parser.
 */
export const parseModelUri = (uri: string): ModelVersionRef | undefined => {
  const match = /^models:\/([^/@]+)(?:@([^/]+)|\/([^/]+))$/.exec(uri.trim());
  if (match === null) return undefined;
  const [, name, alias, stageOrVersion] = match;
  if (name === undefined) return undefined;
  if (alias !== undefined) return { name, alias };
  if (stageOrVersion === undefined) return undefined;
  if (/^\d+$/.test(stageOrVersion)) return { name, version: stageOrVersion };
  return isLatestKeyword(stageOrVersion) ? { name, latest: true } : { name, stage: stageOrVersion };
};
