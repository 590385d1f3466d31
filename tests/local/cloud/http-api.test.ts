import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpApi } from '../../../local/cloud/http-api';
import { type LocalIssuer, loadLocalIssuer } from '../../../local/cloud/jwt-issuer';

describe('Local cloud: HTTP API with the JWT authorizer', () => {
  let issuer: LocalIssuer;
  let api: Awaited<ReturnType<typeof startHttpApi>>;
  const seen: APIGatewayProxyEventV2WithJWTAuthorizer[] = [];

  beforeAll(async () => {
    issuer = await loadLocalIssuer(undefined);
    api = await startHttpApi({
      issuer,
      port: 0,
      log: () => undefined,
      routes: [
        {
          method: 'POST',
          path: '/strategies/{strategyId}/start',
          scopes: ['strategies:write'],
          authorized: true,
          invoke: async (event) => {
            seen.push(event);
            return { statusCode: 202, headers: { 'Content-Type': 'application/json' }, body: '{"ok":true}' };
          },
        },
        {
          method: 'GET',
          path: '/strategies/pnl',
          scopes: ['strategies:read'],
          authorized: true,
          invoke: async () => ({ literal: true }),
        },
        {
          method: 'GET',
          path: '/strategies/{strategyId}',
          scopes: ['strategies:read'],
          authorized: true,
          invoke: async () => ({ statusCode: 200, body: '{"param":true}' }),
        },
      ],
    });
  });
  afterAll(async () => {
    await api.close();
  });

  const call = (method: string, path: string, token?: string, body?: string) =>
    fetch(`${api.url}${path}`, {
      method,
      headers: token ? { authorization: `Bearer ${token}`, 'content-type': 'application/json' } : {},
      ...(body ? { body } : {}),
    });

  it('answers 401 without a token and with a token from another issuer', async () => {
    const foreign = await (await loadLocalIssuer(undefined)).issue({
      subject: 'mallory',
      scopes: ['strategies:write'],
    });

    expect((await call('POST', '/strategies/pascal-btc/start')).status).toBe(401);
    expect((await call('POST', '/strategies/pascal-btc/start', foreign)).status).toBe(401);
    expect((await call('POST', '/strategies/pascal-btc/start', 'not.a.jwt')).status).toBe(401);
  });

  it('answers 401 for an expired token and 403 for a token without the route scope', async () => {
    const expired = await issuer.issue({ subject: 'alice', scopes: ['strategies:write'], ttlS: -10 });
    const readOnly = await issuer.issue({ subject: 'alice', scopes: ['strategies:read'] });

    expect((await call('POST', '/strategies/pascal-btc/start', expired)).status).toBe(401);
    expect((await call('POST', '/strategies/pascal-btc/start', readOnly)).status).toBe(403);
  });

  it('invokes the function with a payload 2.0 event carrying path parameters, body and claims', async () => {
    const token = await issuer.issue({ subject: 'alice', scopes: ['strategies:read', 'strategies:write'] });

    const response = await call('POST', '/strategies/pascal-btc/start?x=1', token, '{"mode":"dry-run"}');

    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ ok: true });
    const event = seen.at(-1);
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'POST /strategies/{strategyId}/start',
      rawPath: '/strategies/pascal-btc/start',
      rawQueryString: 'x=1',
      pathParameters: { strategyId: 'pascal-btc' },
      queryStringParameters: { x: '1' },
      body: '{"mode":"dry-run"}',
      requestContext: {
        authorizer: { jwt: { claims: { sub: 'alice' }, scopes: ['strategies:read', 'strategies:write'] } },
      },
    });
  });

  it('prefers a literal route over a parameter and infers a 200 JSON body for plain results', async () => {
    const token = await issuer.issue({ subject: 'alice', scopes: ['strategies:read'] });

    expect(await (await call('GET', '/strategies/pnl', token)).json()).toEqual({ literal: true });
    expect(await (await call('GET', '/strategies/other', token)).json()).toEqual({ param: true });
    expect((await call('GET', '/nowhere', token)).status).toBe(404);
  });
});
