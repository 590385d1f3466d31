import { type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamo, startLocalDynamo } from '../../../local/dynamodb';
import { clientFor, createTable } from './helpers';

/** The Streams client is not a dependency: these calls speak its JSON protocol directly. */
async function streamsCall(
  endpoint: string,
  operation: string,
  body: object,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': `DynamoDBStreams_20120810.${operation}`,
      'x-amz-date': '20250101T000000Z',
      authorization:
        'AWS4-HMAC-SHA256 Credential=local/20250101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
    },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

describe('LocalDynamo: DynamoDB Streams API', () => {
  let dynamo: LocalDynamo;
  let client: DynamoDBClient;

  beforeAll(async () => {
    dynamo = await startLocalDynamo({ ttlSweepIntervalMs: 0 });
    client = clientFor(dynamo.endpoint);
    await createTable(client, 'polled', 'NEW_IMAGE');
    await createTable(client, 'unstreamed');
  });

  afterAll(async () => {
    client?.destroy();
    await dynamo?.close();
  });

  it('lists, describes and reads a stream through shard iterators', async () => {
    await client.send(new PutItemCommand({ TableName: 'polled', Item: { pk: { S: 'a' } } }));
    await client.send(new PutItemCommand({ TableName: 'polled', Item: { pk: { S: 'b' } } }));
    const streamArn = dynamo.streams.streamArn('polled')!;

    const listed = await streamsCall(dynamo.endpoint, 'ListStreams', {});
    const described = await streamsCall(dynamo.endpoint, 'DescribeStream', { StreamArn: streamArn });
    const shardId = 'shardId-00000000000000000000-00000000';
    const iterator = await streamsCall(dynamo.endpoint, 'GetShardIterator', {
      StreamArn: streamArn,
      ShardId: shardId,
      ShardIteratorType: 'TRIM_HORIZON',
    });
    const firstPage = await streamsCall(dynamo.endpoint, 'GetRecords', {
      ShardIterator: iterator.json.ShardIterator,
      Limit: 1,
    });
    const secondPage = await streamsCall(dynamo.endpoint, 'GetRecords', {
      ShardIterator: firstPage.json.NextShardIterator,
    });
    await client.send(new PutItemCommand({ TableName: 'polled', Item: { pk: { S: 'c' } } }));
    const thirdPage = await streamsCall(dynamo.endpoint, 'GetRecords', {
      ShardIterator: secondPage.json.NextShardIterator,
    });

    expect(listed.json.Streams).toEqual([
      { StreamArn: streamArn, TableName: 'polled', StreamLabel: streamArn.split('/stream/')[1] },
    ]);
    expect(described.json.StreamDescription).toMatchObject({
      StreamArn: streamArn,
      StreamStatus: 'ENABLED',
      StreamViewType: 'NEW_IMAGE',
      TableName: 'polled',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      Shards: [{ ShardId: shardId }],
    });
    const keysOf = (page: { json: Record<string, unknown> }) =>
      (
        page.json.Records as Array<{ dynamodb: { Keys: { pk: { S: string } } }; eventSourceARN?: string }>
      ).map((record) => record.dynamodb.Keys.pk.S);
    expect(keysOf(firstPage)).toEqual(['a']);
    expect(keysOf(secondPage)).toEqual(['b']);
    expect(keysOf(thirdPage)).toEqual(['c']);
  });

  it('starts a LATEST iterator after everything already committed', async () => {
    const streamArn = dynamo.streams.streamArn('polled')!;
    const latest = await streamsCall(dynamo.endpoint, 'GetShardIterator', {
      StreamArn: streamArn,
      ShardId: 'shardId-00000000000000000000-00000000',
      ShardIteratorType: 'LATEST',
    });

    const empty = await streamsCall(dynamo.endpoint, 'GetRecords', {
      ShardIterator: latest.json.ShardIterator,
    });
    await client.send(new PutItemCommand({ TableName: 'polled', Item: { pk: { S: 'after-latest' } } }));
    const next = await streamsCall(dynamo.endpoint, 'GetRecords', {
      ShardIterator: empty.json.NextShardIterator,
    });

    expect(empty.json.Records).toEqual([]);
    expect(next.json.Records).toHaveLength(1);
  });

  it('answers ResourceNotFoundException for an unknown stream', async () => {
    const answer = await streamsCall(dynamo.endpoint, 'DescribeStream', {
      StreamArn: 'arn:aws:dynamodb:us-east-1:000000000000:table/unstreamed/stream/2025-01-01T00:00:00.000',
    });

    expect(answer.status).toBe(400);
    expect(answer.json.__type).toBe('com.amazonaws.dynamodb.v20120810#ResourceNotFoundException');
  });
});
