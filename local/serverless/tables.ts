import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import type { TableResource } from './config';

export type TableCreation = { table: string; created: boolean };

/**
 * A table kept from an earlier run (a local data dir) lacks an index serverless.yml now declares. The
 * embedded DynamoDB cannot add an index to an existing table (dynalite's UpdateTable does throughput only),
 * and the code would fail on its first Query of that index: refused at start, naming what to do.
 */
export class TableOutOfDateError extends Error {
  readonly missingIndexes: string[];

  constructor(table: string, missingIndexes: string[]) {
    super(
      `table ${table} exists without ${missingIndexes.join(', ')} (serverless.yml declares it): ` +
        'start with a new data dir (or --memory); the embedded DynamoDB cannot add an index to a table',
    );
    this.name = 'TableOutOfDateError';
    this.missingIndexes = missingIndexes;
  }
}

const missingIndexesOf = async (
  client: DynamoDBClient,
  properties: TableResource['Properties'],
): Promise<string[]> => {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: properties.TableName }));
  const existing = new Set((Table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
  return (properties.GlobalSecondaryIndexes ?? [])
    .map((index) => index.IndexName)
    .filter((name) => !existing.has(name));
};

/**
 * Creates one table exactly as its CloudFormation properties describe it; an existing table is left alone,
 * unless it lacks a declared index (TableOutOfDateError).
 */
export const createTableFromResource = async (
  client: DynamoDBClient,
  properties: TableResource['Properties'],
): Promise<TableCreation> => {
  const table = properties.TableName;
  try {
    await client.send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: properties.AttributeDefinitions,
        KeySchema: properties.KeySchema,
        BillingMode: properties.BillingMode ?? 'PAY_PER_REQUEST',
        GlobalSecondaryIndexes: properties.GlobalSecondaryIndexes,
        StreamSpecification: properties.StreamSpecification
          ? { StreamEnabled: true, StreamViewType: properties.StreamSpecification.StreamViewType }
          : undefined,
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
    const missing = await missingIndexesOf(client, properties);
    if (missing.length > 0) throw new TableOutOfDateError(table, missing);
    return { table, created: false };
  }
  await waitUntilTableExists({ client, maxWaitTime: 60, minDelay: 1 }, { TableName: table });
  if (properties.TimeToLiveSpecification?.Enabled) {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: table,
        TimeToLiveSpecification: {
          AttributeName: properties.TimeToLiveSpecification.AttributeName,
          Enabled: true,
        },
      }),
    );
  }
  return { table, created: true };
};

export const describeTable = (client: DynamoDBClient, table: string) =>
  client.send(new DescribeTableCommand({ TableName: table }));
