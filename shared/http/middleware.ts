import { Buffer } from 'node:buffer';
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { TradaiError } from '../domain/errors';
import { principalOf } from './auth';
import { JSON_HEADERS, MAX_BODY_BYTES } from './constants';
import { BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from './errors';
import { errorBody, toHttpFailure } from './errors-map';
import { HttpApiEventSchema } from './event';
import { checkJsonBounds, MAX_JSON_DEPTH } from './json-bounds';
import type { ParsedHttpEvent } from './types';

type Result = APIGatewayProxyStructuredResultV2;

/** The gateway sent something that is not a payload 2.0 event: a wiring fault, never the caller's. */
export class MalformedEventError extends TradaiError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MalformedEventError';
  }
}

const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/**
 * Parses the payload 2.0 envelope (./event), establishes the caller (401 before anything
 * else is read), then the body: at most 64 KB (413), JSON only (415), well-formed (400), numbers and depth
 * DynamoDB can store (400).
 */
export const apiGatewayV2Request = (logger: Logger): MiddlewareObj<ParsedHttpEvent, Result> => ({
  name: 'apiGatewayV2Request',
  before: (request) => {
    const parsed = HttpApiEventSchema.safeParse(request.event);
    if (!parsed.success) {
      throw new MalformedEventError(`not an API Gateway v2 event: ${parsed.error.message}`, {
        cause: parsed.error,
      });
    }
    const event = parsed.data;
    logger.setCorrelationId(event.requestContext.requestId);
    const principal = principalOf(event.requestContext.authorizer ?? undefined);
    let json: unknown;
    const raw = event.body;
    if (raw !== undefined && raw.length > 0) {
      // Cheap bound first, so an oversized body is never decoded.
      if (raw.length > MAX_BODY_BYTES * 2) throw new PayloadTooLargeError(MAX_BODY_BYTES);
      const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
      if (bytes.byteLength > MAX_BODY_BYTES) throw new PayloadTooLargeError(MAX_BODY_BYTES);
      if (!JSON_MEDIA_TYPE.test(event.headers['content-type'] ?? '')) throw new UnsupportedMediaTypeError();
      try {
        json = JSON.parse(bytes.toString('utf8'));
      } catch {
        throw new BadRequestError('The request body is not valid JSON', undefined, 'invalid_json');
      }
      // Before any schema: a number or a depth DynamoDB cannot store would otherwise fail the write as a 500.
      const bounds = checkJsonBounds(json);
      if (!bounds.ok && bounds.reason === 'too_deep') {
        throw new BadRequestError(
          'The request body is invalid',
          [{ field: bounds.field || '(body)', message: `must nest at most ${MAX_JSON_DEPTH} levels deep` }],
          'too_deep',
        );
      }
      if (!bounds.ok) throw new BadRequestError('The request body is invalid', bounds.issues);
    }
    request.event = { ...event, json, principal };
  },
});

const statusClassMetric = (statusCode: number): string => `Http${Math.floor(statusCode / 100)}xx`;

/**
 * Turns every error into `{"error": {code, message, details?}}`. Client errors are logged at info; faults at
 * error with their stack, which never leaves the function.
 */
export const httpErrors = (logger: Logger, metrics: Metrics): MiddlewareObj<ParsedHttpEvent, Result> => ({
  name: 'httpErrors',
  after: (request) => {
    metrics.addMetric(statusClassMetric(request.response?.statusCode ?? 200), MetricUnit.Count, 1);
  },
  onError: (request) => {
    if (request.response !== undefined && request.response !== null) return;
    const failure = toHttpFailure(request.error);
    if (failure.statusCode >= 500) {
      logger.error('request failed', { error: request.error as Error, status: failure.statusCode });
    } else {
      logger.info('request refused', {
        status: failure.statusCode,
        code: failure.code,
        ...(failure.reason === undefined ? {} : { reason_code: failure.reason }),
        reason: failure.message,
      });
    }
    metrics.addMetric(statusClassMetric(failure.statusCode), MetricUnit.Count, 1);
    request.response = {
      statusCode: failure.statusCode,
      headers: { ...JSON_HEADERS, ...failure.headers },
      body: JSON.stringify(errorBody(failure)),
    };
  },
});
