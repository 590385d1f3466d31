import { SCOPE_RESOURCE_SERVER, SCOPES, type Scope } from './constants';
import { ForbiddenError, UnauthorizedError } from './errors';

/** Who is calling, as the gateway's JWT authorizer established it. */
export interface Principal {
  /** The token's `sub`: the actor recorded in the audit log. */
  subject: string;
  scopes: ReadonlySet<Scope>;
}

export interface JwtAuthorizerContext {
  jwt?: { claims: Record<string, unknown>; scopes?: string[] | null };
}

const KNOWN_SCOPES = new Set<string>(Object.values(SCOPES));
const PREFIX = `${SCOPE_RESOURCE_SERVER}/`;

const normalizeScope = (raw: string): Scope | undefined => {
  const bare = raw.startsWith(PREFIX) ? raw.slice(PREFIX.length) : raw;
  return KNOWN_SCOPES.has(bare) ? (bare as Scope) : undefined;
};

/** Payload 2.0 puts an access token's scopes in `jwt.scopes`; the `scope` claim is a space-separated string. */
const rawScopesOf = (jwt: NonNullable<JwtAuthorizerContext['jwt']>): string[] => {
  const fromArray = Array.isArray(jwt.scopes) ? jwt.scopes : [];
  const claim = jwt.claims.scope;
  const fromClaim =
    typeof claim === 'string'
      ? claim.split(/\s+/)
      : Array.isArray(claim)
        ? claim.filter((value): value is string => typeof value === 'string')
        : [];
  return [...fromArray, ...fromClaim].filter((scope) => scope.length > 0);
};

/**
 * The gateway has validated the token (signature, issuer, audience, expiry) before the handler runs; here
 * only its claims are read. No claims at all means the request did not come through the authorizer: 401.
 */
export const principalOf = (authorizer: JwtAuthorizerContext | undefined): Principal => {
  const jwt = authorizer?.jwt;
  if (jwt === undefined || jwt.claims === null || Object.keys(jwt.claims).length === 0) {
    throw new UnauthorizedError();
  }
  const subject = jwt.claims.sub;
  if (typeof subject !== 'string' || subject.length === 0 || subject.length > 256) {
    throw new UnauthorizedError('The token has no usable subject');
  }
  const scopes = new Set<Scope>();
  for (const raw of rawScopesOf(jwt)) {
    const scope = normalizeScope(raw);
    if (scope !== undefined) scopes.add(scope);
  }
  return { subject, scopes };
};

export const requireScopes = (principal: Principal, ...required: Scope[]): void => {
  const missing = required.filter((scope) => !principal.scopes.has(scope));
  if (missing.length > 0) {
    throw new ForbiddenError(
      `The token lacks the scope${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`,
    );
  }
};
