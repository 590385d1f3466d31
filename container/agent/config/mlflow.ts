import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { filePathOf } from '../env';
import { StrategyConfigError, StrategyConfigValidationError } from '../errors';

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

const AliasResponseSchema = z.object({ model_version: MlflowModelVersionSchema });
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

/** Which version: by alias (MLflow ≥ 2.3), by stage, or an exact version. */
export type ModelVersionRef =
  | { name: string; alias: string }
  | { name: string; stage: string }
  | { name: string; version: string };

export interface ModelRegistry {
  getModelVersion(ref: ModelVersionRef): Promise<ModelVersion>;
}

const describeRef = (ref: ModelVersionRef): string =>
  'alias' in ref
    ? `${ref.name}@${ref.alias}`
    : 'stage' in ref
      ? `${ref.name} (stage ${ref.stage})`
      : `${ref.name} v${ref.version}`;

const toModelVersion = (raw: MlflowModelVersion): ModelVersion => ({
  name: raw.name,
  version: raw.version,
  stage: raw.current_stage ?? null,
  source: raw.source ?? null,
  runId: raw.run_id ?? null,
  tags: Object.fromEntries((raw.tags ?? []).map((tag) => [tag.key, tag.value])),
});

export interface MlflowRestOptions {
  trackingUri: string;
  fetch?: typeof fetch;
  token?: string;
  username?: string;
  password?: string;
  timeoutMs?: number;
}

/** The tracking server's REST API; MLFLOW_TRACKING_TOKEN or basic auth like MLflow's own clients. */
export class MlflowRestRegistry implements ModelRegistry {
  readonly #base: string;
  readonly #fetch: typeof fetch;
  readonly #headers: Record<string, string>;
  readonly #timeoutMs: number;

  constructor(options: MlflowRestOptions) {
    this.#base = options.trackingUri.replace(/\/+$/, '');
    this.#fetch = options.fetch ?? fetch;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#headers = { accept: 'application/json' };
    if (options.token !== undefined) this.#headers.authorization = `Bearer ${options.token}`;
    else if (options.username !== undefined && options.password !== undefined) {
      this.#headers.authorization = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`;
    }
  }

  async getModelVersion(ref: ModelVersionRef): Promise<ModelVersion> {
    if ('alias' in ref) {
      const query = new URLSearchParams({ name: ref.name, alias: ref.alias });
      const body = await this.#call('GET', `registered-models/alias?${query}`, undefined, ref);
      return toModelVersion(this.#parse(AliasResponseSchema, body, ref).model_version);
    }
    if ('version' in ref) {
      const query = new URLSearchParams({ name: ref.name, version: ref.version });
      const body = await this.#call('GET', `model-versions/get?${query}`, undefined, ref);
      return toModelVersion(this.#parse(AliasResponseSchema, body, ref).model_version);
    }
    const body = await this.#call(
      'POST',
      'registered-models/get-latest-versions',
      { name: ref.name, stages: [ref.stage] },
      ref,
    );
    const versions = this.#parse(LatestVersionsResponseSchema, body, ref).model_versions ?? [];
    const latest = versions
      .filter((version) => (version.current_stage ?? '').toLowerCase() === ref.stage.toLowerCase())
      .sort((a, b) => Number(b.version) - Number(a.version))[0];
    if (latest === undefined) {
      throw new StrategyConfigError('mlflow', `no version of ${ref.name} is in stage ${ref.stage}`);
    }
    return toModelVersion(latest);
  }

  async #call(method: 'GET' | 'POST', path: string, body: unknown, ref: ModelVersionRef): Promise<unknown> {
    const url = `${this.#base}/api/2.0/mlflow/${path}`;
    let response: Response;
    try {
      response = await this.#fetch(url, {
        method,
        headers:
          body === undefined ? this.#headers : { ...this.#headers, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      throw new StrategyConfigError('mlflow', `MLflow at ${this.#base} is unreachable: ${String(error)}`, {
        cause: error,
      });
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text === '' ? {} : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!response.ok) {
      const detail = MlflowErrorSchema.safeParse(json);
      const reason = detail.success
        ? `${detail.data.error_code ?? response.status}: ${detail.data.message ?? ''}`
        : `HTTP ${response.status}`;
      throw new StrategyConfigError('mlflow', `MLflow refused ${describeRef(ref)}: ${reason}`);
    }
    if (json === undefined)
      throw new StrategyConfigError('mlflow', `MLflow answered non-JSON for ${describeRef(ref)}`);
    return json;
  }

  #parse<S extends z.ZodType>(schema: S, body: unknown, ref: ModelVersionRef): z.output<S> {
    const result = schema.safeParse(body);
    if (!result.success) {
      throw new StrategyConfigValidationError(
        `MLflow answer for ${describeRef(ref)}`,
        result.error.issues.map((issue) => ({
          path: issue.path.map(String).join('.'),
          message: issue.message,
        })),
      );
    }
    return result.data;
  }
}

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
const FileRegistrySchema = z.object({
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
    if (model === undefined) throw new StrategyConfigError('mlflow', `no registered model ${ref.name}`);
    let chosen: z.infer<typeof FileVersionSchema> | undefined;
    if ('alias' in ref) {
      const version = model.aliases[ref.alias];
      chosen = model.versions.find((candidate) => candidate.version === version);
    } else if ('version' in ref) {
      chosen = model.versions.find((candidate) => candidate.version === ref.version);
    } else {
      chosen = model.versions
        .filter((candidate) => candidate.current_stage.toLowerCase() === ref.stage.toLowerCase())
        .sort((a, b) => Number(b.version) - Number(a.version))[0];
    }
    if (chosen === undefined) throw new StrategyConfigError('mlflow', `no model version ${describeRef(ref)}`);
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
 * `models:/Name/Production`, `models:/Name/3` or `models:/Name@alias` (MLflow's model URIs) → a reference.
 */
export const parseModelUri = (uri: string): ModelVersionRef | undefined => {
  const match = /^models:\/([^/@]+)(?:@([^/]+)|\/([^/]+))$/.exec(uri.trim());
  if (match === null) return undefined;
  const [, name, alias, stageOrVersion] = match;
  if (name === undefined) return undefined;
  if (alias !== undefined) return { name, alias };
  if (stageOrVersion === undefined) return undefined;
  return /^\d+$/.test(stageOrVersion) ? { name, version: stageOrVersion } : { name, stage: stageOrVersion };
};
