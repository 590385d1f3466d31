import {
  CreateTableCommand,
  DynamoDBClient,
  type StreamViewType,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { StreamHub } from '../../../local/dynamodb';

export const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

export function clientFor(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: 'us-east-1', credentials });
}

export async function createTable(
  client: DynamoDBClient,
  tableName: string,
  viewType?: StreamViewType,
): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      ...(viewType === undefined
        ? {}
        : { StreamSpecification: { StreamEnabled: true, StreamViewType: viewType } }),
    }),
  );
  await waitUntilTableExists({ client, maxWaitTime: 10, minDelay: 1, maxDelay: 1 }, { TableName: tableName });
}

/**
 * Marks the table's stream now; the returned function reads the records committed since. A write's
 * records are published before its answer is sent, so they are there once the write has resolved.
 */
export function tapStream(streams: StreamHub, tableName: string): () => DynamoDBRecord[] {
  const mark = streams.read(tableName).at(-1)?.dynamodb?.SequenceNumber;
  return () => streams.read(tableName, mark);
}

export function sequenceNumbers(records: readonly DynamoDBRecord[]): string[] {
  return records.map((record) => record.dynamodb?.SequenceNumber ?? '');
}

/** Whether each sequence number is greater than the one before, numerically. */
export function strictlyIncreasing(numbers: readonly string[]): boolean {
  return numbers.every((number, index) => index === 0 || BigInt(number) > BigInt(numbers[index - 1]!));
}

/** The first record committed from now on to the table that matches. */
export function nextRecordMatching(
  streams: StreamHub,
  tableName: string,
  matches: (record: DynamoDBRecord) => boolean,
): Promise<DynamoDBRecord> {
  return new Promise((resolve) => {
    const unsubscribe = streams.subscribe(tableName, (record) => {
      if (!matches(record)) return;
      unsubscribe();
      resolve(record);
    });
  });
}
