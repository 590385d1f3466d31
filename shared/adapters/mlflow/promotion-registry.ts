import * as z from 'zod';
import {
  describeTarget,
  type ModelPromotionRegistry,
  ModelRegistryError,
  type PromotionTarget,
  type RegistryFailure,
  type RegistryModelVersion,
} from '../../domain/model-promotion';
import type { TokenSource } from '../secretsmanager/secret-token';

/**
 * MLflow Model Registry REST API 2.0 (mlflow/protos/model_registry.proto), as MLflow 3.17 answers:
 * - `GET  /api/2.0/mlflow/model-versions/get?name=&version=` → `{ model_version }`;
 * - `POST /api/2.0/mlflow/model-versions/transition-stage {name, version, stage, archive_existing_versions}`
 *   → `{ model_version }` (stages are deprecated in MLflow 3 but still served);
 * - `POST /api/2.0/mlflow/registered-models/alias {name, alias, version}` → `{}` (moves the alias if it
 *   pointed elsewhere).
 * Errors are `{ error_code, message }`.
 */
const TagSchema = z.object({ key: z.string(), value: z.string() });
const WireVersionSchema = z.object({
  name: z.string().min(1),
  version: z.string().min(1),
  current_stage: z.string().optional(),
  aliases: z.array(z.string()).optional(),
  tags: z.array(TagSchema).optional(),
});
const VersionReplySchema = z.object({ model_version: WireVersionSchema });
const ErrorReplySchema = z.object({ error_code: z.string(), message: z.string().optional() });

const toVersion = (wire: z.infer<typeof WireVersionSchema>): RegistryModelVersion => ({
  name: wire.name,
  version: wire.version,
  stage: wire.current_stage ?? null,
  aliases: wire.aliases ?? [],
  tags: Object.fromEntries((wire.tags ?? []).map((tag) => [tag.key, tag.value])),
});

export interface MlflowPromotionOptions {
  trackingUri: string;
  /**
   * A bearer token, or where to get it (a cached secret read): sent as `Authorization: Bearer`. A token
   * from a source that MLflow refuses (401/403) is read again and the call retried once (a rotation).
   */
  token?: string | TokenSource;
  username?: string;
  password?: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

const reasonOf = (status: number, errorCode: string | null): RegistryFailure => {
  if (status === 401 || status === 403) return 'unauthorized';
  if (status >= 500 || status === 429) return 'unavailable';
  if (errorCode === 'RESOURCE_DOES_NOT_EXIST' || status === 404) return 'not_found';
  return 'refused';
};

export class MlflowPromotionRegistry implements ModelPromotionRegistry {
  readonly #base: string;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #headers: Record<string, string>;
  readonly #token: TokenSource | undefined;

  constructor(options: MlflowPromotionOptions) {
    this.#base = options.trackingUri.replace(/\/+$/, '');
    this.#fetch = options.fetch ?? fetch;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#headers = { accept: 'application/json' };
    const token = options.token;
    if (typeof token === 'object') this.#token = token;
    else if (token !== undefined) this.#headers.authorization = `Bearer ${token}`;
    else if (options.username !== undefined && options.password !== undefined) {
      this.#headers.authorization = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`;
    }
  }

  async getVersion(name: string, version: string): Promise<RegistryModelVersion | undefined> {
    const what = `${name} v${version}`;
    try {
      const body = await this.#call(
        'GET',
        `model-versions/get?${new URLSearchParams({ name, version })}`,
        undefined,
        what,
      );
      return toVersion(this.#parse(VersionReplySchema, body, what).model_version);
    } catch (error) {
      if (error instanceof ModelRegistryError && error.reason === 'not_found') return undefined;
      throw error;
    }
  }

  async promote(name: string, version: string, target: PromotionTarget): Promise<RegistryModelVersion> {
    const what = `${describeTarget(target)} for ${name} v${version}`;
    if (target.kind === 'stage') {
      const body = await this.#call(
        'POST',
        'model-versions/transition-stage',
        { name, version, stage: target.stage, archive_existing_versions: true },
        what,
      );
      return toVersion(this.#parse(VersionReplySchema, body, what).model_version);
    }
    await this.#call('POST', 'registered-models/alias', { name, alias: target.alias, version }, what);
    const after = await this.getVersion(name, version);
    if (after === undefined) {
      throw new ModelRegistryError(
        'not_found',
        `${name} v${version} is gone after setting ${describeTarget(target)}`,
      );
    }
    return after;
  }

  #parse<S extends z.ZodType>(schema: S, body: unknown, what: string): z.output<S> {
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ModelRegistryError(
        'bad_reply',
        `MLflow's answer for ${what} is not the registry's shape (${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'})`,
      );
    }
    return parsed.data;
  }

  async #headersFor(what: string, fresh: boolean): Promise<Record<string, string>> {
    if (this.#token === undefined) return this.#headers;
    try {
      const token = await (fresh ? this.#token.refresh() : this.#token.current());
      return { ...this.#headers, authorization: `Bearer ${token}` };
    } catch (error) {
      const why = error instanceof Error ? error.message : 'unknown error';
      throw new ModelRegistryError('unavailable', `MLflow's token for ${what} is not at hand: ${why}`, {
        cause: error,
      });
    }
  }

  async #call(method: 'GET' | 'POST', route: string, body: unknown, what: string): Promise<unknown> {
    try {
      return await this.#callOnce(method, route, body, what, false);
    } catch (error) {
      if (
        this.#token === undefined ||
        !(error instanceof ModelRegistryError) ||
        error.reason !== 'unauthorized'
      )
        throw error;
      return this.#callOnce(method, route, body, what, true);
    }
  }

  async #callOnce(
    method: 'GET' | 'POST',
    route: string,
    body: unknown,
    what: string,
    freshToken: boolean,
  ): Promise<unknown> {
    const headers = await this.#headersFor(what, freshToken);
    let response: Response;
    let text: string;
    try {
      response = await this.#fetch(`${this.#base}/api/2.0/mlflow/${route}`, {
        method,
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      const why = error instanceof Error && error.name === 'TimeoutError' ? 'timed out' : String(error);
      throw new ModelRegistryError(
        'unavailable',
        `MLflow at ${this.#base} is unreachable for ${what}: ${why}`,
        {
          cause: error,
        },
      );
    }
    let json: unknown;
    try {
      json = text === '' ? {} : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!response.ok) {
      const refusal = ErrorReplySchema.safeParse(json);
      const errorCode = refusal.success ? refusal.data.error_code : null;
      const detail = refusal.success
        ? `${refusal.data.error_code}: ${refusal.data.message ?? ''}`
        : `HTTP ${response.status} ${text.replace(/\s+/g, ' ').trim().slice(0, 120)}`;
      throw new ModelRegistryError(reasonOf(response.status, errorCode), `MLflow refused ${what}: ${detail}`);
    }
    if (json === undefined) {
      throw new ModelRegistryError('bad_reply', `MLflow at ${this.#base} answered non-JSON for ${what}`);
    }
    return json;
  }
}
