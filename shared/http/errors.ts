import type { FieldIssue } from '../domain/errors';
import { TradaiError } from '../domain/errors';

/**
 * Base of every error the HTTP layer raises on purpose. Client errors (4xx) carry a message meant for the
 * caller; anything else is shown as a generic 500 and its detail goes to the log only.
 */
export class HttpError extends TradaiError {
  readonly statusCode: number;
  readonly code: string;
  readonly details: unknown;
  readonly headers: Record<string, string>;
  /** A machine-readable refinement of `code`, e.g. a 401's `missing_token`. */
  readonly reason: string | undefined;

  constructor(
    statusCode: number,
    code: string,
    message: string,
    options: {
      details?: unknown;
      headers?: Record<string, string>;
      cause?: unknown;
      reason?: string;
    } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'HttpError';
    this.statusCode = statusCode;
    this.code = code;
    this.details = options.details;
    this.headers = options.headers ?? {};
    this.reason = options.reason;
  }

  get expose(): boolean {
    return this.statusCode < 500 || this.statusCode === 503;
  }
}

export class BadRequestError extends HttpError {
  constructor(message: string, issues?: FieldIssue[], code = 'invalid_request') {
    super(400, code, message, issues === undefined ? {} : { details: issues });
    this.name = 'BadRequestError';
  }
}

/** Why a request is not authenticated; the token itself is never part of the answer or the log. */
export type UnauthorizedReason = 'missing_token' | 'no_subject';

export class UnauthorizedError extends HttpError {
  constructor(message = 'A valid bearer token is required', reason: UnauthorizedReason = 'missing_token') {
    super(401, 'unauthorized', message, {
      reason,
      headers: { 'www-authenticate': `Bearer error="invalid_token", error_description="${reason}"` },
    });
    this.name = 'UnauthorizedError';
  }
}

export class ForbiddenError extends HttpError {
  constructor(message: string, code = 'forbidden') {
    super(403, code, message);
    this.name = 'ForbiddenError';
  }
}

export class NotFoundError extends HttpError {
  constructor(message: string) {
    super(404, 'not_found', message);
    this.name = 'NotFoundError';
  }
}

export class ConflictError extends HttpError {
  constructor(code: string, message: string, details?: unknown) {
    super(409, code, message, details === undefined ? {} : { details });
    this.name = 'ConflictError';
  }
}

export class PayloadTooLargeError extends HttpError {
  constructor(limitBytes: number) {
    super(413, 'payload_too_large', `The request body must be at most ${limitBytes} bytes`);
    this.name = 'PayloadTooLargeError';
  }
}

export class UnsupportedMediaTypeError extends HttpError {
  constructor() {
    super(415, 'unsupported_media_type', 'The request body must be application/json');
    this.name = 'UnsupportedMediaTypeError';
  }
}

export class UnprocessableError extends HttpError {
  constructor(code: string, message: string) {
    super(422, code, message);
    this.name = 'UnprocessableError';
  }
}

/** A dependency failed and nothing was left half-done: the caller may retry. */
export class ServiceUnavailableError extends HttpError {
  constructor(code: string, message: string, options: { cause?: unknown; retryAfterS?: number } = {}) {
    super(503, code, message, {
      cause: options.cause,
      headers: { 'retry-after': String(options.retryAfterS ?? 5) },
    });
    this.name = 'ServiceUnavailableError';
  }
}
