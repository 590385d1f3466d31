import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamEventSourceMapping, type StreamMappingSettings } from '../../../local/cloud/stream-mapping';
import { startTestDynamo, type TestDynamo } from '../../support/dynamo';

describe('Local cloud: DynamoDB stream event source mapping', () => {
  let test: TestDynamo;
  let dir: string;
  let tableCount = 0;
  beforeAll(async () => {
    test = await startTestDynamo();
    dir = await mkdtemp(join(tmpdir(), 'tradai-esm-'));
  });
  afterAll(async () => {
    await test.close();
    await rm(dir, { recursive: true, force: true });
  });

  const newTable = async () => {
    tableCount += 1;
    const table = `esm-${tableCount}`;
    await test.newClient().send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
      }),
    );
    return table;
  };

  const put = (table: string, id: string, kind = 'session') =>
    test.doc.send(new PutCommand({ TableName: table, Item: { id, kind } }));

  const settingsFor = (
    table: string,
    overrides: Partial<StreamMappingSettings> = {},
  ): StreamMappingSettings => ({
    table,
    functionName: 'test-fn',
    batchSize: 10,
    batchWindowMs: 0,
    filterPatterns: [],
    reportBatchItemFailures: true,
    bisectOnError: true,
    maximumRetryAttempts: 2,
    retryBaseDelayMs: 1,
    ...overrides,
  });

  const idsOf = (event: DynamoDBStreamEvent) => event.Records.map((record) => record.dynamodb?.Keys?.id?.S);

  it('delivers committed changes in order, in batches no larger than the batch size', async () => {
    const table = await newTable();
    const batches: (string | undefined)[][] = [];
    const mapping = new StreamEventSourceMapping(
      test.dynamo.streams,
      settingsFor(table, { batchSize: 3 }),
      async (event) => {
        batches.push(idsOf(event));
      },
      () => undefined,
    );
    await mapping.start('TRIM_HORIZON');

    for (let index = 0; index < 7; index += 1) await put(table, `item-${index}`);
    await mapping.drained();
    await mapping.stop();

    expect(batches.flat()).toEqual(Array.from({ length: 7 }, (_, index) => `item-${index}`));
    expect(Math.max(...batches.map((batch) => batch.length))).toBeLessThanOrEqual(3);
  });

  it('drops records that match no filter pattern without invoking', async () => {
    const table = await newTable();
    const delivered: (string | undefined)[] = [];
    const mapping = new StreamEventSourceMapping(
      test.dynamo.streams,
      settingsFor(table, { filterPatterns: [{ dynamodb: { NewImage: { kind: { S: ['session'] } } } }] }),
      async (event) => {
        delivered.push(...idsOf(event));
      },
      () => undefined,
    );
    await mapping.start('TRIM_HORIZON');

    await put(table, 'a', 'session');
    await put(table, 'b', 'strategy_lock');
    await put(table, 'c', 'session');
    await mapping.drained();
    await mapping.stop();

    expect(delivered).toEqual(['a', 'c']);
  });

  it('isolates a poison record by bisecting, and sends only it to the on-failure destination', async () => {
    const table = await newTable();
    const onFailureFile = join(dir, 'failures.jsonl');
    const succeeded: (string | undefined)[] = [];
    const mapping = new StreamEventSourceMapping(
      test.dynamo.streams,
      settingsFor(table, { reportBatchItemFailures: false, onFailureFile }),
      async (event) => {
        if (idsOf(event).includes('poison')) throw new Error('cannot handle poison');
        succeeded.push(...idsOf(event));
      },
      () => undefined,
    );
    for (const id of ['p1', 'p2', 'poison', 'p3', 'p4']) await put(table, id);

    await mapping.start('TRIM_HORIZON');
    await mapping.drained();
    await mapping.stop();

    expect(succeeded.sort()).toEqual(['p1', 'p2', 'p3', 'p4']);
    const failures = (await readFile(onFailureFile, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(failures).toHaveLength(1);
    expect(failures[0].DDBStreamBatchInfo.batchSize).toBe(1);
    expect(failures[0].requestContext.condition).toBe('RetryAttemptsExhausted');
  });

  it('resumes from the lowest reported item failure and redelivers the records after it', async () => {
    const table = await newTable();
    const attempts: (string | undefined)[][] = [];
    let failOnce = true;
    const mapping = new StreamEventSourceMapping(
      test.dynamo.streams,
      settingsFor(table),
      async (event): Promise<DynamoDBBatchResponse> => {
        attempts.push(idsOf(event));
        const second = event.Records[1];
        if (failOnce && second) {
          failOnce = false;
          return { batchItemFailures: [{ itemIdentifier: second.dynamodb?.SequenceNumber ?? '' }] };
        }
        return { batchItemFailures: [] };
      },
      () => undefined,
    );
    for (const id of ['r1', 'r2', 'r3']) await put(table, id);

    await mapping.start('TRIM_HORIZON');
    await mapping.drained();
    await mapping.stop();

    expect(attempts).toEqual([
      ['r1', 'r2', 'r3'],
      ['r2', 'r3'],
    ]);
  });

  it('reports drained once what was committed before the call is handled, while writes keep coming', async () => {
    const table = await newTable();
    const delivered: (string | undefined)[] = [];
    const mapping = new StreamEventSourceMapping(
      test.dynamo.streams,
      settingsFor(table, { batchSize: 2 }),
      async (event) => {
        delivered.push(...idsOf(event));
      },
      () => undefined,
    );
    await mapping.start('TRIM_HORIZON');
    for (let index = 0; index < 5; index += 1) await put(table, `before-${index}`);
    let writing = true;
    let written = 0;
    const writer = (async () => {
      while (writing && written < 500) {
        await put(table, `during-${written}`);
        written += 1;
      }
    })();

    await mapping.drained();
    const seenAtDrain = [...delivered];
    writing = false;
    await writer;
    await mapping.stop();

    expect(seenAtDrain.slice(0, 5)).toEqual(['before-0', 'before-1', 'before-2', 'before-3', 'before-4']);
  });

  it('keeps its position across a restart through the checkpoint file', async () => {
    const table = await newTable();
    const checkpointFile = join(dir, `${table}.checkpoint`);
    const delivered: (string | undefined)[] = [];
    const invoke = async (event: DynamoDBStreamEvent) => {
      delivered.push(...idsOf(event));
    };
    const first = new StreamEventSourceMapping(
      test.dynamo.streams,
      settingsFor(table, { checkpointFile }),
      invoke,
      () => undefined,
    );
    await first.start('TRIM_HORIZON');
    await put(table, 'before');
    await first.drained();
    await first.stop();

    await put(table, 'while-down');
    const second = new StreamEventSourceMapping(
      test.dynamo.streams,
      settingsFor(table, { checkpointFile }),
      invoke,
      () => undefined,
    );
    await second.start('LATEST');
    await second.drained();
    await second.stop();

    expect(delivered).toEqual(['before', 'while-down']);
  });
});
