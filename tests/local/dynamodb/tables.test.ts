import {
  DeleteTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  PutItemCommand,
  ResourceNotFoundException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamo, startLocalDynamo } from '../../../local/dynamodb';
import type { TableResource } from '../../../local/serverless/config';
import { createTableFromResource, TableOutOfDateError } from '../../../local/serverless/tables';
import { clientFor, createTable } from './helpers';

describe('LocalDynamo: tables', () => {
  let dynamo: LocalDynamo;
  let client: DynamoDBClient;

  beforeAll(async () => {
    dynamo = await startLocalDynamo({ ttlSweepIntervalMs: 0 });
    client = clientFor(dynamo.endpoint);
  });

  afterAll(async () => {
    client?.destroy();
    await dynamo?.close();
  });

  it('reports the stream specification and latest stream ARN in DescribeTable', async () => {
    await createTable(client, 'described', 'NEW_AND_OLD_IMAGES');

    const { Table } = await client.send(new DescribeTableCommand({ TableName: 'described' }));

    expect(Table?.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' });
    expect(Table?.LatestStreamArn).toBe(dynamo.streams.streamArn('described'));
    expect(Table?.LatestStreamArn).toBe(
      `arn:aws:dynamodb:us-east-1:000000000000:table/described/stream/${Table?.LatestStreamLabel}`,
    );
    expect(Table?.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
  });

  it('enables and disables a stream with UpdateTable', async () => {
    await createTable(client, 'toggled');

    const enabled = await client.send(
      new UpdateTableCommand({
        TableName: 'toggled',
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'KEYS_ONLY' },
      }),
    );
    const again = await client
      .send(
        new UpdateTableCommand({
          TableName: 'toggled',
          StreamSpecification: { StreamEnabled: true, StreamViewType: 'KEYS_ONLY' },
        }),
      )
      .catch((error: unknown) => error);
    await client.send(new PutItemCommand({ TableName: 'toggled', Item: { pk: { S: 'a' } } }));
    const disabled = await client.send(
      new UpdateTableCommand({ TableName: 'toggled', StreamSpecification: { StreamEnabled: false } }),
    );
    await client.send(new PutItemCommand({ TableName: 'toggled', Item: { pk: { S: 'b' } } }));

    expect(enabled.TableDescription?.StreamSpecification).toEqual({
      StreamEnabled: true,
      StreamViewType: 'KEYS_ONLY',
    });
    expect(again).toMatchObject({ name: 'ValidationException' });
    expect(disabled.TableDescription?.StreamSpecification).toBeUndefined();
    expect(disabled.TableDescription?.LatestStreamArn).toBe(enabled.TableDescription?.LatestStreamArn);
    expect(dynamo.streams.streamArn('toggled')).toBeUndefined();
    expect(dynamo.streams.read('toggled').map((record) => record.dynamodb?.Keys?.pk?.S)).toEqual(['a']);
  });

  it('sets and describes time to live per table', async () => {
    await createTable(client, 'expiring');

    const before = await client.send(new DescribeTimeToLiveCommand({ TableName: 'expiring' }));
    const updated = await client.send(
      new UpdateTimeToLiveCommand({
        TableName: 'expiring',
        TimeToLiveSpecification: { Enabled: true, AttributeName: 'ttl' },
      }),
    );
    const after = await client.send(new DescribeTimeToLiveCommand({ TableName: 'expiring' }));
    const missing = await client
      .send(new DescribeTimeToLiveCommand({ TableName: 'no-such-table' }))
      .catch((error: unknown) => error);

    expect(before.TimeToLiveDescription).toEqual({ TimeToLiveStatus: 'DISABLED' });
    expect(updated.TimeToLiveSpecification).toEqual({ Enabled: true, AttributeName: 'ttl' });
    expect(after.TimeToLiveDescription).toEqual({ TimeToLiveStatus: 'ENABLED', AttributeName: 'ttl' });
    expect(missing).toBeInstanceOf(ResourceNotFoundException);
  });

  it('forgets a deleted table, so a new table of that name starts without its stream or records', async () => {
    await createTable(client, 'recreated', 'NEW_IMAGE');
    await client.send(new PutItemCommand({ TableName: 'recreated', Item: { pk: { S: 'a' } } }));
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: 'recreated',
        TimeToLiveSpecification: { Enabled: true, AttributeName: 'ttl' },
      }),
    );

    await client.send(new DeleteTableCommand({ TableName: 'recreated' }));
    await createTable(client, 'recreated');

    const { Table } = await client.send(new DescribeTableCommand({ TableName: 'recreated' }));
    const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: 'recreated' }));
    expect(Table?.StreamSpecification).toBeUndefined();
    expect(Table?.LatestStreamArn).toBeUndefined();
    expect(ttl.TimeToLiveDescription?.TimeToLiveStatus).toBe('DISABLED');
    expect(dynamo.streams.streamArn('recreated')).toBeUndefined();
    expect(dynamo.streams.read('recreated')).toEqual([]);
  });

  it('refuses a table kept from an earlier run that lacks an index serverless.yml now declares, naming it (the first Query of the index failed at run time instead)', async () => {
    // prepare: the table as an earlier serverless.yml declared it, then the same table with a new index
    const index = (name: string, attribute: string) => ({
      IndexName: name,
      KeySchema: [{ AttributeName: attribute, KeyType: 'HASH' as const }],
      Projection: { ProjectionType: 'KEYS_ONLY' as const },
    });
    const earlier: TableResource['Properties'] = {
      TableName: 'kept-from-earlier',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'a', AttributeType: 'S' },
        { AttributeName: 'b', AttributeType: 'S' },
      ],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [index('by-a-index', 'a')],
    };
    const now = { ...earlier, GlobalSecondaryIndexes: [index('by-a-index', 'a'), index('by-b-index', 'b')] };
    await createTableFromResource(client, earlier);

    // act
    const again = await createTableFromResource(client, earlier);
    const refused = await createTableFromResource(client, now).catch((error: unknown) => error);

    // assess
    expect(again).toEqual({ table: 'kept-from-earlier', created: false });
    expect(refused).toBeInstanceOf(TableOutOfDateError);
    expect((refused as TableOutOfDateError).missingIndexes).toEqual(['by-b-index']);
    expect((refused as Error).message).toMatch(/kept-from-earlier exists without by-b-index.*new data dir/);
  });
});
