import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LocalDynamo, startLocalDynamo } from '../../../local/dynamodb';
import { clientFor, createTable, sequenceNumbers, strictlyIncreasing } from './helpers';

describe('LocalDynamo: persistence', () => {
  let dataDir: string;
  const running: LocalDynamo[] = [];

  async function start(): Promise<LocalDynamo> {
    const dynamo = await startLocalDynamo({ dataDir, ttlSweepIntervalMs: 0 });
    running.push(dynamo);
    return dynamo;
  }

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'local-dynamodb-'));
  });

  afterEach(async () => {
    await Promise.all(running.splice(0).map((dynamo) => dynamo.close()));
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps items, stream and TTL settings, and the stream log across a restart, and sequence numbers keep rising', async () => {
    const first = await start();
    const firstClient = clientFor(first.endpoint);
    await createTable(firstClient, 'sessions', 'NEW_AND_OLD_IMAGES');
    await firstClient.send(
      new UpdateTimeToLiveCommand({
        TableName: 'sessions',
        TimeToLiveSpecification: { Enabled: true, AttributeName: 'ttl' },
      }),
    );
    await firstClient.send(
      new PutItemCommand({ TableName: 'sessions', Item: { pk: { S: 'run-1' }, n: { N: '1' } } }),
    );
    await firstClient.send(
      new PutItemCommand({ TableName: 'sessions', Item: { pk: { S: 'run-1' }, n: { N: '2' } } }),
    );
    const arnBefore = first.streams.streamArn('sessions');
    const recordsBefore = first.streams.read('sessions');
    firstClient.destroy();
    await first.close();

    const second = await start();
    const client = clientFor(second.endpoint);
    await client.send(
      new PutItemCommand({ TableName: 'sessions', Item: { pk: { S: 'run-1' }, n: { N: '3' } } }),
    );
    const { Table } = await client.send(new DescribeTableCommand({ TableName: 'sessions' }));
    const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: 'sessions' }));
    const { Item } = await client.send(
      new GetItemCommand({ TableName: 'sessions', Key: { pk: { S: 'run-1' } } }),
    );
    client.destroy();

    expect(recordsBefore).toHaveLength(2);
    expect(Table?.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' });
    expect(Table?.LatestStreamArn).toBe(arnBefore);
    expect(second.streams.streamArn('sessions')).toBe(arnBefore);
    expect(ttl.TimeToLiveDescription).toEqual({ TimeToLiveStatus: 'ENABLED', AttributeName: 'ttl' });
    expect(Item).toEqual({ pk: { S: 'run-1' }, n: { N: '3' } });
    const records = second.streams.read('sessions');
    expect(records.slice(0, 2)).toEqual(recordsBefore);
    expect(records[2]?.dynamodb?.OldImage).toEqual({ pk: { S: 'run-1' }, n: { N: '2' } });
    expect(strictlyIncreasing(sequenceNumbers(records))).toBe(true);
  });

  it('keeps sequence numbers rising after a restart even when the table that held the highest was deleted', async () => {
    const first = await start();
    const firstClient = clientFor(first.endpoint);
    await createTable(firstClient, 'kept', 'KEYS_ONLY');
    await createTable(firstClient, 'dropped', 'KEYS_ONLY');
    await firstClient.send(new PutItemCommand({ TableName: 'kept', Item: { pk: { S: 'a' } } }));
    await firstClient.send(new PutItemCommand({ TableName: 'dropped', Item: { pk: { S: 'b' } } }));
    const highest = sequenceNumbers(first.streams.read('dropped'))[0]!;
    await firstClient.send(new DeleteTableCommand({ TableName: 'dropped' }));
    firstClient.destroy();
    await first.close();

    const second = await start();
    const client = clientFor(second.endpoint);
    await client.send(new PutItemCommand({ TableName: 'kept', Item: { pk: { S: 'c' } } }));
    client.destroy();

    const [, latest] = sequenceNumbers(second.streams.read('kept'));
    expect(BigInt(latest!)).toBeGreaterThan(BigInt(highest));
  });
});
