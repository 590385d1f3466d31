import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamo, startLocalDynamo } from '../../../local/dynamodb';
import { type MotoServer, startMotoServer } from '../../support/moto-server';

/**
 * Our dynalite gateway against moto's DynamoDB, request for request over the wire: the same JSON-protocol
 * calls go to both, and the answers and stream records must agree once the differences below are taken
 * out. Each difference was settled against AWS's documentation:
 *
 * - No-op writes. A PutItem or UpdateItem that leaves the item as it was: moto writes a MODIFY record with
 *   equal images; AWS writes none ("If you perform a PutItem or UpdateItem operation that does not change
 *   any data in an item, DynamoDB Streams does not write a stream record for that operation", DynamoDB
 *   Developer Guide, Change data capture for DynamoDB Streams). The gateway is right; moto's extra records
 *   are dropped before comparing.
 * - eventVersion: moto "1.0", the gateway "1.1", which is what Lambda receives from DynamoDB Streams (the
 *   Developer Guide's and Lambda's sample events). The gateway is right.
 * - ApproximateCreationDateTime: moto sends fractional seconds; AWS documents "UNIX epoch time format and
 *   rounded down to the closest second" (DynamoDB Streams API reference, StreamRecord). The gateway is right.
 * - SizeBytes: moto counts the JSON text of the record (227 bytes for a 2-attribute item); AWS documents only
 *   "the size of the stream record, in bytes" and the gateway counts item sizes by DynamoDB's item-size rules.
 *   Neither can be proven exact without AWS; not compared, written down here.
 * - ConsumedCapacity: moto returns it on UpdateItem unasked; AWS returns it only for
 *   ReturnConsumedCapacity TOTAL or INDEXES (API reference, UpdateItem). Dropped from moto's answers.
 * - Numbers: moto hands back a number as it was sent ("1.50"); AWS trims leading and trailing zeroes ("1.5";
 *   Developer Guide, Supported data types, Number). The gateway (dynalite) is right; moto's numbers are
 *   put in canonical form before comparing.
 * - ItemCollectionMetrics: moto answers an empty one to TransactWriteItems unasked; AWS returns it only
 *   for ReturnItemCollectionMetrics SIZE (API reference, TransactWriteItems). Dropped from moto's answers.
 * - Cancelled transactions: moto hands a reader that is already following the shard a record for a Put
 *   of a TransactWriteItems that was cancelled, then takes it out of the shard, so that reader also skips
 *   the next real record. AWS writes stream records for committed writes only, and a transaction commits
 *   all its items or none (Developer Guide, Amazon DynamoDB Transactions). The gateway is right; this
 *   suite reads moto's shard from TRIM_HORIZON each time, where the phantom record is gone.
 * - Error messages differ in wording; only the error type (`__type` after `#`) and the documented
 *   structured parts (Item, CancellationReasons codes) are compared.
 * - Identifiers (eventID, SequenceNumber, stream labels and shard ids) differ by nature; sequence numbers
 *   are checked to grow on each side instead.
 */

type Answer = { status: number; body: Record<string, unknown> };

const call = async (endpoint: string, target: string, body: unknown): Promise<Answer> => {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': target,
      'x-amz-date': '20260101T000000Z',
      authorization:
        'AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
    },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  try {
    return {
      status: response.status,
      body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
    };
  } catch {
    throw new Error(
      `${endpoint} answered ${target} with ${response.status} and no JSON: ${text.slice(0, 200)}`,
    );
  }
};

type StreamRecordWire = {
  eventName: string;
  eventVersion: string;
  eventSource: string;
  awsRegion: string;
  dynamodb: {
    ApproximateCreationDateTime: number;
    Keys: unknown;
    NewImage?: unknown;
    OldImage?: unknown;
    SequenceNumber: string;
    SizeBytes: number;
    StreamViewType: string;
  };
};

class Side {
  readonly #endpoint: string;
  #seen = 0;

