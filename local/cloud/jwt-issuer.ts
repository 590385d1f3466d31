import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import {
  errors,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from 'jose';
import * as z from 'zod';

/** Stands in for the Cognito user pool: the same claims API Gateway's JWT authorizer reads. */
export const LOCAL_ISSUER = 'https://tradai.local/issuer';
export const LOCAL_AUDIENCE = 'tradai-control-plane';
const ALGORITHM = 'ES256';

const KeyFileSchema = z.object({
  privateJwk: z.record(z.string(), z.unknown()),
  publicJwk: z.record(z.string(), z.unknown()),
});

export interface LocalIssuer {
  /** `groups` become the `cognito:groups` claim, as a Cognito user's group memberships do. */
  issue(options: {
    subject: string;
    scopes: readonly string[];
    groups?: readonly string[];
    ttlS?: number;
  }): Promise<string>;
  /** Verifies as the authorizer does: signature, issuer, audience, expiry. Throws when any is wrong. */
  verify(token: string): Promise<JWTPayload>;
  /** The key pair, for a run that keeps nothing on disk to hand to `npm run token` (publishIssuer). */
  keys(): { privateJwk: JWK; publicJwk: JWK };
}

/** Why a token was refused: what a caller needs to fix it, never the token itself. */
export type TokenRejection =
  | 'missing_token'
  | 'malformed_token'
  | 'bad_signature'
  | 'bad_algorithm'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'wrong_audience'
  | 'wrong_issuer'
  | 'invalid_token';

/** Maps jose's verification errors to a reason code. */
export const rejectionOf = (error: unknown): TokenRejection => {
  if (error instanceof errors.JWTExpired) return 'token_expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') return 'wrong_audience';
    if (error.claim === 'iss') return 'wrong_issuer';
    if (error.claim === 'nbf') return 'token_not_yet_valid';
    return 'invalid_token';
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'bad_signature';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'bad_algorithm';
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return 'malformed_token';
  return 'invalid_token';
};

const readKeyFile = async (keyFile: string): Promise<{ privateJwk: JWK; publicJwk: JWK } | undefined> => {
  try {
    const saved = KeyFileSchema.parse(JSON.parse(await readFile(keyFile, 'utf8')));
    return { privateJwk: saved.privateJwk as JWK, publicJwk: saved.publicJwk as JWK };
  } catch {
    return undefined;
  }
};

const keyFileOf = (dataDir: string) => join(dataDir, 'keys', 'issuer.json');

/** Keys are made on first start and kept in the data folder, so printed tokens survive restarts. */
export const loadLocalIssuer = async (dataDir: string | undefined): Promise<LocalIssuer> => {
  const keyFile = dataDir === undefined ? undefined : keyFileOf(dataDir);
  const saved = keyFile === undefined ? undefined : await readKeyFile(keyFile);
  if (saved !== undefined) return issuerOf(saved.privateJwk, saved.publicJwk);
  const pair = await generateKeyPair(ALGORITHM, { extractable: true });
  const privateJwk = await exportJWK(pair.privateKey);
  const publicJwk = await exportJWK(pair.publicKey);
  if (keyFile !== undefined) {
    await mkdir(join(keyFile, '..'), { recursive: true });
    await writeFile(keyFile, JSON.stringify({ privateJwk, publicJwk }), { mode: 0o600 });
  }
  return issuerOf(privateJwk, publicJwk);
};

const issuerOf = async (privateJwk: JWK, publicJwk: JWK): Promise<LocalIssuer> => {
  const privateKey = await importJWK(privateJwk, ALGORITHM);
  const publicKey = await importJWK(publicJwk, ALGORITHM);
  return {
    issue: ({ subject, scopes, groups = [], ttlS = 12 * 3600 }) =>
      new SignJWT({
        scope: scopes.join(' '),
        token_use: 'access',
        client_id: LOCAL_AUDIENCE,
        ...(groups.length > 0 ? { 'cognito:groups': [...groups] } : {}),
      })
        .setProtectedHeader({ alg: ALGORITHM, kid: 'local' })
        .setIssuer(LOCAL_ISSUER)
        .setAudience(LOCAL_AUDIENCE)
        .setSubject(subject)
        .setIssuedAt()
        .setExpirationTime(`${ttlS}s`)
        .sign(privateKey),
    verify: async (token) =>
      (
        await jwtVerify(token, publicKey, {
          issuer: LOCAL_ISSUER,
          audience: LOCAL_AUDIENCE,
          algorithms: [ALGORITHM],
        })
      ).payload,
    keys: () => ({ privateJwk, publicJwk }),
  };
};

/**
 * Where a running local cloud says which key signs its tokens, one file per HTTP port: a persisted run
 * names its data folder, a `--memory` run (whose key exists only in that process) writes the key itself,
 * readable by this user only. TRADAI_RUN_DIR moves it (tests).
 */
export const runDirectory = (): string =>
  process.env.TRADAI_RUN_DIR ?? join(tmpdir(), `tradai-local-${userInfo().uid}`);

const runFileOf = (port: string) => join(runDirectory(), `issuer-${port}.json`);

const RunFileSchema = z.union([
  z.object({ dataDir: z.string().min(1) }),
  KeyFileSchema.transform((keys) => ({
    privateJwk: keys.privateJwk as JWK,
    publicJwk: keys.publicJwk as JWK,
  })),
]);

const portOf = (url: string): string => {
  const parsed = new URL(url);
  return parsed.port === '' ? (parsed.protocol === 'https:' ? '443' : '80') : parsed.port;
};

/** Called once the HTTP API listens; the returned function removes the file again (on a clean stop). */
export const publishIssuer = async (
  url: string,
  issuer: LocalIssuer,
  dataDir: string | undefined,
): Promise<() => Promise<void>> => {
  const file = runFileOf(portOf(url));
  await mkdir(runDirectory(), { recursive: true, mode: 0o700 });
  const content = dataDir === undefined ? issuer.keys() : { dataDir: resolve(dataDir) };
  await writeFile(file, JSON.stringify(content), { mode: 0o600 });
  return () => rm(file, { force: true });
};

export class NoIssuerKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoIssuerKeyError';
  }
}

/**
 * The issuer a client (`npm run token`, `npm run demo`) signs with: an explicit `--data` folder's key;
 * otherwise the one the cloud listening at `url` published (its data folder's, or a `--memory` run's own);
 * otherwise `.tradai`'s. Never makes a key: one nobody verifies would only print a token that gets a 401.
 */
export const clientIssuer = async (options: {
  data: string | undefined;
  url: string;
}): Promise<LocalIssuer> => {
  const fromFolder = async (dataDir: string, why: string) => {
    const keys = await readKeyFile(keyFileOf(dataDir));
    if (keys === undefined) throw new NoIssuerKeyError(`no issuer key in ${keyFileOf(dataDir)} (${why})`);
    return issuerOf(keys.privateJwk, keys.publicJwk);
  };
  if (options.data !== undefined) return fromFolder(options.data, 'from --data');
  const published = await readFile(runFileOf(portOf(options.url)), 'utf8').then(
    (text) => RunFileSchema.safeParse(JSON.parse(text)),
    () => undefined,
  );
  if (published?.success === true) {
    const run = published.data;
    return 'dataDir' in run
      ? fromFolder(run.dataDir, `the data folder of the cloud at ${options.url}`)
      : issuerOf(run.privateJwk, run.publicJwk);
  }
  return fromFolder(
    '.tradai',
    `no local cloud has published a key for ${options.url}: is npm start running there?`,
  );
};
