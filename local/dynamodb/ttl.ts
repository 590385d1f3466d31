import type { GatewayContext, OperationHandler } from './context';
import { isConditionalCheckFailure, validationError } from './errors';
import { pickKey } from './items';
import {
  type Item,
  ReturnedAttributesSchema,
  ScanResponseSchema,
  TableRequestSchema,
  UpdateTimeToLiveRequestSchema,
} from './schemas';
import { jsonResponse } from './wire';

/*
 * Time to live, which dynalite does not have: the setting is kept in the gateway's table metadata and
 * a sweeper deletes expired items the way the DynamoDB service does, with REMOVE records attributed to
 * the service.
 */

export const handleUpdateTimeToLive: OperationHandler = async (context, _request, payload) => {
  const parsed = UpdateTimeToLiveRequestSchema.safeParse(payload);
  if (!parsed.success) {
    throw validationError(
      '1 validation error detected: TimeToLiveSpecification must have Enabled and AttributeName',
    );
  }
  const { TableName: tableName, TimeToLiveSpecification: specification } = parsed.data;
  await context.keySchemas.keyNames(tableName);
  const current = context.metadata.get(tableName).timeToLive;
  if (specification.Enabled && current?.enabled) throw validationError('TimeToLive is already enabled');
  if (!specification.Enabled && !current?.enabled) throw validationError('TimeToLive is already disabled');
  context.metadata.update(tableName, {
    timeToLive: { enabled: specification.Enabled, attributeName: specification.AttributeName },
  });
  return jsonResponse(200, { TimeToLiveSpecification: specification });
};

export const handleDescribeTimeToLive: OperationHandler = async (context, _request, payload) => {
  const parsed = TableRequestSchema.safeParse(payload);
  if (!parsed.success)
    throw validationError(
      "1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null",
    );
  const tableName = parsed.data.TableName;
  await context.keySchemas.keyNames(tableName);
  const timeToLive = context.metadata.get(tableName).timeToLive;
  const description = timeToLive?.enabled
    ? { TimeToLiveStatus: 'ENABLED', AttributeName: timeToLive.attributeName }
    : { TimeToLiveStatus: 'DISABLED' };
  return jsonResponse(200, { TimeToLiveDescription: description });
};

/** Deletes expired items every interval, until stopped. */
export class TimeToLiveSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly context: GatewayContext,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    if (this.intervalMs > 0) this.schedule();
  }

  /** Stops scheduling and waits for a sweep in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One pass over every table with TTL enabled; returns how many items it deleted. */
  async sweep(): Promise<number> {
    let deleted = 0;
    for (const { tableName, attributeName } of this.context.metadata.tablesWithTimeToLive()) {
      if (this.stopped) break;
      try {
        deleted += await this.sweepTable(tableName, attributeName);
      } catch (error) {
        // One table's trouble (say, deleted mid-sweep) must not keep the others' items alive.
        console.error(`[local-dynamodb] TTL sweep of ${tableName} failed`, error);
      }
    }
    return deleted;
  }

  private schedule(): void {
    // One sweep at a time: the next is scheduled when the previous has finished.
    this.timer = setTimeout(() => {
      this.running = this.sweep()
        .then(() => undefined)
        .catch((error: unknown) => console.error('[local-dynamodb] TTL sweep failed', error))
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.schedule();
        });
    }, this.intervalMs);
  }

  private async sweepTable(tableName: string, attributeName: string): Promise<number> {
    const keyNames = await this.context.keySchemas.keyNames(tableName);
    let deleted = 0;
    for (const key of await this.expiredKeys(tableName, attributeName, keyNames)) {
      if (this.stopped) break;
      if (await this.deleteIfExpired(tableName, attributeName, key)) deleted += 1;
    }
    return deleted;
  }

  /** Scanned outside the write lock: each delete re-checks expiry under it. */
  private async expiredKeys(
    tableName: string,
    attributeName: string,
    keyNames: readonly string[],
  ): Promise<Item[]> {
    const keys: Item[] = [];
    let exclusiveStartKey: Item | undefined;
    do {
      const page = await this.context.dynalite.call(
        'Scan',
        {
          TableName: tableName,
          ConsistentRead: true,
          FilterExpression: '#ttl < :now',
          ExpressionAttributeNames: { '#ttl': attributeName },
          ExpressionAttributeValues: { ':now': { N: String(this.nowSeconds()) } },
          ...(exclusiveStartKey === undefined ? {} : { ExclusiveStartKey: exclusiveStartKey }),
        },
        ScanResponseSchema,
      );
      for (const item of page.Items) keys.push(pickKey(item, keyNames));
      exclusiveStartKey = page.LastEvaluatedKey;
    } while (exclusiveStartKey !== undefined);
    return keys;
  }

  private deleteIfExpired(tableName: string, attributeName: string, key: Item): Promise<boolean> {
    return this.context.writeLock.run(async () => {
      try {
        const { Attributes: oldImage } = await this.context.dynalite.call(
          'DeleteItem',
          {
            TableName: tableName,
            Key: key,
            ConditionExpression: '#ttl < :now',
            ExpressionAttributeNames: { '#ttl': attributeName },
            ExpressionAttributeValues: { ':now': { N: String(this.nowSeconds()) } },
            ReturnValues: 'ALL_OLD',
          },
          ReturnedAttributesSchema,
        );
        this.context.streams.publish(tableName, [{ keys: key, oldImage, byTimeToLive: true }]);
        return true;
      } catch (error) {
        // Written since the scan with a later expiry, or deleted already: not expired any more.
        if (isConditionalCheckFailure(error)) return false;
        throw error;
      }
    });
  }

  private nowSeconds(): number {
    return Math.floor(this.context.now() / 1000);
  }
}
