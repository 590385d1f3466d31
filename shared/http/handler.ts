import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import * as z from 'zod';
import { requireScopes } from './auth';
import { JSON_HEADERS } from './constants';
import { BadRequestError, NotFoundError } from './errors';
import type { IdempotentRunner } from './idempotency';
import { idempotencyKeyOf } from './idempotency-key';
import { parsePart } from './issues';
import { apiGatewayV2Request, httpErrors } from './middleware';
import type {
  ApiRequest,
  ApiResult,
  HttpChainDeps,
  HttpLambdaHandler,
  ParsedHttpEvent,
  Route,
} from './types';

type Result = APIGatewayProxyStructuredResultV2;

const NOTHING = z.strictObject({});

const toResponse = (result: ApiResult): Result => ({
  statusCode: result.statusCode,
  headers: { ...JSON_HEADERS, ...result.headers },
  body: JSON.stringify(result.body),
});

/** Type-checks a route's handler against its own schemas, then erases them for a list of routes. */
export const defineRoute = <P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType>(
  route: Route<P, Q, B>,
): Route => route as unknown as Route;

/**
 * authorize (route scope) → validate path, query, body (strict) → run, through Powertools Idempotency when
 * the route is idempotent and the caller sent an Idempotency-Key.
 */
const runRoute = async (
  route: Route,
  event: ParsedHttpEvent,
  context: Context,
  idempotent: IdempotentRunner | undefined,
): Promise<ApiResult> => {
  requireScopes(event.principal, route.scope);
  const params = parsePart(route.params ?? NOTHING, event.pathParameters ?? {}, 'path');
  const query = parsePart(route.query ?? NOTHING, event.queryStringParameters ?? {}, 'query');
  let body: unknown;
  if (route.body !== undefined) {
    // No body at all reads as `{}`, so a missing required field is named like any other.
    body = parsePart(route.body, event.json === undefined ? {} : event.json, 'body');
  } else if (event.json !== undefined) {
    throw new BadRequestError('This route takes no request body', [
      { field: '(body)', message: 'must be empty' },
    ]);
  }
  const request: ApiRequest = {
    params,
    query,
    body,
    principal: event.principal,
    headers: event.headers,
    requestId: event.requestContext.requestId,
    route: `${route.method} ${route.path}`,
    lambdaContext: context,
  };
  if (idempotent === undefined) return route.handle(request);
  const key = idempotencyKeyOf(event.headers, event.principal.subject);
  return idempotent({ key, request: { route: request.route, params, query, body } }, context, () =>
    route.handle(request),
  );
};

const TEMPLATE_PARAM = /\{([A-Za-z0-9_]+)\}/g;

interface CompiledRoute {
  route: Route;
  key: string;
  method: string;
  pattern: RegExp;
  idempotent: IdempotentRunner | undefined;
}

const compile = (route: Route, deps: HttpChainDeps): CompiledRoute => {
  if (route.idempotent === true && deps.idempotency === undefined) {
    throw new Error(`route ${route.method} ${route.path} is idempotent but no idempotency runner was given`);
  }
  const source = route.path
    .split(TEMPLATE_PARAM)
    .map((part, index) => (index % 2 === 1 ? `(?<${part}>[^/]+)` : part.replace(/[.*+?^$()|[\]\\]/g, '\\$&')))
    .join('');
  return {
    route,
    key: `${route.method} ${route.path}`,
    method: route.method,
    pattern: new RegExp(`^${source}/?$`),
    idempotent: route.idempotent === true ? deps.idempotency : undefined,
  };
};

/**
 * Picks the route by the gateway's own `routeKey`: API Gateway has already chosen it (static before
 * templated, as `/strategies/pnl` before `/strategies/{strategyId}`), so no second routing table can
 * disagree with it. A `$default` route key falls back to matching method and path against the templates.
 */
const dispatch = (routes: readonly CompiledRoute[], event: ParsedHttpEvent): CompiledRoute => {
  const byKey = routes.find((candidate) => candidate.key === event.routeKey);
  if (byKey !== undefined) return byKey;
  const method = event.requestContext.http.method;
  const path = event.rawPath;
  const staticFirst = [...routes].sort(
    (a, b) => Number(a.route.path.includes('{')) - Number(b.route.path.includes('{')),
  );
  for (const candidate of staticFirst) {
    if (candidate.method !== method) continue;
    const match = candidate.pattern.exec(path);
    if (match === null) continue;
    const fromPath = Object.fromEntries(
      Object.entries(match.groups ?? {}).map(([name, value]) => [name, safeDecode(value)]),
    );
    event.pathParameters = { ...fromPath, ...event.pathParameters };
    return candidate;
  }
  throw new NotFoundError(`No route ${method} ${path}`);
};

const safeDecode = (value: string): string => {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
};

/**
 * The one middy chain every HTTP function uses: Powertools Logger (correlation id = API Gateway request id)
 * and Metrics (EMF, flushed on success and error), header normalization, the API Gateway v2 envelope and
 * body, error mapping; then the route.
 */
export const createHttpHandler = (routes: readonly Route[], deps: HttpChainDeps): HttpLambdaHandler => {
  const compiled = routes.map((route) => compile(route, deps));
  const chain = middy<ParsedHttpEvent, Result>()
    .use(injectLambdaContext(deps.logger, { resetKeys: true }))
    .use(logMetrics(deps.metrics, { captureColdStartMetric: true }))
    .use(httpErrors(deps.logger, deps.metrics))
    .use(httpHeaderNormalizer())
    .use(apiGatewayV2Request(deps.logger))
    .handler(async (event, context) => {
      const target = dispatch(compiled, event);
      return toResponse(await runRoute(target.route, event, context, target.idempotent));
    });
  // The chain turns the raw API Gateway event into a ParsedHttpEvent before the handler sees it.
  return chain as unknown as HttpLambdaHandler;
};
