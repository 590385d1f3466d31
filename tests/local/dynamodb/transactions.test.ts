import {
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactGetItemsCommand,
  TransactionCanceledException,
  type TransactWriteItem,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamo, startLocalDynamo } from '../../../local/dynamodb';
import { clientFor, createTable, sequenceNumbers, strictlyIncreasing, tapStream } from './helpers';

const TABLE = 'workflow-state';

/** The design's first invariant: a session and its strategy lock are taken in one transaction. */
function startSession(runId: string, strategyId: string): TransactWriteItem[] {
  return [
    {
      Put: {
        TableName: TABLE,
        Item: { pk: { S: `strategy#${strategyId}` }, active_run_id: { S: runId } },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
    {
      Put: {
        TableName: TABLE,
        Item: { pk: { S: runId }, strategy_id: { S: strategyId }, status: { S: 'pending' } },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
  ];
}

async function itemOf(client: DynamoDBClient, pk: string) {
  const { Item } = await client.send(
    new GetItemCommand({ TableName: TABLE, Key: { pk: { S: pk } }, ConsistentRead: true }),
  );
  return Item;
}

async function cancellationOf(promise: Promise<unknown>): Promise<TransactionCanceledException> {
  const error = await promise.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(TransactionCanceledException);
  return error as TransactionCanceledException;
}

describe('LocalDynamo: transactions', () => {
  let dynamo: LocalDynamo;
  let client: DynamoDBClient;

  beforeAll(async () => {
    dynamo = await startLocalDynamo({ ttlSweepIntervalMs: 0 });
    client = clientFor(dynamo.endpoint);
    await createTable(client, TABLE, 'NEW_AND_OLD_IMAGES');
  });

  afterAll(async () => {
    client?.destroy();
    await dynamo?.close();
  });

  it('commits every action and then emits one record per changed item', async () => {
    await client.send(
      new PutItemCommand({ TableName: TABLE, Item: { pk: { S: 'old-run' }, status: { S: 'running' } } }),
    );
    const committedSince = tapStream(dynamo.streams, TABLE);

    await client.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          ...startSession('run-a', 'alpha'),
          {
            Update: {
              TableName: TABLE,
              Key: { pk: { S: 'old-run' } },
              UpdateExpression: 'SET #status = :stopped',
              ConditionExpression: '#status = :running',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: { ':stopped': { S: 'stopped' }, ':running': { S: 'running' } },
            },
          },
          {
            ConditionCheck: {
              TableName: TABLE,
              Key: { pk: { S: 'nobody' } },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          { Delete: { TableName: TABLE, Key: { pk: { S: 'never-there' } } } },
          { Put: { TableName: TABLE, Item: { pk: { S: 'run-a-metrics' } } } },
        ],
      }),
    );
    const records = committedSince();

    expect(records.map((record) => [record.eventName, record.dynamodb?.Keys?.pk?.S])).toEqual([
      ['INSERT', 'strategy#alpha'],
      ['INSERT', 'run-a'],
      ['MODIFY', 'old-run'],
      ['INSERT', 'run-a-metrics'],
    ]);
    expect(records[2]?.dynamodb?.OldImage?.status).toEqual({ S: 'running' });
    expect(records[2]?.dynamodb?.NewImage?.status).toEqual({ S: 'stopped' });
    expect(strictlyIncreasing(sequenceNumbers(records))).toBe(true);
    expect(await itemOf(client, 'strategy#alpha')).toEqual({
      pk: { S: 'strategy#alpha' },
      active_run_id: { S: 'run-a' },
    });
    expect(await itemOf(client, 'nobody')).toBeUndefined();
  });

  it('cancels as a whole: leaves every item unchanged, emits nothing, and names each reason', async () => {
    await client.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: { pk: { S: 'strategy#beta' }, active_run_id: { S: 'run-b1' } },
      }),
    );
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: 'keep' }, v: { N: '1' } } }));
    const recordsBefore = dynamo.streams.read(TABLE);

    const error = await cancellationOf(
      client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: TABLE, Item: { pk: { S: 'keep' }, v: { N: '2' } } } },
            { Put: { TableName: TABLE, Item: { pk: { S: 'run-b2' } } } },
            {
              Put: {
                TableName: TABLE,
                Item: { pk: { S: 'strategy#beta' }, active_run_id: { S: 'run-b2' } },
                ConditionExpression: 'attribute_not_exists(pk)',
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
            {
              Delete: {
                TableName: TABLE,
                Key: { pk: { S: 'keep-2' } },
                ConditionExpression: 'attribute_exists(pk)',
              },
            },
          ],
        }),
      ),
    );

    expect(error.CancellationReasons?.map((reason) => reason.Code)).toEqual([
      'None',
      'None',
      'ConditionalCheckFailed',
      'ConditionalCheckFailed',
    ]);
    expect(error.CancellationReasons?.[2]?.Item).toEqual({
      pk: { S: 'strategy#beta' },
      active_run_id: { S: 'run-b1' },
    });
    expect(error.CancellationReasons?.[3]?.Item).toBeUndefined();
    expect(error.message).toBe(
      'Transaction cancelled, please refer cancellation reasons for specific reasons [None, None, ConditionalCheckFailed, ConditionalCheckFailed]',
    );
    expect(await itemOf(client, 'keep')).toEqual({ pk: { S: 'keep' }, v: { N: '1' } });
    expect(await itemOf(client, 'run-b2')).toBeUndefined();
    expect(dynamo.streams.read(TABLE)).toEqual(recordsBefore);
  });

  it('rolls back the actions already applied when a later one fails on its data', async () => {
    await client.send(
      new PutItemCommand({ TableName: TABLE, Item: { pk: { S: 'counter' }, n: { S: 'not a number' } } }),
    );
    await client.send(
      new PutItemCommand({ TableName: TABLE, Item: { pk: { S: 'applied-first' }, v: { N: '1' } } }),
    );
    const recordsBefore = dynamo.streams.read(TABLE);

    const error = await cancellationOf(
      client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: TABLE, Item: { pk: { S: 'applied-first' }, v: { N: '2' } } } },
            { Put: { TableName: TABLE, Item: { pk: { S: 'created-first' } } } },
            {
              Update: {
                TableName: TABLE,
                Key: { pk: { S: 'counter' } },
                UpdateExpression: 'SET n = n + :one',
                ExpressionAttributeValues: { ':one': { N: '1' } },
              },
            },
          ],
        }),
      ),
    );

    expect(error.CancellationReasons?.map((reason) => reason.Code)).toEqual([
      'None',
      'None',
      'ValidationError',
    ]);
    expect(await itemOf(client, 'applied-first')).toEqual({ pk: { S: 'applied-first' }, v: { N: '1' } });
    expect(await itemOf(client, 'created-first')).toBeUndefined();
    expect(dynamo.streams.read(TABLE)).toEqual(recordsBefore);
  });

  it('lets exactly one of 100 concurrent transactions from separate clients take the same lock', async () => {
    const clients = Array.from({ length: 100 }, () => clientFor(dynamo.endpoint));
    const committedSince = tapStream(dynamo.streams, TABLE);

    const outcomes = await Promise.allSettled(
      clients.map((racer, index) =>
        racer.send(new TransactWriteItemsCommand({ TransactItems: startSession(`race-${index}`, 'gamma') })),
      ),
    );
    for (const racer of clients) racer.destroy();

    const winners = outcomes.flatMap((outcome, index) =>
      outcome.status === 'fulfilled' ? [`race-${index}`] : [],
    );
    expect(winners).toHaveLength(1);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') {
        expect(outcome.reason).toBeInstanceOf(TransactionCanceledException);
        expect((outcome.reason as TransactionCanceledException).CancellationReasons?.[0]?.Code).toBe(
          'ConditionalCheckFailed',
        );
      }
    }
    expect(await itemOf(client, 'strategy#gamma')).toEqual({
      pk: { S: 'strategy#gamma' },
      active_run_id: { S: winners[0]! },
    });
    const records = committedSince();
    expect(records.map((record) => record.dynamodb?.Keys?.pk?.S)).toEqual(['strategy#gamma', winners[0]]);
  });

  it('never lets a GetItem see half a transaction (a lock whose session is missing, which the sweep frees as orphaned)', async () => {
    // Prepare: 10 starts, each a lock, 20 account leases and the session in one transaction (the lock
    // written first, the session last); two readers that, as the sweep does, read each lock and then the
    // session it names, polling while the transactions commit.
    const reader = clientFor(dynamo.endpoint);
    const runs = Array.from({ length: 10 }, (_, index) => ({
      runId: `torn-run-${index}`,
      strategy: `torn-${index}`,
    }));
    const startWithLeases = (runId: string, strategy: string): TransactWriteItem[] => {
      const [lock, session] = startSession(runId, strategy);
      const leases = Array.from({ length: 20 }, (_, pair) => ({
        Put: { TableName: TABLE, Item: { pk: { S: `lease#${strategy}#${pair}` }, holder: { S: runId } } },
      }));
      return [lock as TransactWriteItem, ...leases, session as TransactWriteItem];
    };
    const torn: string[] = [];
    let writing = true;
    const watch = async () => {
      while (writing) {
        for (const { runId, strategy } of runs) {
          const lock = await itemOf(reader, `strategy#${strategy}`);
          if (lock !== undefined && (await itemOf(reader, runId)) === undefined) torn.push(runId);
        }
      }
    };

    // Act
    const watching = Promise.all([watch(), watch()]);
    await Promise.all(
      runs.map(({ runId, strategy }) =>
        client.send(new TransactWriteItemsCommand({ TransactItems: startWithLeases(runId, strategy) })),
      ),
    );
    writing = false;
    await watching;
    reader.destroy();

    // Assess: in DynamoDB a GetItem is serializable with transactions: it sees both items or neither.
    expect(torn).toEqual([]);
  });

  it("keeps each item's records a consistent chain of images under concurrent transactions and writes", async () => {
    await client.send(
      new PutItemCommand({ TableName: TABLE, Item: { pk: { S: 'counter-chain' }, n: { N: '0' } } }),
    );
    const clients = Array.from({ length: 20 }, () => clientFor(dynamo.endpoint));
    const increment = {
      TableName: TABLE,
      Key: { pk: { S: 'counter-chain' } },
      UpdateExpression: 'ADD n :one',
      ExpressionAttributeValues: { ':one': { N: '1' } },
    };
    const committedSince = tapStream(dynamo.streams, TABLE);

    await Promise.all(
      clients.map((writer, index) =>
        index % 2 === 0
          ? writer.send(
              new TransactWriteItemsCommand({
                TransactItems: [
                  { Update: increment },
                  { Put: { TableName: TABLE, Item: { pk: { S: `chain-${index}` } } } },
                ],
              }),
            )
          : writer.send(new UpdateItemCommand(increment)),
      ),
    );
    for (const writer of clients) writer.destroy();
    const counterRecords = committedSince().filter(
      (record) => record.dynamodb?.Keys?.pk?.S === 'counter-chain',
    );

    expect(counterRecords.map((record) => record.dynamodb?.NewImage?.n?.N)).toEqual(
      Array.from({ length: 20 }, (_, index) => String(index + 1)),
    );
    counterRecords.forEach((record, index) => {
      expect(record.dynamodb?.OldImage?.n?.N).toBe(String(index));
    });
  });

  it('refuses two actions on the same item, and more than 100 actions', async () => {
    const twice = await client
      .send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: TABLE, Item: { pk: { S: 'twice' } } } },
            { Delete: { TableName: TABLE, Key: { pk: { S: 'twice' } } } },
          ],
        }),
      )
      .catch((error: unknown) => error);
    const tooMany = await client
      .send(
        new TransactWriteItemsCommand({
          TransactItems: Array.from({ length: 101 }, (_, index) => ({
            Put: { TableName: TABLE, Item: { pk: { S: `many-${index}` } } },
          })),
        }),
      )
      .catch((error: unknown) => error);

    expect(twice).toMatchObject({
      name: 'ValidationException',
      message: 'Transaction request cannot include multiple operations on one item',
    });
    expect(tooMany).toMatchObject({ name: 'ValidationException' });
    expect(await itemOf(client, 'twice')).toBeUndefined();
    expect(await itemOf(client, 'many-0')).toBeUndefined();
  });

  it('reads several items consistently with TransactGetItems', async () => {
    await client.send(
      new PutItemCommand({ TableName: TABLE, Item: { pk: { S: 'get-1' }, v: { N: '1' }, w: { S: 'x' } } }),
    );

    const { Responses } = await client.send(
      new TransactGetItemsCommand({
        TransactItems: [
          { Get: { TableName: TABLE, Key: { pk: { S: 'get-1' } }, ProjectionExpression: 'v' } },
          { Get: { TableName: TABLE, Key: { pk: { S: 'get-missing' } } } },
        ],
      }),
    );

    expect(Responses).toEqual([{ Item: { v: { N: '1' } } }, {}]);
  });
});
