import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TradaiError } from '../../domain/errors';

/** DynamoDB's bound on the keys of one BatchGetItem. */
export const BATCH_GET_MAX_KEYS = 100;
/** Attempts per 100 keys: DynamoDB returns the keys it did not read (throttling, 16 MB) as UnprocessedKeys. */
export const BATCH_GET_ATTEMPTS = 6;
const BACKOFF_BASE_MS = 25;
const BACKOFF_CAP_MS = 1_000;

/** Some keys were still unread after every attempt: a fault, never a short answer passed off as complete. */
export class UnprocessedKeysError extends TradaiError {
  readonly unread: number;

  constructor(what: string, unread: number) {
    super(`${what}: ${unread} items unread after ${BATCH_GET_ATTEMPTS} BatchGetItem attempts (throttled)`);
    this.name = 'UnprocessedKeysError';
    this.unread = unread;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Exponential backoff with full jitter, as AWS advises for retried batch operations. */
const backoffMs = (attempt: number) =>
  Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);

export interface BatchGetRequest {
  table: string;
  /** Values of the table's partition key `run_id`; duplicates are read once. */
  runIds: readonly string[];
  /** Strongly consistent: what the table holds now, not what an index (or a lagging replica) saw. */
  consistent: boolean;
  /** Attribute names to read (all when absent); run_id is always read. */
  attributes?: readonly string[];
  /** Names the reader in the error when keys stay unread. */
  what: string;
}

/**
 * The items of the given keys, 100 keys per request (the requests run at once), retrying the keys
 * DynamoDB leaves unprocessed with backoff, a bounded number of times. Keys with no item are absent from
 * the answer; the map is keyed by run_id so callers keep their own order.
 */
export const batchGetByRunId = async (
  doc: DynamoDBDocumentClient,
  request: BatchGetRequest,
): Promise<Map<string, Record<string, unknown>>> => {
  const runIds = [...new Set(request.runIds)];
  const names =
    request.attributes === undefined
      ? undefined
      : Object.fromEntries(
          [...new Set(['run_id', ...request.attributes])].map((name, index) => [`#a${index}`, name]),
        );
  const chunks: string[][] = [];
  for (let offset = 0; offset < runIds.length; offset += BATCH_GET_MAX_KEYS)
    chunks.push(runIds.slice(offset, offset + BATCH_GET_MAX_KEYS));
  const found = new Map<string, Record<string, unknown>>();
  await Promise.all(
    chunks.map(async (chunk) => {
      let keys: Record<string, unknown>[] = chunk.map((run_id) => ({ run_id }));
      for (let attempt = 0; keys.length > 0 && attempt < BATCH_GET_ATTEMPTS; attempt += 1) {
        if (attempt > 0) await sleep(backoffMs(attempt));
        const result = await doc.send(
          new BatchGetCommand({
            RequestItems: {
              [request.table]: {
                Keys: keys,
                ConsistentRead: request.consistent,
                ...(names === undefined
                  ? {}
                  : { ProjectionExpression: Object.keys(names).join(', '), ExpressionAttributeNames: names }),
              },
            },
          }),
        );
        for (const item of result.Responses?.[request.table] ?? [])
          if (typeof item.run_id === 'string') found.set(item.run_id, item);
        keys = result.UnprocessedKeys?.[request.table]?.Keys ?? [];
      }
      if (keys.length > 0) throw new UnprocessedKeysError(request.what, keys.length);
    }),
  );
  return found;
};
