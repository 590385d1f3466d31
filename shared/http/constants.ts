/** API Gateway accepts far more; nothing this API takes comes close, so anything bigger is refused. */
export const MAX_BODY_BYTES = 64 * 1024;

/** The scopes of DESIGN.md §5. */
export const SCOPES = {
  read: 'strategies:read',
  write: 'strategies:write',
  live: 'strategies:live',
} as const;
export type Scope = (typeof SCOPES)[keyof typeof SCOPES];

/**
 * The Cognito user-pool group (serverless.yml, TradaiLiveGroup) whose members may start and resume live
 * sessions; scopes alone cannot restrict a person, since any user of the app client may ask for any scope.
 */
export const LIVE_GROUP = 'tradai-live';

/**
 * Cognito names custom scopes `<resource server>/<scope>`; the resource server in serverless.yml is
 * `tradai`. A bare `strategies:read` (local issuer) means the same: Cognito never issues bare custom scopes.
 */
export const SCOPE_RESOURCE_SERVER = 'tradai';

/** Idempotency keys are scoped to the caller and shared by every command route. */
export const IDEMPOTENCY_KEY_PREFIX = 'tradai-api';
export const IDEMPOTENCY_HEADER = 'idempotency-key';
/** A retried command within this window gets the first answer back. */
export const IDEMPOTENCY_TTL_S = 24 * 3600;

export const JSON_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
} as const;
