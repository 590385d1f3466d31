import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type LocalDynamo, type LocalDynamoOptions, startLocalDynamo } from '../../local/dynamodb';
import { loadServerlessConfig, tablesOf } from '../../local/serverless/config';
import { createTableFromResource } from '../../local/serverless/tables';
import { DynamoAccountBudgetStore } from '../../shared/adapters/dynamodb/account-budget-store';
import { createDocumentClient } from '../../shared/adapters/dynamodb/client';
import { DynamoSessionStore } from '../../shared/adapters/dynamodb/session-store';
import type { Clock } from '../../shared/domain/clock';

export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
export const LOCAL_REGION = 'us-east-1';

export interface TestDynamo {
  dynamo: LocalDynamo;
  endpoint: string;
  /** A fresh low-level client on the local endpoint; every call makes a separate connection pool. */
  newClient(): DynamoDBClient;
  doc: DynamoDBDocumentClient;
  tables: { sessions: string; metrics: string; budgets: string };
  newStore(clock?: Clock, doc?: DynamoDBDocumentClient): DynamoSessionStore;
  /** The account budgets' aggregate on this stage's table. */
  newBudgets(clock?: Clock): DynamoAccountBudgetStore;
  close(): Promise<void>;
}

/**
 * The embedded DynamoDB over HTTP on 127.0.0.1, with the tables serverless.yml defines (created by the same
 * code as `npm run tables:create`). Each call gets its own stage, so test files never share state.
 */
export const startTestDynamo = async (options: LocalDynamoOptions = {}): Promise<TestDynamo> => {
  const dynamo = await startLocalDynamo({ ttlSweepIntervalMs: 0, ...options });
  const stage = `t${randomUUID().slice(0, 8)}`;
  const config = await loadServerlessConfig({ stage });
  const clients: DynamoDBClient[] = [];
  const newClient = () => {
    const client = new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    clients.push(client);
    return client;
  };
  const admin = newClient();
  for (const properties of tablesOf(config).values()) await createTableFromResource(admin, properties);
  const tables = {
    sessions: `tradai-workflow-state-${stage}`,
    metrics: `tradai-session-metrics-${stage}`,
    budgets: `tradai-account-budgets-${stage}`,
  };
  const doc = createDocumentClient({
    endpoint: dynamo.endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  return {
    dynamo,
    endpoint: dynamo.endpoint,
    newClient,
    doc,
    tables,
    newStore: (clock, client = doc) =>
      new DynamoSessionStore(client, { sessionsTable: tables.sessions, metricsTable: tables.metrics, clock }),
    newBudgets: (clock) => new DynamoAccountBudgetStore(doc, { budgetsTable: tables.budgets, clock }),
    close: async () => {
      for (const client of clients) client.destroy();
      doc.destroy();
      await dynamo.close();
    },
  };
};
