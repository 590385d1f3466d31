import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import * as z from 'zod';
import { buildOpenApiDocument } from '../../functions/api/openapi';
import type { ConsoleSite } from './console-site';
import { type LocalIssuer, rejectionOf, type TokenRejection } from './jwt-issuer';

export interface HttpRoute {
  method: string;
  /** API Gateway route path, e.g. `/strategies/{strategyId}/start`. */
  path: string;
  /** Scopes the route's JWT authorizer requires (any one of them), as API Gateway checks them. */
  scopes: readonly string[];
  authorized: boolean;
  invoke(event: APIGatewayProxyEventV2WithJWTAuthorizer): Promise<unknown>;
}

/** API Gateway's own limit on a request body. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

const ResultSchema = z.object({
  statusCode: z.number().int().min(100).max(599),
  headers: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  body: z.string().optional(),
  isBase64Encoded: z.boolean().optional(),
  cookies: z.array(z.string()).optional(),
});

const segmentsOf = (path: string) => path.split('/').filter((segment) => segment !== '');

/** Matches a request path against a route path; literal segments win over parameters, as in API Gateway. */
const matchRoute = (routePath: string, requestPath: string): Record<string, string> | undefined => {
  const route = segmentsOf(routePath);
  const request = segmentsOf(requestPath);
  if (route.length !== request.length) return undefined;
  const parameters: Record<string, string> = {};
  for (const [index, segment] of route.entries()) {
    const actual = request[index] as string;
    const parameter = segment.match(/^\{(\w+)\}$/)?.[1];
    if (parameter !== undefined) parameters[parameter] = decodeURIComponent(actual);
    else if (segment !== actual) return undefined;
  }
  return parameters;
};

const specificity = (route: HttpRoute) =>
  segmentsOf(route.path).filter((segment) => !segment.startsWith('{')).length;

const send = (
  response: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
) => {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(body);
};

/**
 * API Gateway's own refusals are `{"message": ...}`; the functions answer `{"error": {code, message}}`.
 * Locally both are sent, so a client reads one shape whichever layer refused it. In AWS the gateway's 401,
 * 403 and 413 are API Gateway's own: `{"message":"Unauthorized"}`, with the reason only in its
 * `www-authenticate` header (`error_description`).
 */
const gatewayError = (message: string, code: string, detail: string, extra: Record<string, string> = {}) =>
  JSON.stringify({ message, error: { code, ...extra, message: detail } });

const REJECTION_TEXT: Readonly<Record<TokenRejection, string>> = {
  missing_token: 'A bearer token is required (Authorization: Bearer <token>)',
  malformed_token: 'The bearer token is not a JWT',
  bad_signature: 'The token was not signed by this issuer',
  bad_algorithm: 'The token is signed with an algorithm this issuer does not use',
  token_expired: 'The token has expired: get a new one (npm run token)',
  token_not_yet_valid: 'The token is not valid yet',
  wrong_audience: 'The token was issued for another audience',
  wrong_issuer: 'The token was issued by another issuer',
  invalid_token: 'The token is not valid',
};

const readBody = (request: IncomingMessage): Promise<Buffer | 'too_large'> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    request.on('end', () => resolve(size > MAX_BODY_BYTES ? 'too_large' : Buffer.concat(chunks)));
    request.on('error', reject);
  });

const stringClaims = (payload: Record<string, unknown>): Record<string, string> =>
  Object.fromEntries(
    Object.entries(payload).map(([key, value]) => [
      key,
      typeof value === 'string' ? value : JSON.stringify(value),
    ]),
  );

/**
 * API Gateway HTTP API (payload 2.0) in front of local functions: route matching, the JWT authorizer
 * (signature, issuer, audience, expiry, route scopes) answering 401/403 itself as API Gateway does, and
 * the 2.0 event shape.
 */
