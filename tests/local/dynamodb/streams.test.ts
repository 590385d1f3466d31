import {
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamo, startLocalDynamo } from '../../../local/dynamodb';
import { clientFor, createTable, sequenceNumbers, strictlyIncreasing, tapStream } from './helpers';

const FIXED_NOW_MS = Date.UTC(2025, 0, 2, 3, 4, 5);

describe('LocalDynamo: streams', () => {
  let dynamo: LocalDynamo;
  let client: DynamoDBClient;

  beforeAll(async () => {
    dynamo = await startLocalDynamo({ now: () => FIXED_NOW_MS, ttlSweepIntervalMs: 0 });
    client = clientFor(dynamo.endpoint);
    await createTable(client, 'sessions', 'NEW_AND_OLD_IMAGES');
    await createTable(client, 'keys-only', 'KEYS_ONLY');
    await createTable(client, 'new-image', 'NEW_IMAGE');
    await createTable(client, 'plain');
  });

  afterAll(async () => {
    client?.destroy();
    await dynamo?.close();
  });

  it('records INSERT, MODIFY and REMOVE with the old and new images for NEW_AND_OLD_IMAGES', async () => {
    const committedSince = tapStream(dynamo.streams, 'sessions');

    await client.send(
      new PutItemCommand({ TableName: 'sessions', Item: { pk: { S: 'run-1' }, status: { S: 'pending' } } }),
    );
    await client.send(
      new UpdateItemCommand({
        TableName: 'sessions',
        Key: { pk: { S: 'run-1' } },
        UpdateExpression: 'SET #status = :running, heartbeat_seq = :one',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':running': { S: 'running' }, ':one': { N: '1' } },
      }),
    );
    await client.send(new DeleteItemCommand({ TableName: 'sessions', Key: { pk: { S: 'run-1' } } }));
    const records: DynamoDBRecord[] = committedSince();

    const arn = dynamo.streams.streamArn('sessions');
    expect(arn).toMatch(
      /^arn:aws:dynamodb:us-east-1:000000000000:table\/sessions\/stream\/\d{4}-\d\d-\d\dT[\d:.]+$/,
    );
    expect(records.map((record) => record.eventName)).toEqual(['INSERT', 'MODIFY', 'REMOVE']);
    for (const record of records) {
      expect(record).toMatchObject({
        eventVersion: '1.1',
        eventSource: 'aws:dynamodb',
        awsRegion: 'us-east-1',
        eventSourceARN: arn,
        dynamodb: {
          ApproximateCreationDateTime: Math.floor(FIXED_NOW_MS / 1000),
          Keys: { pk: { S: 'run-1' } },
          StreamViewType: 'NEW_AND_OLD_IMAGES',
        },
      });
      expect(record.dynamodb?.SizeBytes).toBeGreaterThan(0);
      expect(record.userIdentity).toBeUndefined();
    }
    const [insert, modify, remove] = records;
    expect(insert?.dynamodb?.NewImage).toEqual({ pk: { S: 'run-1' }, status: { S: 'pending' } });
    expect(insert?.dynamodb?.OldImage).toBeUndefined();
    expect(modify?.dynamodb?.OldImage).toEqual({ pk: { S: 'run-1' }, status: { S: 'pending' } });
    expect(modify?.dynamodb?.NewImage).toEqual({
      pk: { S: 'run-1' },
      status: { S: 'running' },
      heartbeat_seq: { N: '1' },
    });
    expect(remove?.dynamodb?.OldImage).toEqual(modify?.dynamodb?.NewImage);
    expect(remove?.dynamodb?.NewImage).toBeUndefined();
    expect(new Set(records.map((record) => record.eventID)).size).toBe(3);
  });

  it('records only the keys for KEYS_ONLY, and only the new image for NEW_IMAGE', async () => {
    const keysOnlyRecords = tapStream(dynamo.streams, 'keys-only');
    const newImageRecords = tapStream(dynamo.streams, 'new-image');

    for (const tableName of ['keys-only', 'new-image']) {
      await client.send(
        new PutItemCommand({ TableName: tableName, Item: { pk: { S: 'a' }, v: { N: '1' } } }),
      );
      await client.send(
        new PutItemCommand({ TableName: tableName, Item: { pk: { S: 'a' }, v: { N: '2' } } }),
      );
    }

    expect(keysOnlyRecords()).toHaveLength(2);
    for (const record of keysOnlyRecords()) {
      expect(record.dynamodb).toMatchObject({ Keys: { pk: { S: 'a' } }, StreamViewType: 'KEYS_ONLY' });
      expect(record.dynamodb?.NewImage).toBeUndefined();
      expect(record.dynamodb?.OldImage).toBeUndefined();
    }
    const [insert, modify] = newImageRecords();
    expect(insert?.dynamodb?.NewImage).toEqual({ pk: { S: 'a' }, v: { N: '1' } });
    expect(modify?.dynamodb?.NewImage).toEqual({ pk: { S: 'a' }, v: { N: '2' } });
    expect(modify?.dynamodb?.OldImage).toBeUndefined();
  });

  it('writes no record and changes nothing when a conditional write fails', async () => {
    await client.send(
      new PutItemCommand({ TableName: 'sessions', Item: { pk: { S: 'cond' }, v: { N: '1' } } }),
    );
    const before = dynamo.streams.read('sessions');

    const failure = await client
      .send(
        new PutItemCommand({
          TableName: 'sessions',
          Item: { pk: { S: 'cond' }, v: { N: '2' } },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      )
      .catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(ConditionalCheckFailedException);
    expect(dynamo.streams.read('sessions')).toEqual(before);
    const { Item } = await client.send(
      new GetItemCommand({ TableName: 'sessions', Key: { pk: { S: 'cond' } } }),
    );
    expect(Item).toEqual({ pk: { S: 'cond' }, v: { N: '1' } });
  });

  it('returns the current item with a failed condition when asked with ReturnValuesOnConditionCheckFailure', async () => {
    await client.send(
      new PutItemCommand({ TableName: 'plain', Item: { pk: { S: 'held' }, owner: { S: 'run-1' } } }),
    );

    const failure = await client
      .send(
        new UpdateItemCommand({
          TableName: 'plain',
          Key: { pk: { S: 'held' } },
          UpdateExpression: 'SET #owner = :me',
          ConditionExpression: 'attribute_not_exists(#owner)',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':me': { S: 'run-2' } },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      )
      .catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(ConditionalCheckFailedException);
    expect((failure as ConditionalCheckFailedException).Item).toEqual({
      pk: { S: 'held' },
      owner: { S: 'run-1' },
    });
  });

  it('writes no record for a write that leaves the item unchanged', async () => {
    const item = { pk: { S: 'same' }, tags: { SS: ['b', 'a'] }, n: { N: '1.50' } };
    await client.send(new PutItemCommand({ TableName: 'sessions', Item: item }));
    const before = dynamo.streams.read('sessions');

    await client.send(
      new PutItemCommand({
        TableName: 'sessions',
        Item: { ...item, tags: { SS: ['a', 'b'] }, n: { N: '1.5' } },
      }),
    );
    await client.send(
      new UpdateItemCommand({
        TableName: 'sessions',
        Key: { pk: { S: 'same' } },
        UpdateExpression: 'SET n = :n',
        ExpressionAttributeValues: { ':n': { N: '1.5' } },
      }),
    );
    await client.send(new DeleteItemCommand({ TableName: 'sessions', Key: { pk: { S: 'never-existed' } } }));

    expect(dynamo.streams.read('sessions')).toEqual(before);
  });

  it('numbers records with strictly increasing sequence numbers whose string order is their numeric order', async () => {
    const committedSince = tapStream(dynamo.streams, 'sessions');

    for (let index = 0; index < 12; index += 1) {
      await client.send(
        new PutItemCommand({ TableName: 'sessions', Item: { pk: { S: 'seq' }, n: { N: String(index) } } }),
      );
    }
    const numbers = sequenceNumbers(committedSince());

    expect(strictlyIncreasing(numbers)).toBe(true);
    expect([...numbers].sort()).toEqual(numbers);
    expect(new Set(numbers.map((number) => number.length)).size).toBe(1);
    const all = sequenceNumbers(dynamo.streams.read('sessions'));
    expect(strictlyIncreasing(all)).toBe(true);
    expect(dynamo.streams.read('sessions', numbers[9])).toHaveLength(2);
    expect(
      dynamo.streams.read('sessions', numbers[0], 3).map((record) => record.dynamodb?.SequenceNumber),
    ).toEqual(numbers.slice(1, 4));
  });

  it('records every item of a BatchWriteItem', async () => {
    await client.send(new PutItemCommand({ TableName: 'sessions', Item: { pk: { S: 'batch-old' } } }));
    const committedSince = tapStream(dynamo.streams, 'sessions');

    await client.send(
      new BatchWriteItemCommand({
        RequestItems: {
          sessions: [
            { PutRequest: { Item: { pk: { S: 'batch-1' } } } },
            { PutRequest: { Item: { pk: { S: 'batch-2' } } } },
            { DeleteRequest: { Key: { pk: { S: 'batch-old' } } } },
          ],
          plain: [{ PutRequest: { Item: { pk: { S: 'batch-plain' } } } }],
        },
      }),
    );
    const records = committedSince();

    expect(records.map((record) => [record.eventName, record.dynamodb?.Keys?.pk?.S])).toEqual([
      ['INSERT', 'batch-1'],
      ['INSERT', 'batch-2'],
      ['REMOVE', 'batch-old'],
    ]);
  });

  it('writes no records for a table without a stream', async () => {
    await client.send(new PutItemCommand({ TableName: 'plain', Item: { pk: { S: 'quiet' } } }));

    expect(dynamo.streams.streamArn('plain')).toBeUndefined();
    expect(dynamo.streams.read('plain')).toEqual([]);
  });

  it('stops delivering to a listener once it unsubscribes', async () => {
    const delivered: DynamoDBRecord[] = [];
    const unsubscribe = dynamo.streams.subscribe('sessions', (record) => delivered.push(record));
    await client.send(
      new PutItemCommand({ TableName: 'sessions', Item: { pk: { S: 'sub' }, n: { N: '1' } } }),
    );

    unsubscribe();
    await client.send(
      new PutItemCommand({ TableName: 'sessions', Item: { pk: { S: 'sub' }, n: { N: '2' } } }),
    );

    expect(delivered.map((record) => record.dynamodb?.NewImage?.n?.N)).toEqual(['1']);
  });

  it('works with the document client, ReturnValues included', async () => {
    const documents = DynamoDBDocumentClient.from(client);
    const committedSince = tapStream(dynamo.streams, 'sessions');

    const put = await documents.send(
      new PutCommand({ TableName: 'sessions', Item: { pk: 'doc', count: 1 } }),
    );
    const updated = await documents.send(
      new UpdateCommand({
        TableName: 'sessions',
        Key: { pk: 'doc' },
        UpdateExpression: 'ADD #count :one',
        ExpressionAttributeNames: { '#count': 'count' },
        ExpressionAttributeValues: { ':one': 1 },
        ReturnValues: 'UPDATED_OLD',
      }),
    );

    expect(put.Attributes).toBeUndefined();
    expect(updated.Attributes).toEqual({ count: 1 });
    const records = committedSince();
    expect(records.map((record) => record.eventName)).toEqual(['INSERT', 'MODIFY']);
    const [, modify] = records;
    expect(modify?.dynamodb?.NewImage).toEqual({ pk: { S: 'doc' }, count: { N: '2' } });
  });
});
