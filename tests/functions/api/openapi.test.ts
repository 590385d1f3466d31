import { Validator } from '@seriousme/openapi-schema-validator';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { createHandler as createControlHandler } from '../../../functions/api/control-strategy/handler';
import { API_ROUTES, buildOpenApiDocument } from '../../../functions/api/openapi';
import { createHandler as createReadHandler } from '../../../functions/api/read-strategies/handler';
import { createHandler as createStartHandler } from '../../../functions/api/start-strategy/handler';
import { startHttpApi } from '../../../local/cloud/http-api';
import { loadLocalIssuer } from '../../../local/cloud/jwt-issuer';
import { loadServerlessConfig } from '../../../local/serverless/config';
import {
  historyQuery,
  pauseResumeBody,
  startBody,
  stopBody,
  strategyIdParam,
} from '../../support/arbitraries';
import {
  ALL_SCOPES,
  type ApiTestEnv,
  errorOf,
  type Invoke,
  invoker,
  LIVE_GROUPS,
  startApiTest,
} from './support';

type JsonSchema = Record<string, unknown>;
interface Operation {
  security: { bearerJwt: string[] }[];
  parameters?: { in: string; name: string; required?: boolean; schema: JsonSchema }[];
  requestBody?: { content: { 'application/json': { schema: JsonSchema } } };
}

const document = buildOpenApiDocument() as unknown as {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
};
const operation = (method: string, path: string): Operation => {
  const found = document.paths[path]?.[method.toLowerCase()];
  if (found === undefined) throw new Error(`no ${method} ${path} in the document`);
  return found;
};
/** The document's own JSON Schema, back as a validator: what a client generated from it would accept. */
const documented = (schema: JsonSchema) => z.fromJSONSchema(schema as never);

