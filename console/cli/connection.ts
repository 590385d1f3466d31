import { userInfo } from 'node:os';
import type { EndpointRecord } from '../../local/cloud/endpoint';
import { clientIssuer, NoIssuerKeyError } from '../../local/cloud/jwt-issuer';
import { CliError, UsageError } from './errors';
import { EXIT } from './exit-codes';

/** Said with a 403 to a token tradai minted itself (read + write): how to get one that may trade live. */
export const LIVE_TOKEN_HINT =
  'the token tradai signed itself may read and write but not trade live; for a live start or resume: export TRADAI_TOKEN=$(tradai token --scopes "strategies:read strategies:write strategies:live" --groups live)';

/** `npm start`'s default: where a local cloud is when nothing says otherwise. */
export const DEFAULT_LOCAL_URL = 'http://127.0.0.1:4000';

export interface ApiTarget {
  url: string;
  /** Said in errors, so an operator sees which API was asked and why that one. */
  source: 'flag' | 'env' | 'local cloud' | 'default';
}

const checkedUrl = (value: string, name: string): string => {
  if (!/^https?:\/\/[^\s/]+/.test(value) || !URL.canParse(value))
    throw new UsageError(`${name} must be an http(s) URL, not ${JSON.stringify(value)}`);
  return value.replace(/\/+$/, '');
};

/**
 * --api-url, else TRADAI_API_URL, else the local cloud that is running (npm start's endpoint record; with
 * several, the one on port 4000), else http://127.0.0.1:4000.
 */
export const resolveApiTarget = (
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  running: readonly EndpointRecord[],
): ApiTarget => {
  if (flag !== undefined) return { url: checkedUrl(flag, '--api-url'), source: 'flag' };
  const fromEnv = env.TRADAI_API_URL;
  if (fromEnv !== undefined && fromEnv !== '')
    return { url: checkedUrl(fromEnv, 'TRADAI_API_URL'), source: 'env' };
  const [only, ...others] = running;
  if (only !== undefined && others.length === 0) return { url: only.url, source: 'local cloud' };
  if (only !== undefined) {
    const onDefault = running.find((record) => record.url === DEFAULT_LOCAL_URL);
    if (onDefault !== undefined) return { url: onDefault.url, source: 'local cloud' };
    throw new UsageError(
      `several local clouds are running (${running.map((record) => record.url).join(', ')}): pick one with --api-url or TRADAI_API_URL`,
    );
  }
  return { url: DEFAULT_LOCAL_URL, source: 'default' };
};

const isLoopback = (url: string): boolean => {
  const host = new URL(url).hostname;
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
};

/** The subject a locally minted token carries: the audit trail says who, so the login name, not "cli". */
export const localSubject = (): string => {
  try {
    return userInfo().username || 'local-operator';
  } catch {
    return 'local-operator';
  }
};

/**
 * --token, else TRADAI_TOKEN, else (only for a local cloud, whose signing key is on this machine) a read +
 * write token minted with the key that cloud published: what `npm run token` prints.
 */
export const resolveToken = async (
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  target: ApiTarget,
): Promise<{ token: string; minted: boolean }> => {
  if (flag !== undefined && flag !== '') return { token: flag, minted: false };
  const fromEnv = env.TRADAI_TOKEN;
  if (fromEnv !== undefined && fromEnv !== '') return { token: fromEnv, minted: false };
  if (!isLoopback(target.url))
    throw new CliError(`no token for ${target.url}: pass --token or set TRADAI_TOKEN`, EXIT.auth);
  try {
    const issuer = await clientIssuer({ data: undefined, url: target.url });
    const token = await issuer.issue({
      subject: localSubject(),
      scopes: ['tradai/strategies:read', 'tradai/strategies:write'],
      ttlS: 3600,
    });
    return { token, minted: true };
  } catch (error) {
    if (!(error instanceof NoIssuerKeyError)) throw error;
    throw new CliError(
      `no token for ${target.url}: pass --token or set TRADAI_TOKEN (and no local key to mint one: ${error.message})`,
      EXIT.auth,
    );
  }
};