  constructor(endpoint: string) {
    this.#endpoint = endpoint;
  }

  dynamo = (operation: string, body: unknown) => call(this.#endpoint, `DynamoDB_20120810.${operation}`, body);
  streams = (operation: string, body: unknown) =>
    call(this.#endpoint, `DynamoDBStreams_20120810.${operation}`, body);

  /**
   * Records committed since the last call. The shard is read from TRIM_HORIZON each time rather than
   * through a kept iterator: moto shows a live iterator the Put of a cancelled transaction and then
   * skips the next real record (see the note above), which would shift every later comparison.
   */
  async newRecords(table: string): Promise<StreamRecordWire[]> {
    const described = await this.dynamo('DescribeTable', { TableName: table });
    const streamArn = (described.body.Table as { LatestStreamArn: string }).LatestStreamArn;
    const stream = await this.streams('DescribeStream', { StreamArn: streamArn });
    const [shard] = (stream.body.StreamDescription as { Shards: { ShardId: string }[] }).Shards;
    const iterator = await this.streams('GetShardIterator', {
      StreamArn: streamArn,
      ShardId: shard?.ShardId,
      ShardIteratorType: 'TRIM_HORIZON',
    });
    const records: StreamRecordWire[] = [];
    let next = iterator.body.ShardIterator as string | undefined;
    // Bounded: a few pages cover every record these scenarios write.
    for (let page = 0; page < 20 && next !== undefined; page += 1) {
      const answer = await this.streams('GetRecords', { ShardIterator: next });
      const batch = answer.body.Records as StreamRecordWire[];
      records.push(...batch);
      if (batch.length === 0) break;
      next = answer.body.NextShardIterator as string | undefined;
    }
    const fresh = records.slice(this.#seen);
    this.#seen = records.length;
    return fresh;
  }
}

/** DynamoDB's canonical number text: no leading or trailing zeroes, no exponent for small magnitudes. */
const canonicalNumber = (text: string) => {
  const [whole = '0', fraction = ''] = text.replace(/^([+-]?)0+(?=\d)/, '$1').split('.');
  const trimmed = fraction.replace(/0+$/, '');
  const value = trimmed === '' ? whole : `${whole}.${trimmed}`;
  return value === '-0' ? '0' : value;
};

/** moto's answers with its numbers in canonical form (see the note on numbers above). */
const canonicalNumbers = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(canonicalNumbers);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [
      key,
      key === 'N' && typeof inner === 'string'
        ? canonicalNumber(inner)
        : key === 'NS' && Array.isArray(inner)
          ? inner.map((item) => canonicalNumber(String(item)))
          : canonicalNumbers(inner),
    ]),
  );
};

const errorType = (answer: Answer) =>
  String(answer.body.__type ?? '')
    .split('#')
    .at(-1);

/** What both must agree on, from one answer. */
const comparableAnswer = (answer: Answer) => {
  if (answer.status !== 200) {
    const reasons = answer.body.CancellationReasons as { Code: string; Item?: unknown }[] | undefined;
    return {
      status: answer.status,
      error: errorType(answer),
      item: answer.body.Item,
      reasons: reasons?.map(({ Code, Item }) => ({ Code, Item })),
    };
  }
  const { ConsumedCapacity: _unasked, ItemCollectionMetrics: metrics, ...rest } = answer.body;
  const askedMetrics =
    typeof metrics === 'object' && metrics !== null && Object.keys(metrics).length > 0
      ? { ItemCollectionMetrics: metrics }
      : {};
  return { status: answer.status, ...rest, ...askedMetrics };
};

const comparableRecords = (records: StreamRecordWire[], { dropNoOps }: { dropNoOps: boolean }) =>
  records
    .filter(
      (record) =>
        !(
          dropNoOps &&
          record.eventName === 'MODIFY' &&
          isDeepStrictEqual(record.dynamodb.OldImage, record.dynamodb.NewImage)
        ),
    )
    .map((record) => ({
      eventName: record.eventName,
      eventSource: record.eventSource,
      awsRegion: record.awsRegion,
      Keys: record.dynamodb.Keys,
      NewImage: record.dynamodb.NewImage,
      OldImage: record.dynamodb.OldImage,
      StreamViewType: record.dynamodb.StreamViewType,
    }));

