import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localConsoleSite } from '../../../local/cloud/console-site';
import { startHttpApi } from '../../../local/cloud/http-api';
import { type LocalIssuer, loadLocalIssuer } from '../../../local/cloud/jwt-issuer';

/** node:http, not fetch: fetch forbids setting Host, which a DNS-rebinding page would send. */
const post = (url: string, body: string, headers: Record<string, string>) =>
  new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
    const target = new URL(url);
    const request = httpRequest(
      { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers },
      (response) => {
        let text = '';
        response.on('data', (chunk) => {
          text += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    request.on('error', reject);
    request.end(body);
  });

describe('Local cloud: the console site and its local login', () => {
  let issuer: LocalIssuer;
  let api: Awaited<ReturnType<typeof startHttpApi>>;
  let host: string;
  const login = (body: unknown, headers: Record<string, string> = {}) =>
    post(`${api.url}/local/token`, JSON.stringify(body), {
      host,
      'content-type': 'application/json',
      origin: api.url,
      ...headers,
    });

  beforeAll(async () => {
    issuer = await loadLocalIssuer(undefined);
    api = await startHttpApi({
      issuer,
      port: 0,
      log: () => undefined,
      site: await localConsoleSite(issuer),
      routes: [
        {
          method: 'GET',
          path: '/strategies',
          scopes: ['tradai/strategies:read'],
          authorized: true,
          invoke: async () => ({ statusCode: 200, body: '{"api":true}' }),
        },
      ],
    });
    host = new URL(api.url).host;
  }, 60_000);
  afterAll(async () => {
    await api.close();
  });

  it('serves the page, its bundle and a config saying to log in locally; API routes still answer as the API', async () => {
    // act
    const page = await fetch(`${api.url}/`);
    const bundle = await fetch(`${api.url}/app.js`);
    const config = await fetch(`${api.url}/config.json`);
    const strategies = await fetch(`${api.url}/strategies`);
    const unknown = await fetch(`${api.url}/no-such-file.js`);
    // assess
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('<script type="module" src="/app.js">');
    expect(bundle.headers.get('content-type')).toContain('text/javascript');
    expect(await config.json()).toEqual({ kind: 'local' });
    expect(strategies.status).toBe(401);
    expect(unknown.status).toBe(404);
  });

  it('mints a token for the chosen scopes and group, which the local authorizer accepts', async () => {
    // act
    const answer = await login({ subject: 'alice', scopes: ['strategies:read'], groups: ['tradai-live'] });
    const token = String(answer.body.token);
    const claims = await issuer.verify(token);
    const strategies = await fetch(`${api.url}/strategies`, {
      headers: { authorization: `Bearer ${token}` },
    });
    // assess
    expect(answer.status).toBe(200);
    expect(claims).toMatchObject({
      sub: 'alice',
      scope: 'tradai/strategies:read',
      'cognito:groups': ['tradai-live'],
    });
    expect(strategies.status).toBe(200);
  });

  it('refuses a login from another origin or another Host (a page elsewhere, DNS rebinding) with 403', async () => {
    // act
    const crossSite = await login(
      { subject: 'x', scopes: [], groups: [] },
      { origin: 'https://evil.example' },
    );
    const rebound = await login(
      { subject: 'x', scopes: [], groups: [] },
      { host: `evil.example:${new URL(api.url).port}` },
    );
    // assess
    expect(crossSite.status).toBe(403);
    expect(rebound.status).toBe(403);
    expect(crossSite.body.token).toBeUndefined();
  });

  it('refuses an unknown scope or group, and a form post, naming what is wrong', async () => {
    // act
    const scope = await login({ subject: 'x', scopes: ['strategies:admin'], groups: [] });
    const group = await login({ subject: 'x', scopes: [], groups: ['admins'] });
    const form = await login({ subject: 'x' }, { 'content-type': 'application/x-www-form-urlencoded' });
    // assess
    expect(scope.status).toBe(400);
    expect(JSON.stringify(scope.body)).toContain('scopes.0');
    expect(group.status).toBe(400);
    expect(JSON.stringify(group.body)).toContain('groups.0');
    expect(form.status).toBe(415);
  });
});
