import { randomUUID } from 'node:crypto';
import type * as z from 'zod';
import { safeParseReply } from '../../shared/domain/reply-parsing';
import { ApiRefusalError, BadReplyError, UnreachableError } from './errors';
import { ErrorReplySchema } from './replies';

export interface ApiClientOptions {
  baseUrl: string;
  token: string;
  fetch?: typeof fetch;
  /** Per request; a request that outlives it counts as unreachable. */
  timeoutMs?: number;
  /** Attempts when the connection fails (never when the API answered). */
  attempts?: number;
  /** Added to a 403: what to do about this token (e.g. one tradai signed itself without the live scope). */
  forbiddenHint?: string;
}

/** `field.path: message` for the first few zod issues: the reply's field that is not what we expect. */
export const issuesOf = (error: z.ZodError, limit = 3): string =>
  error.issues
    .slice(0, limit)
    .map((issue) => `field ${issue.path.length === 0 ? '(body)' : issue.path.join('.')}: ${issue.message}`)
    .join('; ');

/**
 * The HTTP API as the CLI sees it: every reply parsed with a zod schema, every failure one typed error.
 * A command is sent with an Idempotency-Key and re-sent with the same key if the connection fails, so a
 * retried stop or start is answered with the first attempt's result instead of being applied twice.
 */
export class ApiClient {
  readonly baseUrl: string;
  readonly #token: string;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #attempts: number;
  readonly #forbiddenHint: string | undefined;

  constructor(options: ApiClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#token = options.token;
    this.#fetch = options.fetch ?? fetch;
    this.#timeoutMs = options.timeoutMs ?? 15_000;
    this.#attempts = options.attempts ?? 3;
    this.#forbiddenHint = options.forbiddenHint;
  }

  async get<S extends z.ZodType>(path: string, schema: S): Promise<z.output<S>> {
    return (await this.#request('GET', path, schema, undefined, {})).body as z.output<S>;
  }

  /**
   * A GET with If-None-Match: `unchanged` when the API answers 304 (no body was sent), else the new body
   * and its ETag, for a poll that costs almost nothing while nothing changed.
   */
  async getIfChanged<S extends z.ZodType>(
    path: string,
    schema: S,
    etag: string | undefined,
  ): Promise<{ unchanged: true } | { unchanged: false; body: z.output<S>; etag: string | undefined }> {
    const reply = await this.#request(
      'GET',
      path,
      schema,
      undefined,
      etag === undefined ? {} : { 'if-none-match': etag },
    );
    if (reply.status === 304) return { unchanged: true };
    return { unchanged: false, body: reply.body as z.output<S>, etag: reply.etag };
  }

  async post<S extends z.ZodType>(path: string, body: unknown, schema: S): Promise<z.output<S>> {
    return (await this.#request('POST', path, schema, body, {})).body as z.output<S>;
  }

  async #request<S extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    schema: S,
    body: unknown,
    extraHeaders: Record<string, string>,
  ): Promise<{ status: number; body: z.output<S> | undefined; etag: string | undefined }> {
    const what = `${method} ${path.split('?')[0]}`;
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.#token}`,
      accept: 'application/json',
      ...extraHeaders,
    };
    if (method === 'POST') {
      headers['content-type'] = 'application/json';
      headers['idempotency-key'] = `tradai-cli-${randomUUID()}`;
    }
    let response: Response | undefined;
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.#attempts && response === undefined; attempt += 1) {
      try {
        response = await this.#fetch(`${this.baseUrl}${path}`, {
          method,
          headers,
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(this.#timeoutMs),
        });
      } catch (error) {
        lastError = error;
        if (attempt < this.#attempts) await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
      }
    }
    if (response === undefined) throw new UnreachableError(this.baseUrl, lastError);

    const text = await response.text().catch((error: unknown) => {
      throw new UnreachableError(this.baseUrl, error);
    });
    let json: unknown;
    try {
      json = text === '' ? {} : JSON.parse(text);
    } catch {
      throw new BadReplyError(what, `${response.status}, not JSON (${JSON.stringify(text.slice(0, 80))})`);
    }
    const etag = response.headers.get('etag') ?? undefined;
    if (response.status === 304) return { status: 304, body: undefined, etag };
    if (!response.ok)
      throw refusalOf(what, response, json, response.status === 403 ? this.#forbiddenHint : undefined);
    const parsed = safeParseReply(schema, json);
    if (!parsed.success) throw new BadReplyError(what, issuesOf(parsed.error));
    return { status: response.status, body: parsed.data, etag };
  }
}

/** The functions answer `{error: {code, message, details}}`, API Gateway `{message}` (reason in a header). */
const refusalOf = (
  what: string,
  response: Response,
  json: unknown,
  hint: string | undefined,
): ApiRefusalError => {
  const parsed = ErrorReplySchema.safeParse(json);
  const challenge = /error_description="([^"]*)"/.exec(response.headers.get('www-authenticate') ?? '')?.[1];
  const code = (parsed.success ? parsed.data.error?.code : undefined) ?? `http_${response.status}`;
  const message =
    (parsed.success ? (parsed.data.error?.message ?? parsed.data.message) : undefined) ??
    challenge ??
    response.statusText;
  const details = parsed.success ? parsed.data.error?.details : undefined;
  return new ApiRefusalError(
    what,
    response.status,
    code,
    hint === undefined ? message : `${message} (${hint})`,
    details,
  );
};