export const startHttpApi = async (options: {
  routes: readonly HttpRoute[];
  issuer: LocalIssuer;
  port: number;
  log: (line: string) => void;
  /** The operator console, asked only for requests no API route matches: the API's routes always win. */
  site?: ConsoleSite;
}): Promise<{ url: string; server: Server; close(): Promise<void> }> => {
  const routes = [...options.routes].sort((a, b) => specificity(b) - specificity(a));
  const server = createServer(async (request, response) => {
    try {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      const method = (request.method ?? 'GET').toUpperCase();
      // The API contract, generated from the handlers' schemas; public, as a reader needs it before a token.
      if (method === 'GET' && url.pathname === '/openapi.json') {
        return send(response, 200, JSON.stringify(buildOpenApiDocument()));
      }
      let matched: { route: HttpRoute; parameters: Record<string, string> } | undefined;
      for (const route of routes) {
        const parameters = route.method === method ? matchRoute(route.path, url.pathname) : undefined;
        if (parameters !== undefined) {
          matched = { route, parameters };
          break;
        }
      }
      if (matched === undefined) {
        const port = (server.address() as AddressInfo).port;
        if (options.site !== undefined && (await options.site(request, response, url, port))) return;
        return send(response, 404, JSON.stringify({ message: 'Not Found' }));
      }
      const { route, parameters } = matched;

      let claims: Record<string, unknown> = {};
      let scopes: string[] = [];
      if (route.authorized) {
        const token = request.headers.authorization?.match(/^Bearer\s+(.+)$/i)?.[1];
        // The reason is logged, never the token: a log line must not be a credential.
        const refuse = (reason: TokenRejection) => {
          options.log(`401 ${reason}: ${method} ${url.pathname}`);
          return send(
            response,
            401,
            gatewayError('Unauthorized', 'unauthorized', REJECTION_TEXT[reason], { reason }),
            { 'www-authenticate': `Bearer error="invalid_token", error_description="${reason}"` },
          );
        };
        if (token === undefined) return refuse('missing_token');
        try {
          claims = await options.issuer.verify(token);
        } catch (error) {
          return refuse(rejectionOf(error));
        }
        scopes = typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [];
        if (route.scopes.length > 0 && !route.scopes.some((scope) => scopes.includes(scope))) {
          return send(
            response,
            403,
            gatewayError(
              'Forbidden',
              'forbidden',
              `The token lacks any of the scopes ${route.scopes.join(', ')}`,
            ),
          );
        }
      }

      const body = await readBody(request);
      if (body === 'too_large')
        return send(
          response,
          413,
          gatewayError(
            'Request Entity Too Large',
            'payload_too_large',
            `The request body must be at most ${MAX_BODY_BYTES} bytes`,
          ),
        );
      const headers = Object.fromEntries(
        Object.entries(request.headers).map(([name, value]) => [
          name,
          Array.isArray(value) ? value.join(',') : (value ?? ''),
        ]),
      );
      const now = new Date();
      const requestId = randomUUID();
      const query = Object.fromEntries(
        [...new Set(url.searchParams.keys())].map((key) => [key, url.searchParams.getAll(key).join(',')]),
      );
      const event: APIGatewayProxyEventV2WithJWTAuthorizer = {
        version: '2.0',
        routeKey: `${route.method} ${route.path}`,
        rawPath: url.pathname,
        rawQueryString: url.search.replace(/^\?/, ''),
        headers,
        ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
        ...(Object.keys(parameters).length > 0 ? { pathParameters: parameters } : {}),
        requestContext: {
          accountId: '000000000000',
          apiId: 'local',
          authorizer: {
            principalId: '',
            integrationLatency: 0,
            jwt: { claims: stringClaims(claims), scopes },
          },
          domainName: headers.host ?? '127.0.0.1',
          domainPrefix: 'local',
          http: {
            method,
            path: url.pathname,
            protocol: `HTTP/${request.httpVersion}`,
            sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
            userAgent: headers['user-agent'] ?? '',
          },
          requestId,
          routeKey: `${route.method} ${route.path}`,
          stage: '$default',
          time: now.toUTCString(),
          timeEpoch: now.getTime(),
        },
        ...(body.length > 0 ? { body: body.toString('utf8') } : {}),
        isBase64Encoded: false,
      };

      let result: unknown;
      try {
        result = await route.invoke(event);
      } catch (error) {
        options.log(`${event.routeKey} failed: ${String(error)}`);
        return send(response, 500, JSON.stringify({ message: 'Internal Server Error' }));
      }
      const parsed = ResultSchema.safeParse(result);
      if (!parsed.success) {
        // API Gateway's 2.0 inference: a result without statusCode is a 200 JSON body.
        return send(response, 200, typeof result === 'string' ? result : JSON.stringify(result ?? null));
      }
      const resultHeaders = Object.fromEntries(
        Object.entries(parsed.data.headers ?? {}).map(([name, value]) => [name.toLowerCase(), String(value)]),
      );
      const payload = parsed.data.isBase64Encoded
        ? Buffer.from(parsed.data.body ?? '', 'base64')
        : Buffer.from(parsed.data.body ?? '');
      response.writeHead(parsed.data.statusCode, {
        ...resultHeaders,
        ...(parsed.data.cookies ? { 'set-cookie': parsed.data.cookies } : {}),
        'x-amzn-requestid': requestId,
      });
      response.end(payload);
    } catch (error) {
      options.log(`HTTP API fault: ${String(error)}`);
      if (!response.headersSent) send(response, 500, JSON.stringify({ message: 'Internal Server Error' }));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};
