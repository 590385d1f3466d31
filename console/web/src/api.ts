/**
 * The API on the page's own origin (the local cloud serves both; in AWS CloudFront routes the API paths to
 * API Gateway), with the bearer token. Failures become an ApiError carrying the API's own words. Every
 * reply is parsed with the zod schema the API itself answers with (never cast): one that does not match is
 * refused with the field named, so the page says so instead of rendering garbage or throwing mid-render.
 */
import type * as z from 'zod';
import { issuesOf } from '../../../shared/domain/errors';
import { safeParseReply } from '../../../shared/domain/reply-parsing';

export class ApiError extends Error {
  readonly status: number;
  readonly code: string | undefined;
  constructor(message: string, status: number, code?: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/** How many of a refused reply's fields are named: enough to act on, short enough to read in a banner. */
const NAMED_FIELDS = 3;

/** `field strategies.3.status: …` for the first few fields that do not match, `(body)` for the reply itself. */
export const refusedFieldsText = (error: z.ZodError): string => {
  const issues = issuesOf(error);
  const named = issues
    .slice(0, NAMED_FIELDS)
    .map((issue) => `field ${issue.field === '' ? '(body)' : issue.field}: ${issue.message}`);
  if (issues.length > NAMED_FIELDS) named.push(`and ${issues.length - NAMED_FIELDS} more`);
  return named.join('; ');
};

/** A reply that is not what the API's schema says it sends: refused, with the fields named. */
export class ReplyRefusedError extends ApiError {
  constructor(what: string, status: number, detail: string) {
    super(`The reply to ${what} was refused: ${detail}`, status, 'reply_refused');
    this.name = 'ReplyRefusedError';
  }
}

/** The reply's body as its schema reads it, or a ReplyRefusedError naming what did not match. */
export const parseReply = <S extends z.ZodType>(
  schema: S,
  text: string,
  what: string,
  status = 200,
): z.output<S> => {
  let value: unknown;
  try {
    value = text === '' ? undefined : JSON.parse(text);
  } catch {
    throw new ReplyRefusedError(what, status, 'it is not JSON');
  }
  const parsed = safeParseReply(schema, value);
  if (!parsed.success) throw new ReplyRefusedError(what, status, refusedFieldsText(parsed.error));
  return parsed.data;
};

interface ErrorBody {
  message?: unknown;
  error?: { code?: unknown; message?: unknown; details?: unknown };
}

/** A 400's per-field details, read as `field: message`, so a refused form says which field and why. */
const detailsText = (details: unknown): string => {
  if (!Array.isArray(details)) return '';
  const lines = details
    .map((detail) => {
      const { field, message } = (detail ?? {}) as { field?: unknown; message?: unknown };
      return typeof message === 'string'
        ? typeof field === 'string'
          ? `${field}: ${message}`
          : message
        : '';
    })
    .filter(Boolean);
  return lines.length === 0 ? '' : ` (${lines.join('; ')})`;
};

/** The sentence to show for a failed answer: the function's `error.message`, else the gateway's `message`. */
export const failureText = (status: number, text: string): { message: string; code?: string } => {
  let body: ErrorBody = {};
  try {
    body = JSON.parse(text) as ErrorBody;
  } catch {
    // Not JSON (a proxy's HTML page): the status says enough.
  }
  const code = typeof body.error?.code === 'string' ? body.error.code : undefined;
  if (typeof body.error?.message === 'string') {
    return { message: `${body.error.message}${detailsText(body.error.details)}`, ...(code ? { code } : {}) };
  }
  if (typeof body.message === 'string') return { message: body.message };
  return { message: `The API answered HTTP ${status}` };
};

export interface Api {
  get<S extends z.ZodType>(path: string, schema: S): Promise<z.output<S>>;
  /** `idempotencyKey`: one per command the operator confirmed, so a retry of it is applied once. */
  post<S extends z.ZodType>(
    path: string,
    body: unknown,
    idempotencyKey: string,
    schema: S,
  ): Promise<z.output<S>>;
  /** A conditional GET: `undefined` when the resource has not changed since the ETag given. */
  getIfChanged<S extends z.ZodType>(
    path: string,
    schema: S,
    etag: string | undefined,
  ): Promise<{ body: z.output<S>; etag: string | undefined } | undefined>;
}

export const createApi = (
  token: () => string | undefined,
  onUnauthorized: (message: string) => void,
  // The browser's fetch unless a test sends the page's relative paths to a server of its own.
  send: (path: string, init: RequestInit) => Promise<Response> = (path, init) => fetch(path, init),
): Api => {
  const request = async (
    method: string,
    path: string,
    options: { body?: unknown; etag?: string; idempotencyKey?: string } = {},
  ) => {
    const bearer = token();
    let response: Response;
    try {
      response = await send(path, {
        method,
        headers: {
          ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` }),
          ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(options.etag === undefined ? {} : { 'if-none-match': options.etag }),
          ...(options.idempotencyKey === undefined ? {} : { 'idempotency-key': options.idempotencyKey }),
        },
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      });
    } catch {
      throw new ApiError('The control plane cannot be reached: is it running?', 0);
    }
    if (response.status === 304) return { response, text: '' };
    const text = await response.text();
    if (!response.ok) {
      const failure = failureText(response.status, text);
      if (response.status === 401) onUnauthorized(failure.message);
      throw new ApiError(failure.message, response.status, failure.code);
    }
    return { response, text };
  };
  return {
    get: async (path, schema) => {
      const { response, text } = await request('GET', path);
      return parseReply(schema, text, `GET ${path}`, response.status);
    },
    post: async (path, body, idempotencyKey, schema) => {
      const { response, text } = await request('POST', path, { body, idempotencyKey });
      return parseReply(schema, text, `POST ${path}`, response.status);
    },
    getIfChanged: async (path, schema, etag) => {
      const { response, text } = await request('GET', path, etag === undefined ? {} : { etag });
      if (response.status === 304) return undefined;
      return {
        body: parseReply(schema, text, `GET ${path}`, response.status),
        etag: response.headers.get('etag') ?? undefined,
      };
    },
  };
};
