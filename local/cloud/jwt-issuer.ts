import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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

/** Keys are made on first start and kept in the data folder, so printed tokens survive restarts. */
export const loadLocalIssuer = async (dataDir: string | undefined): Promise<LocalIssuer> => {
  let privateJwk: JWK | undefined;
  let publicJwk: JWK | undefined;
  const keyFile = dataDir === undefined ? undefined : join(dataDir, 'keys', 'issuer.json');
  if (keyFile !== undefined) {
    try {
      const saved = KeyFileSchema.parse(JSON.parse(await readFile(keyFile, 'utf8')));
      privateJwk = saved.privateJwk as JWK;
      publicJwk = saved.publicJwk as JWK;
    } catch {
      // No usable key yet: a new one is made below.
    }
  }
  if (privateJwk === undefined || publicJwk === undefined) {
    const pair = await generateKeyPair(ALGORITHM, { extractable: true });
    privateJwk = await exportJWK(pair.privateKey);
    publicJwk = await exportJWK(pair.publicKey);
    if (keyFile !== undefined) {
      await mkdir(join(keyFile, '..'), { recursive: true });
      await writeFile(keyFile, JSON.stringify({ privateJwk, publicJwk }), { mode: 0o600 });
    }
  }
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
  };
};
