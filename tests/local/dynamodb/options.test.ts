import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LocalDynamoError, startLocalDynamo } from '../../../local/dynamodb';
import { credentials } from './helpers';

describe('LocalDynamo: options', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('refuses to listen anywhere but on loopback', async () => {
    await expect(startLocalDynamo({ host: '0.0.0.0' })).rejects.toBeInstanceOf(LocalDynamoError);
  });

  it('refuses unknown options', async () => {
    const options = { ttlSweepIntervalMs: 0, colour: 'blue' } as Parameters<typeof startLocalDynamo>[0];

    await expect(startLocalDynamo(options)).rejects.toThrow(/colour/);
  });

  it('serves a client that finds it through AWS_ENDPOINT_URL_DYNAMODB', async () => {
    const dynamo = await startLocalDynamo({ ttlSweepIntervalMs: 0 });
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', dynamo.endpoint);
    const client = new DynamoDBClient({ region: 'us-east-1', credentials });

    try {
      const { TableNames } = await client.send(new ListTablesCommand({}));

      expect(dynamo.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(TableNames).toEqual([]);
    } finally {
      client.destroy();
      await dynamo.close();
    }
  });
});
