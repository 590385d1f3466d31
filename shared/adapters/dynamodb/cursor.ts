import * as z from 'zod';
import { InvalidInputError } from '../../domain/errors';

const KeySchema = z.record(z.string(), z.union([z.string(), z.number()]));

/** Pagination cursors are DynamoDB keys, opaque to callers; a tampered one is refused, not trusted. */
export const encodeCursor = (key: Record<string, unknown> | undefined): string | undefined =>
  key === undefined ? undefined : Buffer.from(JSON.stringify(key)).toString('base64url');

export const decodeCursor = (cursor: string | undefined): Record<string, string | number> | undefined => {
  if (cursor === undefined) return undefined;
  try {
    return KeySchema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch (error) {
    throw new InvalidInputError('cursor', [{ field: 'cursor', message: 'is not a cursor this API issued' }], {
      cause: error,
    });
  }
};
