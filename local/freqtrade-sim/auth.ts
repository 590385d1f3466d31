/**
 * Freqtrade's API authentication (`api_auth.py`): HTTP Basic with `api_server.username/password`,
 * or a Bearer JWT (HS256, `jwt_secret_key`) from POST /token/login. Claims are
 * `{identity: {u}, exp, iat, type: "access" | "refresh"}`; a refresh token is only good for
 * /token/refresh, an access token only for the other routes.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../shared/domain/clock';
import { type AccessAndRefreshToken, type AccessToken, type JwtClaims, JwtClaimsSchema } from './schemas';

export interface AuthSettings {
  username: string;
  password: string;
  jwtSecret: string;
  accessTtlS: number;
  refreshTtlS: number;
}

/** A 401 as FastAPI sends it: `{"detail": ...}`, sometimes with a WWW-Authenticate challenge. */
export interface AuthRefusal {
  ok: false;
  detail: string;
  challenge?: 'Basic' | 'Bearer';
}
export type AuthOutcome<T> = { ok: true; value: T } | AuthRefusal;

type TokenType = JwtClaims['type'];

const base64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

const JWT_HEADER = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

export const signJwt = (claims: JwtClaims, secret: string): string => {
  const body = `${JWT_HEADER}.${base64url(JSON.stringify(claims))}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
};

/** Constant-time string comparison that does not leak the length through an early return. */
export const safeEqual = (given: string, expected: string): boolean => {
  // Comparing digests gives equal-length buffers whatever the inputs' lengths.
  const a = createHmac('sha256', 'compare').update(given).digest();
  const b = createHmac('sha256', 'compare').update(expected).digest();
  return timingSafeEqual(a, b) && given === expected;
};

/** The claims of a valid, unexpired HS256 token, or null. Only HS256 is accepted (no `alg: none`). */
export const verifyJwt = (token: string, secret: string, nowS: number): JwtClaims | null => {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const [header = '', payload = '', signature = ''] = parts;
  const expected = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  if (!safeEqual(signature, expected)) return null;
  let headerJson: unknown;
  let claimsJson: unknown;
  try {
    headerJson = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
    claimsJson = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (
    typeof headerJson !== 'object' ||
    headerJson === null ||
    !('alg' in headerJson) ||
    headerJson.alg !== 'HS256'
  ) {
    return null;
  }
  const claims = JwtClaimsSchema.safeParse(claimsJson);
  // PyJWT rejects a token once `exp <= now`.
  if (!claims.success || claims.data.exp <= nowS) return null;
  return claims.data;
};

type Credentials =
  | { scheme: 'basic'; username: string; password: string }
  | { scheme: 'bearer'; token: string };

/** Reads the Authorization header as FastAPI's HTTPBasic and OAuth2PasswordBearer do. */
const credentialsOf = (header: string | undefined): Credentials | 'malformed' | null => {
  if (!header) return null;
  const [scheme = '', value = ''] = header.trim().split(/\s+/, 2);
  if (scheme.toLowerCase() === 'bearer') return value ? { scheme: 'bearer', token: value } : null;
  if (scheme.toLowerCase() !== 'basic') return null;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (!value || colon < 0) return 'malformed';
  return { scheme: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
};

export class ApiAuth {
  #settings: AuthSettings;
  readonly #clock: Clock;

  constructor(settings: AuthSettings, clock: Clock) {
    this.#settings = settings;
    this.#clock = clock;
  }

  /** /reload_config re-reads credentials, as Freqtrade's ApiServer picks up the new config. */
  update(settings: AuthSettings): void {
    this.#settings = settings;
  }

  #verifyPassword(username: string, password: string): boolean {
    // Both comparisons always run, so timing does not tell which one failed.
    const userOk = safeEqual(username, this.#settings.username);
    const passwordOk = safeEqual(password, this.#settings.password);
    return userOk && passwordOk;
  }

  #issue(username: string, type: TokenType): string {
    const nowS = Math.floor(this.#clock.now() / 1000);
    const ttl = type === 'access' ? this.#settings.accessTtlS : this.#settings.refreshTtlS;
    return signJwt({ identity: { u: username }, exp: nowS + ttl, iat: nowS, type }, this.#settings.jwtSecret);
  }

  #userFromToken(token: string, type: TokenType): AuthOutcome<string> {
    const claims = verifyJwt(token, this.#settings.jwtSecret, this.#clock.now() / 1000);
    if (claims === null || claims.type !== type) {
      return { ok: false, detail: 'Could not validate credentials', challenge: 'Bearer' };
    }
    return { ok: true, value: claims.identity.u };
  }

  /** Guard of every protected route: a Bearer access token, else valid Basic credentials. */
  authenticate(header: string | undefined): AuthOutcome<string> {
    const credentials = credentialsOf(header);
    if (credentials === 'malformed') {
      return { ok: false, detail: 'Invalid authentication credentials', challenge: 'Basic' };
    }
    if (credentials?.scheme === 'bearer') return this.#userFromToken(credentials.token, 'access');
    if (credentials?.scheme === 'basic' && this.#verifyPassword(credentials.username, credentials.password)) {
      return { ok: true, value: credentials.username };
    }
    return { ok: false, detail: 'Unauthorized' };
  }

  /** POST /token/login: Basic credentials for an access and a refresh token. */
  login(header: string | undefined): AuthOutcome<AccessAndRefreshToken> {
    const credentials = credentialsOf(header);
    if (credentials === null || credentials === 'malformed' || credentials.scheme !== 'basic') {
      return {
        ok: false,
        detail: credentials === 'malformed' ? 'Invalid authentication credentials' : 'Not authenticated',
        challenge: 'Basic',
      };
    }
    if (!this.#verifyPassword(credentials.username, credentials.password)) {
      return { ok: false, detail: 'Incorrect username or password' };
    }
    return {
      ok: true,
      value: {
        access_token: this.#issue(credentials.username, 'access'),
        refresh_token: this.#issue(credentials.username, 'refresh'),
      },
    };
  }

  /** POST /token/refresh: a Bearer refresh token for a new access token. */
  refresh(header: string | undefined): AuthOutcome<AccessToken> {
    const credentials = credentialsOf(header);
    if (credentials === null || credentials === 'malformed' || credentials.scheme !== 'bearer') {
      return { ok: false, detail: 'Could not validate credentials', challenge: 'Bearer' };
    }
    const user = this.#userFromToken(credentials.token, 'refresh');
    if (!user.ok) return user;
    return { ok: true, value: { access_token: this.#issue(user.value, 'access') } };
  }
}
