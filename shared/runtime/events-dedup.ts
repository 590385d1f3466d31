import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { type Clock, systemClock } from '../domain/clock';

/**
 * Remembers which side effects (an SNS page, a SendTaskSuccess) were already done, so an event delivered
 * twice (stream retries, bisected batches, EventBridge redelivery) does not page twice.
 *
 * Order: check, act, record. A crash between acting and recording repeats the effect on redelivery: a
 * page may (rarely) come twice, but is never lost. Stream records of one item are processed in order by
 * one invocation at a time, so no two invocations race on the same key.
 */
export interface DedupLedger {
  seen(key: string): Promise<boolean>;
  record(key: string): Promise<void>;
}

/** Runs `effect` unless `key` was recorded; returns whether it ran. */
export const once = async (
  ledger: DedupLedger,
  key: string,
  effect: () => Promise<void>,
): Promise<boolean> => {
  if (await ledger.seen(key)) return false;
  await effect();
  await ledger.record(key);
  return true;
};

export const DEDUP_PREFIX = 'dedup#';
export const DEDUP_ITEM_TYPE = 'dedup_marker';

export interface DynamoDedupLedgerOptions {
  /** The sessions table: markers sit beside the sessions as `run_id = dedup#<key>`, with a TTL. */
  table: string;
  clock?: Clock;
  /** Longer than any redelivery window (stream records live 24 h). */
  ttlDays?: number;
}

/**
 * Markers are small items in the sessions table (`item_type = dedup_marker`): no status attribute, so they
 * never appear in the status GSI, and the stream's filter (item_type = session) keeps them from the
 * stream processor. DynamoDB's TTL removes them after a week.
 */
export class DynamoDedupLedger implements DedupLedger {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #clock: Clock;
  readonly #ttlS: number;

  constructor(doc: DynamoDBDocumentClient, options: DynamoDedupLedgerOptions) {
    this.#doc = doc;
    this.#table = options.table;
    this.#clock = options.clock ?? systemClock;
    this.#ttlS = (options.ttlDays ?? 7) * 86_400;
  }

  async seen(key: string): Promise<boolean> {
    const result = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: { run_id: `${DEDUP_PREFIX}${key}` },
        ConsistentRead: true,
        ProjectionExpression: 'run_id',
      }),
    );
    return result.Item !== undefined;
  }

  async record(key: string): Promise<void> {
    const nowMs = this.#clock.now();
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            run_id: `${DEDUP_PREFIX}${key}`,
            item_type: DEDUP_ITEM_TYPE,
            recorded_at: new Date(nowMs).toISOString(),
            ttl: Math.floor(nowMs / 1000) + this.#ttlS,
          },
          ConditionExpression: 'attribute_not_exists(run_id)',
        }),
      );
    } catch (error) {
      // Already recorded (by a concurrent redelivery): the effect happened, which is all we record.
      if (!(error instanceof Error && error.name === 'ConditionalCheckFailedException')) throw error;
    }
  }
}

/** For tests and the local cloud. */
export class InMemoryDedupLedger implements DedupLedger {
  readonly keys = new Set<string>();

  async seen(key: string): Promise<boolean> {
    return this.keys.has(key);
  }

  async record(key: string): Promise<void> {
    this.keys.add(key);
  }
}
