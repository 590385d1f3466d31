import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { importJWK, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpApi } from '../../../local/cloud/http-api';
import {
  LOCAL_AUDIENCE,
  LOCAL_ISSUER,
  type LocalIssuer,
  loadLocalIssuer,
} from '../../../local/cloud/jwt-issuer';

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

describe('Local cloud: the authorizer says why it refused a token, without logging the token', () => {
  let dataDir: string;
  let issuer: LocalIssuer;
  let api: Awaited<ReturnType<typeof startHttpApi>>;
  const logged: string[] = [];
  let keys: { privateJwk: JWK };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tradai-http-api-'));
    issuer = await loadLocalIssuer(dataDir);
    keys = JSON.parse(await readFile(join(dataDir, 'keys', 'issuer.json'), 'utf8')) as { privateJwk: JWK };
    api = await startHttpApi({
      issuer,
      port: 0,
      log: (line) => logged.push(line),
      routes: [
        {
          method: 'POST',
          path: '/strategies/{strategyId}/start',
          scopes: ['strategies:write'],
          authorized: true,
          invoke: async () => ({ statusCode: 202, body: '{}' }),
        },
      ],
    });
  });
  afterAll(async () => {
    await api.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** Signed with the issuer's own key, so only the named claim is wrong. */
  const signed = async (claims: { iss?: string; aud?: string; expS?: number; nbfS?: number }) =>
    new SignJWT({ scope: 'strategies:write', token_use: 'access' })
      .setProtectedHeader({ alg: 'ES256', kid: 'local' })
      .setIssuer(claims.iss ?? LOCAL_ISSUER)
      .setAudience(claims.aud ?? LOCAL_AUDIENCE)
      .setSubject('alice')
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + (claims.expS ?? 3600))
      .setNotBefore(Math.floor(Date.now() / 1000) + (claims.nbfS ?? 0))
      .sign(await importJWK(keys.privateJwk, 'ES256'));

  it.each([
    ['missing_token', async () => undefined],
    ['missing_token', async () => 'Basic YWxpY2U6c2VjcmV0'],
    ['malformed_token', async () => 'Bearer not.a.jwt'],
    [
      'bad_signature',
      async () =>
        `Bearer ${await (await loadLocalIssuer(undefined)).issue({ subject: 'mallory', scopes: ['strategies:write'] })}`,
    ],
    [
      'token_expired',
      async () => `Bearer ${await issuer.issue({ subject: 'a', scopes: ['strategies:write'], ttlS: -10 })}`,
    ],
    ['wrong_audience', async () => `Bearer ${await signed({ aud: 'another-app' })}`],
    ['wrong_issuer', async () => `Bearer ${await signed({ iss: 'https://evil.example/issuer' })}`],
    ['token_not_yet_valid', async () => `Bearer ${await signed({ nbfS: 3600 })}`],
  ])(
    'answers 401 with reason %s in the JSON error and the WWW-Authenticate header, and logs the reason but not the token (every 401 looked the same)',
    async (reason, header) => {
      // prepare
      const authorization = await header();
      logged.length = 0;

      // act
      const response = await fetch(`${api.url}/strategies/pascal/start`, {
        method: 'POST',
        headers: authorization === undefined ? {} : { authorization },
      });
      const body = (await response.json()) as { error?: { code: string; reason: string; message: string } };

      // assess
      expect(response.status).toBe(401);
      expect(body.error).toMatchObject({ code: 'unauthorized', reason });
      expect(response.headers.get('www-authenticate')).toContain(`error_description="${reason}"`);
      expect(logged.join('\n')).toContain(reason);
      const token = authorization?.split(' ')[1];
      if (token !== undefined) expect(logged.join('\n')).not.toContain(token);
    },
  );

  it('answers a body over API Gateway’s 10 MB limit with 413 in the same JSON error shape as the function’s 64 KB limit', async () => {
    // act
    const token = await issuer.issue({ subject: 'a', scopes: ['strategies:write'] });
    const response = await fetch(`${api.url}/strategies/pascal/start`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: `"${'x'.repeat(10 * 1024 * 1024 + 1)}"`,
    });

    // assess
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: { code: 'payload_too_large' } });
  });
});
