import { LIVE_GROUP, SCOPE_RESOURCE_SERVER, SCOPES, type Scope } from './constants';
import { ForbiddenError, UnauthorizedError } from './errors';

/** Who is calling, as the gateway's JWT authorizer established it. */
export interface Principal {
  /** The token's `sub`: the actor recorded in the audit log. */
  subject: string;
  scopes: ReadonlySet<Scope>;
  /** The token's `cognito:groups`: who the user pool says this person is, which scopes cannot say. */
  groups: ReadonlySet<string>;
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

/** Group names are Cognito's: letters, digits and a few signs; anything else in the claim is ignored. */
const GROUP_NAME = /^[\p{L}\p{M}\p{S}\p{N}\p{P}]{1,128}$/u;

/**
 * `cognito:groups` is an array in the token, but API Gateway's JWT authorizer hands array claims to the
 * function flattened into one string, `[tradai-live ops]`; the local gateway sends it as JSON. All three are read.
 */
export const groupsOf = (claim: unknown): string[] => {
  const names = (() => {
    if (Array.isArray(claim)) return claim;
    if (typeof claim !== 'string') return [];
    const text = claim.trim();
    if (text.startsWith('[') && text.endsWith(']')) {
      try {
        const parsed: unknown = JSON.parse(text);
        if (Array.isArray(parsed)) return parsed;
      } catch {
        // Not JSON: API Gateway's `[a b]` form.
      }
      return text.slice(1, -1).split(/[\s,]+/);
    }
    return text.split(/[\s,]+/);
  })();
  return names.filter((name): name is string => typeof name === 'string' && GROUP_NAME.test(name));
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
    throw new UnauthorizedError('The token has no usable subject', 'no_subject');
  }
  const scopes = new Set<Scope>();
  for (const raw of rawScopesOf(jwt)) {
    const scope = normalizeScope(raw);
    if (scope !== undefined) scopes.add(scope);
  }
  return { subject, scopes, groups: new Set(groupsOf(jwt.claims['cognito:groups'])) };
};

export const requireScopes = (principal: Principal, ...required: Scope[]): void => {
  const missing = required.filter((scope) => !principal.scopes.has(scope));
  if (missing.length > 0) {
    throw new ForbiddenError(
      `The token lacks the scope${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`,
    );
  }
};

/**
 * Trading live with real money is a permission of a person, not of an app client: any invited user can ask
 * Cognito for the `strategies:live` scope, so a live start or resume also needs membership of the live
 * group, which only an administrator grants.
 */
export const requireLiveTrader = (principal: Principal): void => {
  const missing = [
    ...(principal.scopes.has(SCOPES.live) ? [] : [`the scope ${SCOPES.live}`]),
    ...(principal.groups.has(LIVE_GROUP) ? [] : [`membership of the ${LIVE_GROUP} group`]),
  ];
  if (missing.length > 0) {
    throw new ForbiddenError(
      `Trading live needs ${SCOPES.write}, ${SCOPES.live} and membership of the ${LIVE_GROUP} group; the token lacks ${missing.join(' and ')}`,
      'live_permission_required',
    );
  }
};