describe('OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(structuredClone(document) as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(document.openapi).toBe('3.1.0');
  });

  it('has every httpApi route of serverless.yml, with the scopes its authorizer requires, and no other', async () => {
    // prepare
    const config = await loadServerlessConfig();
    const deployed: string[] = [];
    for (const fn of Object.values(config.functions ?? {})) {
      for (const event of (fn.events as
        | { httpApi?: { method: string; path: string; authorizer?: { scopes?: string[] } } }[]
        | undefined) ?? []) {
        if (event.httpApi === undefined) continue;
        deployed.push(
          `${event.httpApi.method} ${event.httpApi.path} ${(event.httpApi.authorizer?.scopes ?? []).join(',')}`,
        );
      }
    }

    // act
    const documentedRoutes = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(
        ([method, op]) =>
          `${method.toUpperCase()} ${path} ${op.security.flatMap((s) => s.bearerJwt).join(',')}`,
      ),
    );

    // assert
    expect(deployed.length).toBeGreaterThanOrEqual(10);
    expect(documentedRoutes.sort()).toEqual(deployed.sort());
  });

  describe('request schemas are the ones the handlers parse with', () => {
    let env: ApiTestEnv;
    const invokers: Record<string, Invoke> = {};
    beforeAll(async () => {
      env = await startApiTest();
      invokers.start = invoker(createStartHandler(env.deps));
      invokers.control = invoker(createControlHandler(env.deps));
      invokers.read = invoker(createReadHandler(env.deps));
    });
    afterAll(async () => {
      await env.close();
    });

    /** The 400 of shared/http/issues.ts parsePart: this part of the request failed the route's schema. */
    const refusedPart = (response: { statusCode: number; body: Record<string, unknown> }, part: string) =>
      response.statusCode === 400 && errorOf(response as never).message === `The request ${part} is invalid`;

    const bodyCases = [
      { route: '/strategies/{strategyId}/start', invoke: 'start', body: startBody },
      { route: '/strategies/{strategyId}/pause', invoke: 'control', body: pauseResumeBody },
      { route: '/strategies/{strategyId}/stop', invoke: 'control', body: stopBody },
    ] as const;

    for (const { route, invoke, body } of bodyCases) {
      it(`POST ${route}: a body the handler accepts is valid per the document; one the document refuses, the handler refuses`, async () => {
        const schema = documented(
          operation('POST', route).requestBody?.content['application/json'].schema ?? {},
        );
        let accepted = 0;
        let refused = 0;
        await fc.assert(
          fc.asyncProperty(body, async (candidate) => {
            const response = await invokers[invoke]?.({
              method: 'POST',
              route,
              params: { strategyId: `oa-${Math.random().toString(36).slice(2, 10)}` },
              // Always JSON text: a bare string would be sent as the raw body.
              body: JSON.stringify(candidate),
              scopes: ALL_SCOPES,
              groups: LIVE_GROUPS,
            });
            if (response === undefined) throw new Error('no invoker');
            // Any 400: the chain may refuse before the schema (nesting depth, JSON) or after it (bounds).
            const handlerRefusedBody = response.statusCode === 400;
            const documentValid = schema.safeParse(candidate).success;
            if (!handlerRefusedBody) {
              accepted += 1;
              expect(documentValid, JSON.stringify(candidate)).toBe(true);
            }
            if (!documentValid) {
              refused += 1;
              expect(handlerRefusedBody, `${response.statusCode} ${response.raw}`).toBe(true);
            }
          }),
          { numRuns: 80, seed: 20261201 },
        );
        // Both sides of the comparison were exercised.
        expect(accepted).toBeGreaterThan(0);
        expect(refused).toBeGreaterThan(0);
      });
    }

    it('the strategyId path parameter: the document and the handler agree on which ids are valid', async () => {
      const parameter = operation('GET', '/strategies/{strategyId}').parameters?.find(
        (p) => p.name === 'strategyId',
      );
      expect(parameter?.in).toBe('path');
      const schema = documented(parameter?.schema ?? {});
      await fc.assert(
        fc.asyncProperty(strategyIdParam, async (id) => {
          const response = await invokers.read?.({
            method: 'GET',
            route: '/strategies/{strategyId}',
            params: { strategyId: id },
            scopes: ALL_SCOPES,
          });
          if (response === undefined) throw new Error('no invoker');
          // The document cannot say `pnl` is reserved (a refine): it may only be more permissive.
          if (!refusedPart(response, 'path')) expect(schema.safeParse(id).success, id).toBe(true);
          if (!schema.safeParse(id).success) expect(refusedPart(response, 'path'), id).toBe(true);
        }),
        { numRuns: 80, seed: 20261202 },
      );
    });

    it('the pnl/history query: parameters the document refuses, the handler refuses', async () => {
      const parameters = operation('GET', '/strategies/{strategyId}/pnl/history').parameters ?? [];
      const byName = new Map(
        parameters.filter((p) => p.in === 'query').map((p) => [p.name, documented(p.schema)]),
      );
      expect([...byName.keys()].sort()).toEqual(['cursor', 'from', 'limit', 'run_id', 'to']);
      await fc.assert(
        fc.asyncProperty(historyQuery, async (query) => {
          const documentValid = Object.entries(query).every(
            ([key, value]) => byName.get(key)?.safeParse(value).success === true,
          );
          const response = await invokers.read?.({
            method: 'GET',
            route: '/strategies/{strategyId}/pnl/history',
            params: { strategyId: 'oa-history' },
            query,
            scopes: ALL_SCOPES,
          });
          if (response === undefined) throw new Error('no invoker');
          if (!documentValid) expect(refusedPart(response, 'query'), JSON.stringify(query)).toBe(true);
          if (!refusedPart(response, 'query')) expect(documentValid, JSON.stringify(query)).toBe(true);
        }),
        { numRuns: 80, seed: 20261203 },
      );
    });
  });

  it('is served by the local cloud at GET /openapi.json without a token', async () => {
    const api = await startHttpApi({
      issuer: await loadLocalIssuer(undefined),
      port: 0,
      log: () => undefined,
      routes: [],
    });
    try {
      const response = await fetch(`${api.url}/openapi.json`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await response.json()).toEqual(JSON.parse(JSON.stringify(document)));
    } finally {
      await api.close();
    }
  });

  it('lists each route once in the catalogue the document is built from', () => {
    const keys = API_ROUTES.map((route) => `${route.method} ${route.path}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
