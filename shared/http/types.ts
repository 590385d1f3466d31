import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type * as z from 'zod';
import type { Principal } from './auth';
import type { Scope } from './constants';
import type { HttpApiEvent } from './event';
import type { IdempotentRunner } from './idempotency';

/** The API Gateway v2 event as parsed, with the body parsed and the caller known. */
export interface ParsedHttpEvent extends HttpApiEvent {
  /** The parsed JSON body; undefined when the request had none. */
  json: unknown;
  principal: Principal;
}

export interface ApiRequest<P = unknown, Q = unknown, B = unknown> {
  params: P;
  query: Q;
  body: B;
  principal: Principal;
  headers: Readonly<Record<string, string>>;
  /** API Gateway's request id: the correlation id in the logs and the audit trail. */
  requestId: string;
  /** `METHOD /path/{template}`, as in serverless.yml. */
  route: string;
  lambdaContext: Context;
}

/** What a route answers; plain JSON so an idempotent replay can hand back the stored one unchanged. */
export interface ApiResult {
  statusCode: number;
  body: unknown;
  headers?: Record<string, string>;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT';

export interface Route<
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
> {
  method: HttpMethod;
  /** The path template exactly as serverless.yml declares it, e.g. `/strategies/{strategyId}/start`. */
  path: string;
  /** Checked before any input is read; routes add finer checks (live mode) themselves. */
  scope: Scope;
  /** Strict schemas: unknown fields are refused. Absent params/query: none allowed; absent body: none allowed. */
  params?: P;
  query?: Q;
  body?: B;
  /** Honours an `Idempotency-Key` header with Powertools Idempotency. */
  idempotent?: boolean;
  handle(request: ApiRequest<z.output<P>, z.output<Q>, z.output<B>>): Promise<ApiResult>;
}

export interface HttpChainDeps {
  logger: Logger;
  metrics: Metrics;
  /** Required when a route is idempotent (createIdempotentRunner in ./idempotency). */
  idempotency?: IdempotentRunner;
}

export type HttpLambdaHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;
