import {
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamo, startLocalDynamo } from '../../../local/dynamodb';
import { clientFor, createTable, nextRecordMatching } from './helpers';

const TABLE = 'backtests';
const removalOf = (pk: string) => (record: DynamoDBRecord) =>
  record.eventName === 'REMOVE' && record.dynamodb?.Keys?.pk?.S === pk;

describe('LocalDynamo: time to live', () => {
  let nowMs = Date.UTC(2025, 5, 1);
  const nowSeconds = () => Math.floor(nowMs / 1000);
  let dynamo: LocalDynamo;
  let client: DynamoDBClient;

  async function exists(pk: string): Promise<boolean> {
    const { Item } = await client.send(
      new GetItemCommand({ TableName: TABLE, Key: { pk: { S: pk } }, ConsistentRead: true }),
    );
    return Item !== undefined;
  }

  beforeAll(async () => {
    dynamo = await startLocalDynamo({ now: () => nowMs, ttlSweepIntervalMs: 10 });
    client = clientFor(dynamo.endpoint);
    await createTable(client, TABLE, 'NEW_AND_OLD_IMAGES');
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: TABLE,
        TimeToLiveSpecification: { Enabled: true, AttributeName: 'ttl' },
      }),
    );
  });

  afterAll(async () => {
    client?.destroy();
    await dynamo?.close();
  });

  // These wait for the sweeper, which runs every 10 ms: the timeout only bounds a failing run.
  it('deletes an expired item with a REMOVE record attributed to the DynamoDB service', {
    timeout: 10_000,
  }, async () => {
    const removal = nextRecordMatching(dynamo.streams, TABLE, removalOf('expired'));
    const expired = { pk: { S: 'expired' }, ttl: { N: String(nowSeconds() - 10) } };

    await client.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: 'no-ttl' } } }));
    await client.send(
      new PutItemCommand({ TableName: TABLE, Item: { pk: { S: 'text-ttl' }, ttl: { S: '1' } } }),
    );
    await client.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: { pk: { S: 'later' }, ttl: { N: String(nowSeconds() + 3600) } },
      }),
    );
    await client.send(new PutItemCommand({ TableName: TABLE, Item: expired }));
    const record = await removal;

    expect(record.userIdentity).toEqual({ type: 'Service', principalId: 'dynamodb.amazonaws.com' });
    expect(record.dynamodb?.OldImage).toEqual(expired);
    expect(record.dynamodb?.NewImage).toBeUndefined();
    expect(record.dynamodb?.ApproximateCreationDateTime).toBe(nowSeconds());
    expect(await exists('expired')).toBe(false);
    expect(await exists('later')).toBe(true);
  });

  it('follows the injected clock: an item expires when the clock passes its TTL, others stay', {
    timeout: 10_000,
  }, async () => {
    const removal = nextRecordMatching(dynamo.streams, TABLE, removalOf('later'));

    nowMs += 2 * 60 * 60 * 1000;
    await removal;

    expect(await exists('later')).toBe(false);
    expect(await exists('no-ttl')).toBe(true);
    expect(await exists('text-ttl')).toBe(true);
  });
});
