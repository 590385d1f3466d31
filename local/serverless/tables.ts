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

/** Creates one table exactly as its CloudFormation properties describe it; an existing table is left alone. */
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
    if (error instanceof ResourceInUseException) return { table, created: false };
    throw error;
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
