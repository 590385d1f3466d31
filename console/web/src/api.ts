/**
 * The API on the page's own origin (the local cloud serves both; in AWS CloudFront routes the API paths to
 * API Gateway), with the bearer token. Failures become an ApiError carrying the API's own words.
 */
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
  get<T>(path: string): Promise<T>;
  /** `idempotencyKey`: one per command the operator confirmed, so a retry of it is applied once. */
  post<T>(path: string, body: unknown, idempotencyKey: string): Promise<T>;
  /** A conditional GET: `undefined` when the resource has not changed since the ETag given. */
  getIfChanged<T>(
    path: string,
    etag: string | undefined,
  ): Promise<{ body: T; etag: string | undefined } | undefined>;
}

export const createApi = (
  token: () => string | undefined,
  onUnauthorized: (message: string) => void,
): Api => {
  const request = async (
    method: string,
    path: string,
    options: { body?: unknown; etag?: string; idempotencyKey?: string } = {},
  ) => {
    const bearer = token();
    let response: Response;
    try {
      response = await fetch(path, {
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
  const parse = <T>(text: string): T => (text === '' ? ({} as T) : (JSON.parse(text) as T));
  return {
    get: async (path) => parse((await request('GET', path)).text),
    post: async (path, body, idempotencyKey) =>
      parse((await request('POST', path, { body, idempotencyKey })).text),
    getIfChanged: async (path, etag) => {
      const { response, text } = await request('GET', path, etag === undefined ? {} : { etag });
      if (response.status === 304) return undefined;
      return { body: parse(text), etag: response.headers.get('etag') ?? undefined };
    },
  };
};
