import { IDEMPOTENCY_HEADER } from './constants';
import { BadRequestError } from './errors';

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
