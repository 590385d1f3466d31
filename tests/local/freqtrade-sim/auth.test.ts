import { describe, expect, it } from 'vitest';
import {
  AccessAndRefreshTokenSchema,
  AccessTokenSchema,
  HttpErrorSchema,
  JwtClaimsSchema,
  PingSchema,
  signJwt,
} from '../../../local/freqtrade-sim/index';
import { ManualClock } from '../../../shared/domain/clock';
import { basicAuth, get, post, startSim, USERNAME } from './helpers';

const bearer = (token: string): string => `Bearer ${token}`;

const claimsOf = (token: string) =>
  JwtClaimsSchema.parse(JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')));

describe('FreqtradeSim: authentication', () => {
  it('answers /ping without credentials', async () => {
    // Prepare
    const sim = await startSim();

    // Act
    const response = await get(sim.url, '/api/v1/ping', null);

    // Assess
    expect(response.status).toBe(200);
    expect(PingSchema.parse(response.body)).toEqual({ status: 'pong' });
  });

  it('refuses protected routes without credentials or with wrong ones', async () => {
    const sim = await startSim();

    const anonymous = await get(sim.url, '/api/v1/show_config', null);
    const wrongPassword = await get(sim.url, '/api/v1/show_config', basicAuth(USERNAME, 'wrong'));
    const wrongUser = await get(sim.url, '/api/v1/status', basicAuth('someone', 'correct-horse-battery'));
    const simRoute = await get(sim.url, '/sim/state', null);

    for (const response of [anonymous, wrongPassword, wrongUser, simRoute]) {
      expect(response.status).toBe(401);
      expect(HttpErrorSchema.parse(response.body)).toEqual({ detail: 'Unauthorized' });
    }
  });

  it('accepts HTTP Basic credentials on protected routes', async () => {
    const sim = await startSim();

    const response = await get(sim.url, '/api/v1/version');

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ version: sim.config.sim.version });
  });

  it('logs in with Basic credentials and serves requests with the access token', async () => {
    const sim = await startSim();

    const login = await post(sim.url, '/api/v1/token/login');
    const tokens = AccessAndRefreshTokenSchema.parse(login.body);
    const withToken = await get(sim.url, '/api/v1/show_config', bearer(tokens.access_token));

    expect(login.status).toBe(200);
    expect(claimsOf(tokens.access_token)).toMatchObject({ identity: { u: USERNAME }, type: 'access' });
    expect(claimsOf(tokens.refresh_token)).toMatchObject({ identity: { u: USERNAME }, type: 'refresh' });
    expect(withToken.status).toBe(200);
  });

  it('refuses a login with wrong or missing credentials', async () => {
    const sim = await startSim();

    const wrong = await post(sim.url, '/api/v1/token/login', undefined, basicAuth(USERNAME, 'nope'));
    const missing = await post(sim.url, '/api/v1/token/login', undefined, null);

    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ detail: 'Incorrect username or password' });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Basic');
  });

  it('refreshes an access token with the refresh token, and with nothing else', async () => {
    const sim = await startSim();
    const tokens = AccessAndRefreshTokenSchema.parse((await post(sim.url, '/api/v1/token/login')).body);

    const refreshed = await post(sim.url, '/api/v1/token/refresh', undefined, bearer(tokens.refresh_token));
    const withAccess = await post(sim.url, '/api/v1/token/refresh', undefined, bearer(tokens.access_token));
    const refreshAsAccess = await get(sim.url, '/api/v1/status', bearer(tokens.refresh_token));

    expect(refreshed.status).toBe(200);
    const access = AccessTokenSchema.parse(refreshed.body).access_token;
    expect((await get(sim.url, '/api/v1/status', bearer(access))).status).toBe(200);
    expect(withAccess.status).toBe(401);
    expect(refreshAsAccess.status).toBe(401);
    expect(refreshAsAccess.body).toEqual({ detail: 'Could not validate credentials' });
    expect(refreshAsAccess.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('refuses an expired access token but still refreshes it', async () => {
    // Prepare: a 60 s access token on a clock the test moves.
    const clock = new ManualClock();
    const sim = await startSim({ sim: { access_token_ttl_s: 60 } }, { clock });
    const tokens = AccessAndRefreshTokenSchema.parse((await post(sim.url, '/api/v1/token/login')).body);
    expect((await get(sim.url, '/api/v1/count', bearer(tokens.access_token))).status).not.toBe(401);

    // Act
    clock.advance(60_000);
    const expired = await get(sim.url, '/api/v1/show_config', bearer(tokens.access_token));
    const refreshed = await post(sim.url, '/api/v1/token/refresh', undefined, bearer(tokens.refresh_token));

    // Assess
    expect(expired.status).toBe(401);
    expect(expired.body).toEqual({ detail: 'Could not validate credentials' });
    expect(refreshed.status).toBe(200);
    const fresh = AccessTokenSchema.parse(refreshed.body).access_token;
    expect((await get(sim.url, '/api/v1/show_config', bearer(fresh))).status).toBe(200);
  });

  it('expires access tokens after 15 minutes by default, like Freqtrade', async () => {
    const clock = new ManualClock();
    const sim = await startSim({}, { clock });

    const tokens = AccessAndRefreshTokenSchema.parse((await post(sim.url, '/api/v1/token/login')).body);

    const claims = claimsOf(tokens.access_token);
    expect(claims.exp - claims.iat).toBe(15 * 60);
    expect(claimsOf(tokens.refresh_token).exp - claims.iat).toBe(30 * 24 * 3600);
  });

  it('refuses a token signed with another secret and one with alg none', async () => {
    const sim = await startSim();
    const nowS = Math.floor(Date.now() / 1000);
    const claims = { identity: { u: USERNAME }, exp: nowS + 600, iat: nowS, type: 'access' as const };
    const forged = signJwt(claims, 'not-the-secret');
    const unsigned = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;

    const forgedResponse = await get(sim.url, '/api/v1/status', bearer(forged));
    const unsignedResponse = await get(sim.url, '/api/v1/status', bearer(unsigned));
    const genuine = await get(sim.url, '/api/v1/status', bearer(signJwt(claims, 'test-jwt-secret')));

    expect(forgedResponse.status).toBe(401);
    expect(unsignedResponse.status).toBe(401);
    expect(genuine.status).toBe(200);
  });
});
