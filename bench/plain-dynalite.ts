/**
 * dynalite on its own, without our gateway (no stream records, no write lock, no ALL_OLD), with the
 * tables serverless.yml defines: what the gateway's overhead is measured against (bench --only stream),
 * and a fast way to seed large fleets for the sweep bench (the gateway serializes every write).
 */

import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { loadServerlessConfig, tablesOf } from '../local/serverless/config';
import { createTableFromResource } from '../local/serverless/tables';
import { createDocumentClient } from '../shared/adapters/dynamodb/client';
import { DynamoSessionStore } from '../shared/adapters/dynamodb/session-store';
import type { Clock } from '../shared/domain/clock';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../tests/support/dynamo';

export const startPlainDynalite = async () => {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const stage = `p${randomUUID().slice(0, 8)}`;
  const config = await loadServerlessConfig({ stage });
  const admin = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  for (const properties of tablesOf(config).values()) {
    // dynalite has no UpdateTimeToLive (the gateway adds it); the table is created before that call.
    await createTableFromResource(admin, properties).catch((error: unknown) => {
      if (!(error instanceof Error && error.name === 'UnknownOperationException')) throw error;
    });
  }
  admin.destroy();
  const tables = { sessions: `tradai-workflow-state-${stage}`, metrics: `tradai-session-metrics-${stage}` };
  const doc = createDocumentClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  return {
    endpoint,
    doc,
    tables,
    newStore: (clock?: Clock) =>
      new DynamoSessionStore(doc, {
        sessionsTable: tables.sessions,
        metricsTable: tables.metrics,
        ...(clock === undefined ? {} : { clock }),
      }),
    close: async () => {
      doc.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
