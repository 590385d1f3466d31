import { DescribeTableCommand, DescribeTimeToLiveCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { loadServerlessConfig, tablesOf } from '../../local/serverless/config';
import { createTableFromResource } from '../../local/serverless/tables';
import { createDocumentClient } from '../../shared/adapters/dynamodb/client';
import { DynamoSessionStore, STATUS_INDEX } from '../../shared/adapters/dynamodb/session-store';
import { ManualClock } from '../../shared/domain';
import { startMotoServer } from '../support/moto-server';
import { sessionStoreContract } from './session-store.contract';

/**
 * The same contract as on our dynalite gateway (dynamo-session-store.test.ts), on moto's DynamoDB over real
 * HTTP, with the tables made from serverless.yml by the code `npm run tables:create` runs.
 *
 * Where moto differs from AWS and from our gateway here (tests/local/dynamodb/moto-parity.test.ts compares
 * the two request for request, streams included):
 * - isolation: see oneRequestAtATime below;
 * - cost: every TransactWriteItems deep-copies each table it touches, stream records included, to roll
 *   back on failure. With the tables' streams on, this suite grew moto past 6 GB and 5 minutes; the
 *   contract's tables here are made without their stream (the store never reads it), and the first test
 *   below checks that serverless.yml's tables, stream and TTL included, are made on moto as declared.
 * moto answers a few hundred requests a second, and the contract makes thousands (the lease race
 * alone some six per claim).
 */
vi.setConfig({ testTimeout: 240_000 });

/**
 * moto 5.2.5's server is threaded and evaluates concurrent conditional writes without isolation: with
 * requests in parallel, 11 of 200 concurrent `claimSession` transactions on one account lease all
 * committed (AWS: a condition expression and its write are atomic, and TransactWriteItems is serializable,
 * Developer Guide, Condition expressions / Isolation levels for DynamoDB transactions). Our gateway
 * serializes writes as AWS does. So every client of this harness sends one request at a time, and the
 * race tests prove the store's conditions on moto, not moto's isolation (which it does not have).
 */
let queue: Promise<void> = Promise.resolve();
const oneRequestAtATime = (doc: ReturnType<typeof createDocumentClient>) => {
  doc.middlewareStack.add(
    (next) => async (args) => {
      const previous = queue;
      let release = () => {};
      queue = new Promise<void>((resolve) => {
        release = resolve;
      });
      await previous;
      try {
        return await next(args);
      } finally {
        release();
      }
    },
    { step: 'finalizeRequest', priority: 'low', name: 'motoOneRequestAtATime' },
  );
  return doc;
};

/**
 * Empty tables before every test, made anew on the same server. The same transaction deep-copy makes each
 * request's cost grow with the items earlier tests left behind, and every `writes nothing` test scanned
 * all of them twice (10 s each after the lease race's 400 items): on one table kept for the whole file,
 * it took 105 s alone and 250 s on a loaded machine. Every contract test sets up what it needs; the
 * dynalite run of the same contract (dynamo-session-store.test.ts) keeps one table for the whole file, so a
 * test that passed only on a table some earlier test left behind would still fail there.
 */
let freshTables: (() => Promise<void>) | undefined;

describe('moto, fresh tables per test', () => {
  beforeEach(async () => {
    await freshTables?.();
  });

  sessionStoreContract(
    'DynamoDB (moto server, over HTTP)',
    async () => {
      const moto = await startMotoServer();
      const config = await loadServerlessConfig({ stage: 'moto' });
      const createTables = async () => {
        const admin = new DynamoDBClient(moto.clientConfig);
        try {
          for (const properties of tablesOf(config).values()) {
            await createTableFromResource(admin, { ...properties, StreamSpecification: undefined });
          }
        } finally {
          admin.destroy();
        }
      };
      await createTables();
      freshTables = async () => {
        await moto.reset();
        await createTables();
      };
      const tables = { sessions: 'tradai-workflow-state-moto', metrics: 'tradai-session-metrics-moto' };
      const clock = new ManualClock('2026-01-01T00:00:00.000Z');
      const docs = [oneRequestAtATime(createDocumentClient(moto.clientConfig))];
      const storeOn = (doc: ReturnType<typeof createDocumentClient>) =>
        new DynamoSessionStore(doc, { sessionsTable: tables.sessions, metricsTable: tables.metrics, clock });
      const scanAll = async (table: string) => {
        const items: unknown[] = [];
        let start: Record<string, unknown> | undefined;
        do {
          const page = await docs[0]?.send(
            new ScanCommand({ TableName: table, ExclusiveStartKey: start, ConsistentRead: true }),
          );
          items.push(...(page?.Items ?? []));
          start = page?.LastEvaluatedKey;
        } while (start !== undefined);
        return items.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
      };
      return {
        store: storeOn(docs[0] as ReturnType<typeof createDocumentClient>),
        clock,
        separateStore: () => {
          const doc = oneRequestAtATime(createDocumentClient(moto.clientConfig));
          docs.push(doc);
          return storeOn(doc);
        },
        snapshot: async () => [...(await scanAll(tables.sessions)), ...(await scanAll(tables.metrics))],
        close: async () => {
          freshTables = undefined;
          for (const doc of docs) doc.destroy();
          await moto.close();
        },
      };
    },
    // One request at a time (below), so the race is a sequence here: 40 claims take the same path as 200
    // (one takes the lease, every later one meets it), and 200 took 130 s of moto's quadratic copies.
    // The dynalite run of the contract races 200 truly concurrent claims.
    { leaseRaceClaims: 40 },
  );
});

describe('serverless.yml tables on moto', () => {
  it('are made as declared: keys, every GSI serverless.yml declares, a NEW_AND_OLD_IMAGES stream and TTL on ttl (it listed three GSIs by hand)', async () => {
    // prepare
    const moto = await startMotoServer();
    const admin = new DynamoDBClient(moto.clientConfig);
    try {
      const config = await loadServerlessConfig({ stage: 'motostreams' });

      // act
      for (const properties of tablesOf(config).values()) await createTableFromResource(admin, properties);

      // assess
      const { Table } = await admin.send(
        new DescribeTableCommand({ TableName: 'tradai-workflow-state-motostreams' }),
      );
      expect(Table?.KeySchema).toEqual([{ AttributeName: 'run_id', KeyType: 'HASH' }]);
      expect(Table?.StreamSpecification).toEqual({
        StreamEnabled: true,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      });
      expect(Table?.LatestStreamArn).toContain('table/tradai-workflow-state-motostreams/stream/');
      const declared = (tablesOf(config).get('WorkflowStateTable')?.GlobalSecondaryIndexes ?? [])
        .map((index) => index.IndexName)
        .sort();
      expect(declared).toEqual(expect.arrayContaining(['heartbeat-index', STATUS_INDEX]));
      expect((Table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName).sort()).toEqual(declared);
      const ttl = await admin.send(
        new DescribeTimeToLiveCommand({ TableName: 'tradai-workflow-state-motostreams' }),
      );
      expect(ttl.TimeToLiveDescription).toMatchObject({ AttributeName: 'ttl', TimeToLiveStatus: 'ENABLED' });
    } finally {
      admin.destroy();
      await moto.close();
    }
  });
});
