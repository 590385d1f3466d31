/**
 * Who the operator is, as far as the page can tell: the token's claims decoded (never verified here: the
 * gateway verifies every request) and the very rules the API applies (principalOf, requireAuthority), so a
 * control the token may not use is shown disabled with the words the server would answer. The server still
 * decides.
 */

import * as z from 'zod';
import { requireAuthority } from '../../../functions/api/shared/authority';
import type { AuditAction } from '../../../shared/domain/audit';
import type { TradingMode } from '../../../shared/domain/session';
import { type Principal, principalOf } from '../../../shared/http/auth';
import { SCOPES } from '../../../shared/http/constants';
import { failureText, parseReply } from './api';

/**
 * What /config.json says about logging in: the local issuer (npm start) or the Cognito hosted UI
 * (scripts/console-build.ts writes it). The domain becomes part of the login URL: a host name, nothing more.
 */
export const LoginConfigSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('local') }),
  z.strictObject({
    kind: z.literal('cognito'),
    domain: z
      .string()
      .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/, 'must be a host name'),
    clientId: z.string().min(1).max(128),
    scopes: z.array(z.string().min(1)),
    redirectUri: z.url({ protocol: /^https?$/ }).optional(),
  }),
]);
export type LoginConfig = z.output<typeof LoginConfigSchema>;

/** /config.json, parsed: a config that does not match is refused naming the field, before any login. */
export const loadLoginConfig = async (
  send: (path: string, init: RequestInit) => Promise<Response> = (path, init) => fetch(path, init),
): Promise<LoginConfig> => {
  const response = await send('/config.json', { cache: 'no-store' });
  if (!response.ok) throw new Error(`/config.json answered HTTP ${response.status}`);
  return parseReply(LoginConfigSchema, await response.text(), 'GET /config.json', response.status);
};

export interface Session {
  token: string;
  principal: Principal;
  /** Seconds since the epoch; the page logs out when it passes. */
  expiresAt: number;
}

const TOKEN_KEY = 'tradai.console.token';
const VERIFIER_KEY = 'tradai.console.pkce';

const base64UrlDecode = (text: string): string => {
  const padded = text
    .replace(/-/g, '+')
    .replace(/_/g, '/')
    .padEnd(Math.ceil(text.length / 4) * 4, '=');
  const bytes = Uint8Array.from(atob(padded), (char) => char.charCodeAt(0));
  return new TextDecoder().decode(bytes);
};

/** The session a token stands for, or why it cannot be used. */
export const sessionOf = (token: string, nowS: number): Session | { refused: string } => {
  const payload = token.split('.')[1];
  if (payload === undefined) return { refused: 'The token is not a JWT' };
  let claims: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(base64UrlDecode(payload));
    if (typeof parsed !== 'object' || parsed === null) return { refused: 'The token is not a JWT' };
    claims = parsed as Record<string, unknown>;
  } catch {
    return { refused: 'The token is not a JWT' };
  }
  const expiresAt = typeof claims.exp === 'number' ? claims.exp : 0;
  if (expiresAt <= nowS) return { refused: 'The token has expired: log in again' };
  try {
    return { token, principal: principalOf({ jwt: { claims } }), expiresAt };
  } catch (error) {
    return { refused: error instanceof Error ? error.message : String(error) };
  }
};

export type Permission = { allowed: true } | { allowed: false; reason: string };

/** Whether the token may run a command on a session of a mode, with the API's own refusal text. */
export const permissionFor = (principal: Principal, action: AuditAction, mode: TradingMode): Permission => {
  try {
    requireAuthority(principal, action, mode);
    return { allowed: true };
  } catch (error) {
    return { allowed: false, reason: error instanceof Error ? error.message : String(error) };
  }
};

export const canRead = (principal: Principal): Permission =>
  principal.scopes.has(SCOPES.read)
    ? { allowed: true }
    : { allowed: false, reason: `The token lacks the scope ${SCOPES.read}` };

export const storedSession = (nowS: number): Session | undefined => {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token === null) return undefined;
  const session = sessionOf(token, nowS);
  if ('refused' in session) {
    sessionStorage.removeItem(TOKEN_KEY);
    return undefined;
  }
  return session;
};