const TABLE = {
  TableName: 'parity',
  AttributeDefinitions: [
    { AttributeName: 'run_id', AttributeType: 'S' },
    { AttributeName: 'status', AttributeType: 'S' },
    { AttributeName: 'created_at', AttributeType: 'S' },
  ],
  KeySchema: [{ AttributeName: 'run_id', KeyType: 'HASH' }],
  BillingMode: 'PAY_PER_REQUEST',
  GlobalSecondaryIndexes: [
    {
      IndexName: 'status-index',
      // With a sort key, as our status index has: without one, the order inside a partition is unspecified.
      KeySchema: [
        { AttributeName: 'status', KeyType: 'HASH' },
        { AttributeName: 'created_at', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    },
  ],
  StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
};

const session = (runId: string, status: string, version: number) => ({
  run_id: { S: runId },
  status: { S: status },
  version: { N: String(version) },
  created_at: { S: `2026-01-01T00:00:0${version}.000Z` },
  tags: { L: [{ S: 'a' }, { N: '1.50' }] },
});

/** One scenario: the same requests to both sides, in order. */
type Step = [operation: string, body: unknown];

const SCENARIOS: Record<string, Step[]> = {
  'put, identical put, no-op update, real update, delete, delete of nothing': [
    ['PutItem', { TableName: 'parity', Item: session('run-1', 'pending', 1) }],
    ['PutItem', { TableName: 'parity', Item: session('run-1', 'pending', 1) }],
    [
      'UpdateItem',
      {
        TableName: 'parity',
        Key: { run_id: { S: 'run-1' } },
        UpdateExpression: 'SET #s = :s',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': { S: 'pending' } },
      },
    ],
    [
      'UpdateItem',
      {
        TableName: 'parity',
        Key: { run_id: { S: 'run-1' } },
        UpdateExpression: 'SET #s = :s ADD version :one REMOVE tags',
        ConditionExpression: '#s = :from',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: {
          ':s': { S: 'launching' },
          ':from': { S: 'pending' },
          ':one': { N: '1' },
        },
        ReturnValues: 'ALL_NEW',
      },
    ],
    ['DeleteItem', { TableName: 'parity', Key: { run_id: { S: 'run-1' } }, ReturnValues: 'ALL_OLD' }],
    ['DeleteItem', { TableName: 'parity', Key: { run_id: { S: 'run-1' } }, ReturnValues: 'ALL_OLD' }],
  ],
  'a refused conditional write hands back the current item with ALL_OLD and writes no record': [
    ['PutItem', { TableName: 'parity', Item: session('run-2', 'running', 3) }],
    [
      'PutItem',
      {
        TableName: 'parity',
        Item: session('run-2', 'pending', 1),
        ConditionExpression: 'attribute_not_exists(run_id)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    ],
    [
      'UpdateItem',
      {
        TableName: 'parity',
        Key: { run_id: { S: 'run-2' } },
        UpdateExpression: 'SET #s = :s',
        ConditionExpression: '#s = :from',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': { S: 'paused' }, ':from': { S: 'pending' } },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    ],
    [
      'UpdateItem',
      {
        TableName: 'parity',
        Key: { run_id: { S: 'run-2' } },
        UpdateExpression: 'SET #s = :s',
        ConditionExpression: '#s = :from',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': { S: 'paused' }, ':from': { S: 'pending' } },
      },
    ],
  ],
  'a transaction commits every item or none, naming the refused one with its item': [
    [
      'TransactWriteItems',
      {
        TransactItems: [
          {
            Put: {
              TableName: 'parity',
              Item: session('run-3', 'pending', 1),
              ConditionExpression: 'attribute_not_exists(run_id)',
            },
          },
          {
            Put: {
              TableName: 'parity',
              Item: session('lock#s3', 'lock', 1),
              ConditionExpression: 'attribute_not_exists(run_id)',
            },
          },
        ],
      },
    ],
    [
      'TransactWriteItems',
      {
        TransactItems: [
          {
            Put: {
              TableName: 'parity',
              Item: session('run-4', 'pending', 1),
              ConditionExpression: 'attribute_not_exists(run_id)',
            },
          },
          {
            Put: {
              TableName: 'parity',
              Item: session('lock#s3', 'lock', 2),
              ConditionExpression: 'attribute_not_exists(run_id)',
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            },
          },
        ],
      },
    ],
    [
      'TransactWriteItems',
      {
        TransactItems: [
          {
            Update: {
              TableName: 'parity',
              Key: { run_id: { S: 'run-3' } },
              UpdateExpression: 'SET #s = :s',
              ExpressionAttributeNames: { '#s': 'status' },
              ExpressionAttributeValues: { ':s': { S: 'launching' } },
            },
          },
          { Delete: { TableName: 'parity', Key: { run_id: { S: 'lock#s3' } } } },
          {
            ConditionCheck: {
              TableName: 'parity',
              Key: { run_id: { S: 'run-4' } },
              ConditionExpression: 'attribute_not_exists(run_id)',
            },
          },
        ],
      },
    ],
    ['GetItem', { TableName: 'parity', Key: { run_id: { S: 'run-4' } }, ConsistentRead: true }],
  ],
  'a refused transaction names every item: None for the others, ConditionalCheckFailed with the item asked for':
    [
      ['PutItem', { TableName: 'parity', Item: session('tx-a', 'running', 2) }],
      ['PutItem', { TableName: 'parity', Item: session('tx-b', 'running', 5) }],
      [
        'TransactWriteItems',
        {
          TransactItems: [
            {
              Update: {
                TableName: 'parity',
                Key: { run_id: { S: 'tx-a' } },
                UpdateExpression: 'SET version = version + :one',
                ConditionExpression: 'version = :two',
                ExpressionAttributeValues: { ':one': { N: '1' }, ':two': { N: '2' } },
              },
            },
            {
              ConditionCheck: {
                TableName: 'parity',
                Key: { run_id: { S: 'tx-b' } },
                ConditionExpression: 'version = :four',
                ExpressionAttributeValues: { ':four': { N: '4' } },
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
            {
              Delete: {
                TableName: 'parity',
                Key: { run_id: { S: 'tx-c' } },
                ConditionExpression: 'attribute_exists(run_id)',
              },
            },
          ],
        },
      ],
      ['GetItem', { TableName: 'parity', Key: { run_id: { S: 'tx-a' } }, ConsistentRead: true }],
    ],
  'reads: consistent get, query on the index, a projected get': [
    ['PutItem', { TableName: 'parity', Item: session('run-5', 'stale', 7) }],
    ['GetItem', { TableName: 'parity', Key: { run_id: { S: 'run-5' } }, ConsistentRead: true }],
    [
      'GetItem',
      {
        TableName: 'parity',
        Key: { run_id: { S: 'run-5' } },
        ProjectionExpression: '#s, version',
        ExpressionAttributeNames: { '#s': 'status' },
      },
    ],
    [
      'Query',
      {
        TableName: 'parity',
        IndexName: 'status-index',
        KeyConditionExpression: '#s = :s',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': { S: 'stale' } },
      },
    ],
    ['GetItem', { TableName: 'parity', Key: { run_id: { S: 'run-none' } } }],
  ],
  'index pages: Limit and ExclusiveStartKey on the GSI, LastEvaluatedKey carrying table and index keys': [
    ['PutItem', { TableName: 'parity', Item: session('page-1', 'paged', 1) }],
    ['PutItem', { TableName: 'parity', Item: session('page-2', 'paged', 2) }],
    ['PutItem', { TableName: 'parity', Item: session('page-3', 'paged', 3) }],
    [
      'Query',
      {
        TableName: 'parity',
        IndexName: 'status-index',
        KeyConditionExpression: '#s = :s',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': { S: 'paged' } },
        Limit: 2,
        ProjectionExpression: 'run_id',
      },
    ],
    [
      'Query',
      {
        TableName: 'parity',
        IndexName: 'status-index',
        KeyConditionExpression: '#s = :s',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': { S: 'paged' } },
        Select: 'COUNT',
      },
    ],
  ],
  'updates answer what they were asked for: UPDATED_OLD, UPDATED_NEW, ALL_OLD of a delete refused': [
    ['PutItem', { TableName: 'parity', Item: session('run-6', 'running', 1) }],
    [
      'UpdateItem',
      {
        TableName: 'parity',
        Key: { run_id: { S: 'run-6' } },
        UpdateExpression: 'SET #s = :s, heartbeat_seq = if_not_exists(heartbeat_seq, :zero) + :one',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': { S: 'paused' }, ':zero': { N: '0' }, ':one': { N: '1' } },
        ReturnValues: 'UPDATED_OLD',
      },
    ],
    [
      'UpdateItem',
      {
        TableName: 'parity',
        Key: { run_id: { S: 'run-6' } },
        UpdateExpression: 'SET risk = :risk, heartbeat_seq = heartbeat_seq + :one',
        ExpressionAttributeValues: {
          ':risk': { M: { state: { S: 'ok' }, breaches: { L: [] } } },
          ':one': { N: '1' },
        },
        ReturnValues: 'UPDATED_NEW',
      },
    ],
    [
      'DeleteItem',
      {
        TableName: 'parity',
        Key: { run_id: { S: 'run-6' } },
        ConditionExpression: 'attribute_not_exists(run_id)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    ],
  ],
  'refusals of malformed requests have the same error type and write nothing': [
    ['PutItem', { TableName: 'parity', Item: { run_id: { S: '' } } }],
    ['PutItem', { TableName: 'parity', Item: { status: { S: 'x' } } }],
    [
      'UpdateItem',
      {
        TableName: 'parity',
        Key: { run_id: { S: 'run-7' } },
        UpdateExpression: 'SET a = :v',
        ExpressionAttributeValues: { ':v': { S: 'x' }, ':unused': { S: 'y' } },
      },
    ],
    [
      'TransactWriteItems',
      {
        TransactItems: [
          { Put: { TableName: 'parity', Item: session('twice', 'pending', 1) } },
          {
            Update: {
              TableName: 'parity',
              Key: { run_id: { S: 'twice' } },
              UpdateExpression: 'SET a = :v',
              ExpressionAttributeValues: { ':v': { S: 'x' } },
            },
          },
        ],
      },
    ],
    ['GetItem', { TableName: 'missing-table', Key: { run_id: { S: 'x' } } }],
    ['PutItem', { TableName: 'parity', Item: { run_id: { S: 'big' }, blob: { S: 'x'.repeat(400 * 1024) } } }],
  ],
};

describe('LocalDynamo against moto: the same requests give the same answers and stream records', () => {
  let local: LocalDynamo;
  let moto: MotoServer;
  let ours: Side;
  let theirs: Side;
  beforeAll(async () => {
    [local, moto] = await Promise.all([startLocalDynamo({ ttlSweepIntervalMs: 0 }), startMotoServer()]);
    ours = new Side(local.endpoint);
    theirs = new Side(moto.endpoint);
    for (const side of [ours, theirs]) {
      expect((await side.dynamo('CreateTable', TABLE)).status).toBe(200);
      await side.newRecords('parity');
    }
  });
  afterAll(async () => {
    await Promise.all([local?.close(), moto?.close()]);
  });

  it.each(Object.entries(SCENARIOS))('%s', async (_name, steps) => {
    // act
    const answers: { ours: unknown; theirs: unknown }[] = [];
    for (const [operation, body] of steps) {
      answers.push({
        ours: comparableAnswer(await ours.dynamo(operation, body)),
        theirs: canonicalNumbers(comparableAnswer(await theirs.dynamo(operation, body))),
      });
    }
    const ourRecords = await ours.newRecords('parity');
    const theirRecords = await theirs.newRecords('parity');

    // assess
    for (const [index, answer] of answers.entries())
      expect(answer.ours, `step ${index + 1}`).toEqual(answer.theirs);
    expect(comparableRecords(ourRecords, { dropNoOps: false })).toEqual(
      canonicalNumbers(comparableRecords(theirRecords, { dropNoOps: true })),
    );
    for (const record of ourRecords) {
      expect(record.eventVersion).toBe('1.1');
      expect(Number.isInteger(record.dynamodb.ApproximateCreationDateTime)).toBe(true);
    }
    const sequence = ourRecords.map((record) => BigInt(record.dynamodb.SequenceNumber));
    expect([...sequence].sort((a, b) => (a < b ? -1 : 1))).toEqual(sequence);
  });

  /** Where moto is wrong and AWS's documented answer is checked on the gateway alone. */
  it.each([
    {
      // moto 5.2.5 fails with an internal error (500); AWS: "An expression attribute name used in the
      // document path is not defined" (Developer Guide, Expression attribute names).
      name: 'an update expression naming an undefined #name (moto: 500)',
      operation: 'UpdateItem',
      request: {
        TableName: 'parity',
        Key: { run_id: { S: 'run-7' } },
        UpdateExpression: 'SET #missing = :v',
        ExpressionAttributeValues: { ':v': { S: 'x' } },
      },
    },
    {
      // moto stores it; AWS refuses an index key attribute of the wrong type ("Type mismatch for Index
      // Key", API reference, PutItem: "...must match the type of the schema").
      name: 'an item whose index key has the wrong type (moto: stored)',
      operation: 'PutItem',
      request: { TableName: 'parity', Item: { run_id: { S: 'bad-gsi' }, status: { N: '1' } } },
    },
  ])('refuses $name with ValidationException and writes nothing', async ({ operation, request }) => {
    // act
    const answer = await ours.dynamo(operation, request);

    // assess
    expect({ status: answer.status, error: errorType(answer) }).toEqual({
      status: 400,
      error: 'ValidationException',
    });
    expect(await ours.newRecords('parity')).toEqual([]);
  });

  it('turns TTL on alike (moto never expires items: the gateway sweeper is tested in ttl.test.ts)', async () => {
    // act
    const answers = await Promise.all(
      [ours, theirs].map(async (side) => {
        const update = await side.dynamo('UpdateTimeToLive', {
          TableName: 'parity',
          TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
        });
        const described = await side.dynamo('DescribeTimeToLive', { TableName: 'parity' });
        return { update: comparableAnswer(update), described: comparableAnswer(described) };
      }),
    );

    // assess
    expect(answers[0]).toEqual(answers[1]);
  });

  it('serves the Streams API alike: list, describe, iterators at, after and from the horizon, Limit', async () => {
    // prepare: two records on each side
    for (const side of [ours, theirs]) {
      await side.dynamo('PutItem', { TableName: 'parity', Item: session('streams-1', 'streamed', 1) });
      await side.dynamo('PutItem', { TableName: 'parity', Item: session('streams-2', 'streamed', 2) });
      await side.newRecords('parity');
    }

    // act
    const views = await Promise.all(
      [ours, theirs].map(async (side) => {
        const listed = await side.streams('ListStreams', { TableName: 'parity' });
        const [stream] = listed.body.Streams as {
          StreamArn: string;
          TableName: string;
          StreamLabel: string;
        }[];
        const described = await side.streams('DescribeStream', { StreamArn: stream?.StreamArn });
        const description = described.body.StreamDescription as {
          Shards: { ShardId: string; SequenceNumberRange: { StartingSequenceNumber?: string } }[];
        } & Record<string, unknown>;
        const shard = description.Shards[0];
        const iterator = async (type: string, sequenceNumber?: string) =>
          (
            await side.streams('GetShardIterator', {
              StreamArn: stream?.StreamArn,
              ShardId: shard?.ShardId,
              ShardIteratorType: type,
              ...(sequenceNumber === undefined ? {} : { SequenceNumber: sequenceNumber }),
            })
          ).body.ShardIterator as string;
        const all = await side.streams('GetRecords', { ShardIterator: await iterator('TRIM_HORIZON') });
        const records = all.body.Records as StreamRecordWire[];
        const last = records.at(-1)?.dynamodb.SequenceNumber;
        const beforeLast = records.at(-2)?.dynamodb.SequenceNumber;
        const keyOf = (answer: Answer) =>
          (answer.body.Records as StreamRecordWire[]).map((record) => JSON.stringify(record.dynamodb.Keys));
        const first = await side.streams('GetRecords', {
          ShardIterator: await iterator('TRIM_HORIZON'),
          Limit: 1,
        });
        return {
          listed: {
            TableName: stream?.TableName,
            labelled: stream?.StreamArn.endsWith(`/stream/${stream.StreamLabel}`),
          },
          described: {
            keys: Object.keys(description).sort(),
            StreamStatus: description.StreamStatus,
            StreamViewType: description.StreamViewType,
            TableName: description.TableName,
            KeySchema: description.KeySchema,
            shards: description.Shards.length,
            starts: typeof shard?.SequenceNumberRange.StartingSequenceNumber === 'string',
          },
          at: keyOf(
            await side.streams('GetRecords', { ShardIterator: await iterator('AT_SEQUENCE_NUMBER', last) }),
          ),
          after: keyOf(
            await side.streams('GetRecords', {
              ShardIterator: await iterator('AFTER_SEQUENCE_NUMBER', beforeLast),
            }),
          ),
          latest: keyOf(await side.streams('GetRecords', { ShardIterator: await iterator('LATEST') })),
          limited: { count: keyOf(first).length, next: typeof first.body.NextShardIterator === 'string' },
        };
      }),
    );

    // assess
    expect(views[0]).toEqual(views[1]);
    // moto answers 500 to an iterator it never issued; AWS documents ValidationException for a malformed
    // one and ExpiredIteratorException for an old one (Streams API reference, GetRecords).
    const refusal = await ours.streams('GetRecords', { ShardIterator: 'not-an-iterator' });
    expect(['ValidationException', 'ExpiredIteratorException']).toContain(errorType(refusal));
  });

  it('describes the table alike: keys, index, stream view type, billing mode', async () => {
    // act
    const [our, their] = await Promise.all(
      [ours, theirs].map(
        async (side) => (await side.dynamo('DescribeTable', { TableName: 'parity' })).body.Table,
      ),
    );

    // assess
    const shape = (table: unknown) => {
      const t = table as Record<string, unknown> & { GlobalSecondaryIndexes: Record<string, unknown>[] };
      return {
        TableName: t.TableName,
        TableStatus: t.TableStatus,
        KeySchema: t.KeySchema,
        AttributeDefinitions: t.AttributeDefinitions,
        StreamSpecification: t.StreamSpecification,
        BillingMode: (t.BillingModeSummary as { BillingMode?: string } | undefined)?.BillingMode,
        Indexes: t.GlobalSecondaryIndexes.map(({ IndexName, KeySchema, Projection, IndexStatus }) => ({
          IndexName,
          KeySchema,
          Projection,
          IndexStatus,
        })),
        streamed: typeof t.LatestStreamArn === 'string' && typeof t.LatestStreamLabel === 'string',
      };
    };
    expect(shape(our)).toEqual(shape(their));
  });
});
