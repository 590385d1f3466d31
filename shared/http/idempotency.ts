import type { JSONValue } from '@aws-lambda-powertools/commons/types';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { IDEMPOTENCY_KEY_PREFIX, IDEMPOTENCY_TTL_S } from './constants';
import type { IdempotentPayload } from './idempotency-key';
import type { ApiResult } from './types';

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