export const keepToken = (token: string) => sessionStorage.setItem(TOKEN_KEY, token);
export const forgetToken = () => sessionStorage.removeItem(TOKEN_KEY);

/** Local only (npm start): the local cloud mints a token for the scopes and groups chosen on the page. */
/** 200 of the local cloud's `POST /local/token` (local/cloud/console-site.ts). */
export const LocalTokenReplySchema = z.strictObject({ token: z.string().min(1) });

export const localLogin = async (
  options: { subject: string; scopes: string[]; groups: string[] },
  send: (path: string, init: RequestInit) => Promise<Response> = (path, init) => fetch(path, init),
): Promise<string> => {
  const response = await send('/local/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(options),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(failureText(response.status, text).message);
  return parseReply(LocalTokenReplySchema, text, 'POST /local/token', response.status).token;
};

const randomText = (bytes: number) =>
  btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(bytes))))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

const challengeOf = async (verifier: string) =>
  btoa(
    String.fromCharCode(
      ...new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))),
    ),
  )
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

const redirectUriOf = (config: Extract<LoginConfig, { kind: 'cognito' }>) =>
  config.redirectUri ?? `${location.origin}/`;

/** The Cognito hosted UI, authorization code flow with PKCE (a public client: no secret in the page). */
export const cognitoLogin = async (config: Extract<LoginConfig, { kind: 'cognito' }>) => {
  const verifier = randomText(48);
  const state = randomText(16);
  sessionStorage.setItem(VERIFIER_KEY, JSON.stringify({ verifier, state }));
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: config.clientId,
    redirect_uri: redirectUriOf(config),
    scope: config.scopes.join(' '),
    state,
    code_challenge_method: 'S256',
    code_challenge: await challengeOf(verifier),
  });
  location.assign(`https://${config.domain}/oauth2/authorize?${query}`);
};

/** What cognitoLogin kept for the page's return from the hosted UI. */
const PkceSchema = z.object({ verifier: z.string().min(1), state: z.string().min(1) });

/** The token endpoint's answers (RFC 6749 §5.1, §5.2): only the fields the page reads are checked. */
const CognitoTokenReplySchema = z.looseObject({ access_token: z.string().min(1) });
const CognitoRefusalSchema = z.looseObject({ error: z.string() });

const jsonOrUndefined = (text: string | null): unknown => {
  if (text === null) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/** Back from the hosted UI with `?code=&state=`: the code is exchanged for tokens; the access token is kept. */
export const completeCognitoLogin = async (
  config: Extract<LoginConfig, { kind: 'cognito' }>,
): Promise<string | undefined> => {
  const params = new URLSearchParams(location.search);
  const code = params.get('code');
  if (code === null) return undefined;
  const saved = PkceSchema.safeParse(jsonOrUndefined(sessionStorage.getItem(VERIFIER_KEY)));
  sessionStorage.removeItem(VERIFIER_KEY);
  history.replaceState(null, '', location.pathname + location.hash);
  if (!saved.success || saved.data.state !== params.get('state')) {
    throw new Error('The login answer does not match the login this page started: log in again');
  }
  const response = await fetch(`https://${config.domain}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: config.clientId,
      code,
      redirect_uri: redirectUriOf(config),
      code_verifier: saved.data.verifier,
    }),
  });
  const text = await response.text();
  if (!response.ok) {
    const refusal = CognitoRefusalSchema.safeParse(jsonOrUndefined(text));
    throw new Error(
      `Cognito refused the login (${refusal.success ? refusal.data.error : `HTTP ${response.status}`})`,
    );
  }
  return parseReply(CognitoTokenReplySchema, text, 'the Cognito token endpoint', response.status)
    .access_token;
};

export const cognitoLogoutUrl = (config: Extract<LoginConfig, { kind: 'cognito' }>) =>
  `https://${config.domain}/logout?${new URLSearchParams({
    client_id: config.clientId,
    logout_uri: redirectUriOf(config),
  })}`;
