import type { JSONValue } from '@aws-lambda-powertools/commons/types';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { IDEMPOTENCY_HEADER, IDEMPOTENCY_KEY_PREFIX, IDEMPOTENCY_TTL_S } from './constants';
import { BadRequestError } from './errors';
import type { ApiResult } from './types';

/** Printable ASCII without spaces, as the IETF Idempotency-Key draft and Stripe use it. */
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** What Powertools hashes: `key` identifies the request, `request` must match on a retry. */
export interface IdempotentPayload {
  /** `<subject>#<Idempotency-Key>`: one caller's key never collides with another's. Null: no header. */
  key: string | null;
  request: { route: string; params: unknown; query: unknown; body: unknown };
}

export const idempotencyKeyOf = (
  headers: Readonly<Record<string, string>>,
  subject: string,
): string | null => {
  const value = headers[IDEMPOTENCY_HEADER];
  if (value === undefined) return null;
  if (!KEY_PATTERN.test(value)) {
    throw new BadRequestError('The Idempotency-Key header is invalid', [
      {
        field: `header.${IDEMPOTENCY_HEADER}`,
        message: 'must be 1-255 printable ASCII characters without spaces',
      },
    ]);
  }
  return `${subject}#${value}`;
};

const JsonSchema: z.ZodType<JSONValue> = z.lazy(() =>
  z.union([
    z.string(),
    z.number(),
    z.boolean(),
    z.null(),
    z.array(JsonSchema),
    z.record(z.string(), JsonSchema),
  ]),
);
const StoredResultSchema = z.object({
  statusCode: z.number().int(),
  body: JsonSchema,
  headers: z.record(z.string(), z.string()).optional(),
});

export type IdempotentRunner = (
  payload: IdempotentPayload,
  context: Context,
  execute: () => Promise<ApiResult>,
) => Promise<ApiResult>;

/**
 * Only a returned result is stored; a thrown refusal (409, 503, ...) removes the in-progress record, so a
 * retry runs the command again instead of replaying a refusal whose cause may be gone. A request without
 * the header skips idempotency entirely.
 */
export const createIdempotentRunner = (persistenceStore: BasePersistenceLayer): IdempotentRunner => {
  const config = new IdempotencyConfig({
    eventKeyJmesPath: 'key',
    payloadValidationJmesPath: 'request',
    expiresAfterSeconds: IDEMPOTENCY_TTL_S,
    // A replay says so, as Stripe's `Idempotent-Replayed` does; the stored result is parsed, not trusted.
    responseHook: (response) => {
      const stored = StoredResultSchema.parse(response);
      return { ...stored, headers: { ...stored.headers, 'idempotent-replayed': 'true' } };
    },
  });
  const run = makeIdempotent(
    async (_payload: IdempotentPayload, _context: Context, execute: () => Promise<ApiResult>) => execute(),
    { persistenceStore, config, keyPrefix: IDEMPOTENCY_KEY_PREFIX },
  );
  return (payload, context, execute) => run(payload, context, execute);
};
