import { InvalidInputError } from '../domain/errors';
import { HttpError } from './errors';

/** What the caller is told; `expose: false` means the detail stays in the log. */
export interface HttpFailure {
  statusCode: number;
  code: string;
  message: string;
  details?: unknown;
  reason?: string;
  headers: Record<string, string>;
  expose: boolean;
}

const GENERIC_CODES: Readonly<Record<number, string>> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'unprocessable',
};

const INTERNAL: HttpFailure = {
  statusCode: 500,
  code: 'internal_error',
  message: 'Internal server error',
  headers: {},
  expose: false,
};

const hasStatus = (error: unknown): error is Error & { statusCode: number; expose?: boolean } =>
  error instanceof Error && typeof (error as { statusCode?: unknown }).statusCode === 'number';

/**
 * Maps anything thrown to one response. Only errors raised on purpose with a 4xx (or our 503) are shown;
 * every other error becomes a generic 500.
 */
export const toHttpFailure = (error: unknown): HttpFailure => {
  if (error instanceof HttpError) {
    if (!error.expose) return INTERNAL;
    return {
      statusCode: error.statusCode,
      code: error.code,
      message: error.message,
      ...(error.details === undefined ? {} : { details: error.details }),
      ...(error.reason === undefined ? {} : { reason: error.reason }),
      headers: error.headers,
      expose: true,
    };
  }
  // Input the caller sent that a store re-validated (e.g. a tampered pagination cursor).
  if (error instanceof InvalidInputError) {
    return {
      statusCode: 400,
      code: 'invalid_request',
      message: error.message,
      details: error.issues,
      headers: {},
      expose: true,
    };
  }
  // Powertools Idempotency errors, matched by name so read-only functions need not bundle the package.
  if (error instanceof Error && error.name === 'IdempotencyValidationError') {
    return {
      statusCode: 422,
      code: 'idempotency_key_reused',
      message: 'This Idempotency-Key was already used with a different request',
      headers: {},
      expose: true,
    };
  }
  if (error instanceof Error && error.name === 'IdempotencyAlreadyInProgressError') {
    return {
      statusCode: 409,
      code: 'request_in_progress',
      message: 'A request with this Idempotency-Key is still being processed; retry shortly',
      headers: { 'retry-after': '1' },
      expose: true,
    };
  }
  // Errors from middy middlewares (createError) carry a status and whether they may be shown.
  if (hasStatus(error) && error.statusCode >= 400 && error.statusCode < 500 && error.expose !== false) {
    return {
      statusCode: error.statusCode,
      code: GENERIC_CODES[error.statusCode] ?? 'client_error',
      message: error.message,
      headers: {},
      expose: true,
    };
  }
  return INTERNAL;
};

export const errorBody = (failure: HttpFailure) => ({
  error: {
    code: failure.code,
    ...(failure.reason === undefined ? {} : { reason: failure.reason }),
    message: failure.message,
    ...(failure.details === undefined ? {} : { details: failure.details }),
  },
});
