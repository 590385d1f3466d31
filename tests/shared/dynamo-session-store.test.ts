import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IndexShape, indexWriteUnits, itemSize } from '../../bench/cost-model';
import { loadServerlessConfig, tablesOf } from '../../local/serverless/config';
import { BATCH_GET_ATTEMPTS, UnprocessedKeysError } from '../../shared/adapters/dynamodb/batch-get';
import { createDocumentClient } from '../../shared/adapters/dynamodb/client';
import {
  type DynamoSessionStore,
  STATUS_INDEX,
  STATUS_INDEX_ATTRIBUTES,
} from '../../shared/adapters/dynamodb/session-store';
import { CorruptRecordError, type Heartbeat, HeartbeatSchema, ManualClock } from '../../shared/domain';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startTestDynamo, type TestDynamo } from '../support/dynamo';
import { largestValueOf } from '../support/largest-value';
import { claimedSession, heartbeatOf, newSessionInput, sessionStoreContract } from './session-store.contract';

sessionStoreContract('DynamoDB (embedded, over HTTP)', async () => {
  const test = await startTestDynamo();
  const clock = new ManualClock('2026-01-01T00:00:00.000Z');
  const scanAll = async (table: string) => {
    const items: unknown[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await test.doc.send(
        new ScanCommand({ TableName: table, ExclusiveStartKey: start, ConsistentRead: true }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return items.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  };
  const separateDocs: ReturnType<typeof createDocumentClient>[] = [];
  return {
    store: test.newStore(clock),
    clock,
    separateStore: () => {
      const doc = createDocumentClient({
        endpoint: test.endpoint,
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
      });
      separateDocs.push(doc);
      return test.newStore(clock, doc);
    },
    snapshot: async () => [...(await scanAll(test.tables.sessions)), ...(await scanAll(test.tables.metrics))],
    close: async () => {
      for (const doc of separateDocs) doc.destroy();
      await test.close();
    },
  };
});

describe('DynamoSessionStore: on the embedded DynamoDB', () => {
  let test: TestDynamo;
  beforeAll(async () => {
    test = await startTestDynamo();
  });
  afterAll(async () => {
    await test.close();
  });

  it('bounds the session item by construction: the largest heartbeat the schema admits keeps it under 64 KB, and heartbeats replace what they carry (the 10,000-heartbeat loop took ~45 s and timed out on a loaded machine)', async () => {
    // prepare: the largest heartbeat HeartbeatSchema accepts (every field at its bound), checked by the schema.
    const clock = new ManualClock('2026-01-01T00:00:00.000Z');
    const store = test.newStore(clock);
    const input = await claimedSession(store, 'size-one', {
      pairs: ['BTC/USDT:USDT'],
      strategy_version: '2.0.0',
    });
    const stored = async () =>
      (
        await test.doc.send(
          new GetCommand({
            TableName: test.tables.sessions,
            Key: { run_id: input.run_id },
            ConsistentRead: true,
          }),
        )
      ).Item;
    const beforeHeartbeats = itemSize((await stored()) ?? {});
    const largest = HeartbeatSchema.parse({
      ...(largestValueOf(HeartbeatSchema) as Heartbeat),
      run_id: input.run_id,
      agent_id: 'agent-a',
      seq: 1,
    });
    const largestSize = itemSize(largest);

    // act: the largest heartbeat, then a few hundred ordinary ones.
    clock.advance(30_000);
    const written = await store.recordHeartbeat(largest);
    const afterLargest = itemSize((await stored()) ?? {});
    const sizes: number[] = [];
    for (let seq = 2; seq <= 301; seq += 1) {
      clock.advance(30_000);
      const result = await store.recordHeartbeat(
        heartbeatOf(input.run_id, 'agent-a', seq, new Date(clock.now()).toISOString()),
      );
      if (!result.ok) throw new Error(`heartbeat ${seq} refused: ${result.message}`);
      sizes.push(itemSize((await stored()) ?? {}));
    }

    // assess: a heartbeat adds at most its own size to the item as created, whatever came before it...
    expect(written.ok).toBe(true);
    expect(largestSize).toBeGreaterThan(30 * 1024);
    expect(afterLargest).toBeLessThanOrEqual(beforeHeartbeats + largestSize);
    expect(afterLargest).toBeLessThan(64 * 1024);
    // ...so the item does not grow with the count of heartbeats: it shrinks back, then keeps its size (give
    // or take the digits of heartbeat_seq, the only field whose length the count changes).
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(2);
    expect(sizes[0]).toBeLessThan(10 * 1024);
    expect((await store.get(input.run_id))?.heartbeat_seq).toBe(301);
  });

  it('refuses to hand back a stored session that does not match the schema', async () => {
    await test.doc.send(
      new PutCommand({
        TableName: test.tables.sessions,
        Item: { item_type: 'session', run_id: 'dry-run-corrupt-000001', status: 'running' },
      }),
    );

    await expect(test.newStore().get('dry-run-corrupt-000001')).rejects.toBeInstanceOf(CorruptRecordError);
  });

  it('produces AWS-shaped stream records with old and new images for each committed change', async () => {
    const store = test.newStore(new ManualClock('2026-02-01T00:00:00.000Z'));
    const input = newSessionInput('stream-one');
    const records: DynamoDBRecord[] = [];
    const unsubscribe = test.dynamo.streams.subscribe(test.tables.sessions, (record) => records.push(record));

    await store.createSession(input);
    await store.transition(input.run_id, 'launching');
    const refused = await store.transition(input.run_id, 'completed');
    unsubscribe();

    expect(refused).toMatchObject({ ok: false, reason: 'not_allowed', current: 'launching' });

    const sessionRecords = records.filter((record) => record.dynamodb?.Keys?.run_id?.S === input.run_id);
    expect(sessionRecords.map((record) => record.eventName)).toEqual(['INSERT', 'MODIFY']);
    const [insert, modify] = sessionRecords;
    expect(insert?.dynamodb?.OldImage).toBeUndefined();
    expect(insert?.dynamodb?.NewImage?.status).toEqual({ S: 'pending' });
    expect(modify?.dynamodb?.OldImage?.status).toEqual({ S: 'pending' });
    expect(modify?.dynamodb?.NewImage?.status).toEqual({ S: 'launching' });
    expect(modify?.dynamodb?.StreamViewType).toBe('NEW_AND_OLD_IMAGES');
    expect(modify?.eventSourceARN).toContain(`table/${test.tables.sessions}/stream/`);
    expect(BigInt(modify?.dynamodb?.SequenceNumber ?? '0')).toBeGreaterThan(
      BigInt(insert?.dynamodb?.SequenceNumber ?? '0'),
    );
    const lockRecord = records.find((record) => record.dynamodb?.Keys?.run_id?.S === 'strategy#stream-one');
    expect(lockRecord?.eventName).toBe('INSERT');
  });
});

describe('DynamoSessionStore: a refused conditional write reports the item as it is (ALL_OLD), no second read', () => {
  let test: TestDynamo;
  beforeAll(async () => {
    test = await startTestDynamo();
  });
  afterAll(async () => {
    await test.close();
  });

  /** A store on its own client whose requests are recorded by operation, in order. */
  const recordedStore = (clock: ManualClock) => {
    const doc = createDocumentClient({
      endpoint: test.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    const sent: string[] = [];
    doc.middlewareStack.add(
      (next, context) => async (args) => {
        sent.push((context.commandName ?? 'unknown').replace(/Command$/, ''));
        return next(args);
      },
      { step: 'initialize', name: 'recordOperations' },
    );
    return { store: test.newStore(clock, doc), sent, close: () => doc.destroy() };
  };

  it('a fenced heartbeat, a refused transition and a refused intent change each answer in one UpdateItem (they re-read the session with a GetItem)', async () => {
    const clock = new ManualClock('2026-03-01T00:00:00.000Z');
    const { store, sent, close } = recordedStore(clock);
    try {
      const input = await claimedSession(store, 'all-old-session');
      await store.transition(input.run_id, 'launching');
      await store.transition(input.run_id, 'running');
      sent.length = 0;

      const superseded = await store.recordHeartbeat(
        heartbeatOf(input.run_id, 'agent-b', 1, new Date(clock.now()).toISOString()),
      );
      const refused = await store.transition(input.run_id, 'launching');
      await store.transition(input.run_id, 'stopping');
      sent.length = 0;
      const notOpen = await store.setDesiredState(input.run_id, 'paused');

      expect(superseded).toMatchObject({ ok: false, reason: 'superseded', status: 'running' });
      expect(refused).toMatchObject({ ok: false, reason: 'not_allowed', current: 'running' });
      expect(notOpen).toMatchObject({ ok: false, reason: 'not_allowed', current: 'stopping' });
      expect(sent).toEqual(['UpdateItem']);
    } finally {
      close();
    }
  });

  it('a busy strategy and a lock not held name the holder from the refused write itself (they re-read the lock)', async () => {
    const clock = new ManualClock('2026-03-01T00:00:00.000Z');
    const { store, sent, close } = recordedStore(clock);
    try {
      const first = newSessionInput('all-old-lock');
      await store.createSession(first);
      sent.length = 0;

      const busy = await store.createSession(newSessionInput('all-old-lock'));
      const busySent = [...sent];
      sent.length = 0;
      const notHeld = await store.releaseLock('all-old-lock', 'dry-run-someone-else-0001');

      expect(busy).toMatchObject({ ok: false, reason: 'strategy_busy', activeRunId: first.run_id });
      // The GetItem before the write reads the last run, whose fleet row a new session takes (GET /fleet).
      expect(busySent).toEqual(['GetItem', 'TransactWriteItems']);
      expect(notHeld).toMatchObject({ ok: false, reason: 'not_held', activeRunId: first.run_id });
      expect(sent).toEqual(['GetItem', 'UpdateItem']);
    } finally {
      close();
    }
  });

  it('a pair leased by another live run names its holder from the cancelled transaction (it re-read the lease)', async () => {
    const clock = new ManualClock('2026-03-01T00:00:00.000Z');
    const { store, sent, close } = recordedStore(clock);
    try {
      const holder = newSessionInput('all-old-lease-a', { trading_mode: 'live' });
      const second = newSessionInput('all-old-lease-b', { trading_mode: 'live' });
      await store.createSession(holder);
      await store.createSession(second);
      const claimOf = (runId: string, agentId: string) => ({
        run_id: runId,
        agent_id: agentId,
        strategy_version: null,
        exchange: 'binance',
        pairs: ['ETH/USDT'],
        account_id: 'a11011d0000000000000000000000001',
      });
      expect((await store.claimSession(claimOf(holder.run_id, 'agent-a'))).ok).toBe(true);
      sent.length = 0;

      const busy = await store.claimSession(claimOf(second.run_id, 'agent-b'));

      expect(busy).toMatchObject({
        ok: false,
        reason: 'account_busy',
        holderRunId: holder.run_id,
        pair: 'ETH/USDT',
      });
      // After the refusal only the orphan check reads: the holder's session, still active, so its lease stays.
      expect(sent.slice(sent.indexOf('TransactWriteItems'))).toEqual(['TransactWriteItems', 'GetItem']);
    } finally {
      close();
    }
  });
});

describe('DynamoSessionStore: the heartbeat index finds the silent sessions without reading the fleet', () => {
  let test: TestDynamo;
  beforeAll(async () => {
    test = await startTestDynamo();
  });
  afterAll(async () => {
    await test.close();
  });

  it('lists the runs whose beat (or claim) is older than the cutoff, within one step of it, and a finished run only until its beat is forgotten (the sweep had to read every running session)', async () => {
    const clock = new ManualClock('2026-04-01T00:00:00.000Z');
    const store = test.newStore(clock);
    const started = async (name: string) => {
      const input = await claimedSession(store, name);
      await store.transition(input.run_id, 'launching');
      return input.run_id;
    };
    const beat = async (runId: string, seq: number) => {
      const result = await store.recordBeat({
        run_id: runId,
        agent_id: 'agent-a',
        seq,
        at: new Date(clock.now()).toISOString(),
      });
      if (!result.ok) throw new Error(result.message);
    };
    const silent = await started('hb-index-silent');
    const healthy = await started('hb-index-healthy');
    const finished = await started('hb-index-finished');
    const neverBeat = await started('hb-index-never');
    await beat(silent, 1);
    await beat(finished, 1);
    clock.advance(120_000);
    await beat(healthy, 1);
    await store.transition(finished, 'stopping');
    await store.transition(finished, 'stopped');

    const cutoff = new Date(clock.now() - 60_000).toISOString();
    // A claimer that never beat is as silent as one that stopped beating: its claim put it in the index.
    expect((await store.listSilentSince(cutoff)).sort()).toEqual([finished, neverBeat, silent].sort());

    await store.forgetBeat(finished);
    expect((await store.listSilentSince(cutoff)).sort()).toEqual([neverBeat, silent].sort());
    // Everything beating is found once the cutoff passes its step.
    const all = await store.listSilentSince(new Date(clock.now() + 60_000).toISOString());
    expect(all.sort()).toEqual([healthy, neverBeat, silent].sort());
  });

  it("keeps a run's silence in the index through a replacement's claim (the claim moved hb_at to now, hiding the silence for a threshold)", async () => {
    // prepare: agent-a beat, then went silent for 40 s
    const clock = new ManualClock('2026-04-02T00:00:00.000Z');
    const store = test.newStore(clock);
    const input = await claimedSession(store, 'hb-index-replaced');
    const beat = await store.recordBeat({
      run_id: input.run_id,
      agent_id: 'agent-a',
      seq: 1,
      at: new Date(clock.now()).toISOString(),
    });
    expect(beat.ok).toBe(true);
    clock.advance(40_000);

    // act: a replacement task claims the run
    await store.claimSession({
      run_id: input.run_id,
      agent_id: 'agent-b',
      strategy_version: null,
      exchange: 'binance',
      pairs: ['BTC/USDT'],
    });

    // assess
    expect(await store.listSilentSince(new Date(clock.now() - 35_000).toISOString())).toContain(input.run_id);
  });

  it('refuses a cutoff that is not an ISO timestamp (no query)', async () => {
    await expect(test.newStore().listSilentSince('yesterday')).rejects.toThrow(/cutoff/);
  });
});

/**
 * The attribute names an UpdateItem writes (SET targets and REMOVE names, aliases resolved, a nested path
 * by its top-level attribute), read from the request the store sent: the heartbeat's list as the code
 * writes it, not a copy of it.
 */
const attributesWrittenBy = (input: Record<string, unknown>): string[] => {
  const expression = String(input.UpdateExpression ?? '');
  const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
  const resolve = (path: string) => {
    const top = path.trim().split(/[.[]/)[0] ?? '';
    return names[top] ?? top;
  };
  const topLevel = (clause: string) => {
    const parts: string[] = [];
    let depth = 0;
    let start = 0;
    for (let index = 0; index < clause.length; index += 1) {
      const char = clause[index];
      if (char === '(') depth += 1;
      else if (char === ')') depth -= 1;
      else if (char === ',' && depth === 0) {
        parts.push(clause.slice(start, index));
        start = index + 1;
      }
    }
    parts.push(clause.slice(start));
    return parts.filter((part) => part.trim() !== '');
  };
  const written: string[] = [];
  for (const [, action, clause] of expression.matchAll(
    /\b(SET|REMOVE|ADD|DELETE)\b((?:(?!\b(?:SET|REMOVE|ADD|DELETE)\b).)*)/gs,
  )) {
    for (const part of topLevel(clause ?? ''))
      written.push(
        resolve(action === 'SET' ? (part.split('=')[0] ?? '') : (part.trim().split(/\s+/)[0] ?? '')),
      );
  }
  return [...new Set(written)];
};

describe('DynamoSessionStore: the status index stays off the heartbeat path', () => {
  let test: TestDynamo;
  let statusIndex: IndexShape;
  beforeAll(async () => {
    test = await startTestDynamo();
    const config = await loadServerlessConfig({ stage: 'index-shape' });
    const declared = tablesOf(config)
      .get('WorkflowStateTable')
      ?.GlobalSecondaryIndexes?.find((index) => index.IndexName === STATUS_INDEX);
    if (declared === undefined) throw new Error(`serverless.yml declares no ${STATUS_INDEX}`);
    statusIndex = {
      name: declared.IndexName,
      keys: declared.KeySchema.map((key) => key.AttributeName),
      projection:
        declared.Projection.ProjectionType === 'INCLUDE'
          ? (declared.Projection.NonKeyAttributes ?? [])
          : declared.Projection.ProjectionType,
    };
  });
  afterAll(async () => {
    await test.close();
  });

  /** A store on its own client that can see, and change, each request before DynamoDB answers it. */
  const interceptedStore = (
    clock: ManualClock,
    intercept: (
      operation: string,
      input: Record<string, unknown>,
      next: () => Promise<{ output: Record<string, unknown> }>,
    ) => Promise<{ output: Record<string, unknown> }>,
  ) => {
    const doc = createDocumentClient({
      endpoint: test.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    doc.middlewareStack.add(
      (next, context) => async (args) =>
        intercept(
          (context.commandName ?? 'unknown').replace(/Command$/, ''),
          args.input as Record<string, unknown>,
          () => next(args) as Promise<{ output: Record<string, unknown> }>,
        ) as never,
      { step: 'initialize', name: 'interceptRequests' },
    );
    return { store: test.newStore(clock, doc), close: () => doc.destroy() };
  };

  const runningSession = async (store: DynamoSessionStore, name: string) => {
    const input = await claimedSession(store, name);
    await store.transition(input.run_id, 'launching');
    await store.transition(input.run_id, 'running');
    return input.run_id;
  };

  it('projects nothing a heartbeat writes, so a heartbeat costs the status index no write (projected ALL, every heartbeat rewrote it: ~2 WRU)', async () => {
    // prepare: the heartbeat's UpdateItem as the store sends it, and its stream record
    const clock = new ManualClock('2026-05-01T00:00:00.000Z');
    const updates: Record<string, unknown>[] = [];
    const { store, close } = interceptedStore(clock, async (operation, input, next) => {
      if (operation === 'UpdateItem') updates.push(structuredClone(input));
      return next();
    });
    const records: DynamoDBRecord[] = [];
    try {
      const runId = await runningSession(store, 'status-index-heartbeat');
      updates.length = 0;
      const unsubscribe = test.dynamo.streams.subscribe(test.tables.sessions, (record) =>
        records.push(record),
      );

      // act
      clock.advance(15_000);
      const beat = await store.recordHeartbeat(
        heartbeatOf(runId, 'agent-a', 1, new Date(clock.now()).toISOString()),
      );
      await store.transition(runId, 'stopping');
      unsubscribe();

      // assess: what the index holds and what the heartbeat writes have nothing in common...
      expect(beat.ok).toBe(true);
      expect(updates).toHaveLength(2);
      const written = attributesWrittenBy(updates[0] as Record<string, unknown>);
      expect(written).toEqual(
        expect.arrayContaining(['last_heartbeat', 'heartbeat_seq', 'metrics', 'version']),
      );
      expect(statusIndex.projection).not.toBe('ALL');
      expect([...(statusIndex.projection as readonly string[])].sort()).toEqual(
        [...STATUS_INDEX_ATTRIBUTES].sort(),
      );
      const indexed = [...statusIndex.keys, 'run_id', ...(statusIndex.projection as readonly string[])];
      expect(written.filter((name) => indexed.includes(name))).toEqual([]);
      // ...so by DynamoDB's rules (the fleet bench's accounting) the heartbeat writes the index nothing, and
      // the transition after it, which moves the index key, a delete and a put.
      const ofSession = records.filter((record) => record.dynamodb?.Keys?.run_id?.S === runId);
      const units = ofSession.map((record) =>
        indexWriteUnits(
          record.dynamodb?.OldImage && unmarshall(record.dynamodb.OldImage as Record<string, AttributeValue>),
          record.dynamodb?.NewImage && unmarshall(record.dynamodb.NewImage as Record<string, AttributeValue>),
          statusIndex,
          ['run_id'],
        ),
      );
      expect(units).toEqual([0, 2]);
    } finally {
      close();
    }
  });

  it('lists by status with whole items when DynamoDB leaves keys unprocessed, in the index order (a partial BatchGetItem answer must not shorten the page)', async () => {
    // prepare: the first two BatchGetItem answers read only half their keys, as a throttled table does
    const clock = new ManualClock('2026-05-02T00:00:00.000Z');
    let partialAnswers = 2;
    let batchGets = 0;
    const { store, close } = interceptedStore(clock, async (operation, input, next) => {
      if (operation !== 'BatchGetItem') return next();
      batchGets += 1;
      if (partialAnswers === 0) return next();
      partialAnswers -= 1;
      const requests = input.RequestItems as Record<string, { Keys: unknown[] }>;
      const table = Object.keys(requests)[0] as string;
      const keys = requests[table]?.Keys ?? [];
      const kept = keys.slice(0, Math.ceil(keys.length / 2));
      const unprocessed = keys.slice(kept.length);
      requests[table] = { ...requests[table], Keys: kept };
      const answer = await next();
      return {
        ...answer,
        output: { ...answer.output, UnprocessedKeys: { [table]: { ...requests[table], Keys: unprocessed } } },
      };
    });
    try {
      const runIds: string[] = [];
      for (let index = 0; index < 5; index += 1) {
        clock.advance(1_000);
        runIds.push(await runningSession(store, `status-index-partial-${index}`));
      }

      // act
      const page = await store.listByStatus('running', { limit: 1000 });

      // assess
      expect(page.items.map((session) => session.run_id).filter((runId) => runIds.includes(runId))).toEqual(
        runIds,
      );
      expect(page.items.every((session) => session.agent_id === 'agent-a')).toBe(true);
      expect(batchGets).toBeGreaterThanOrEqual(3);
    } finally {
      close();
    }
  });

  it('refuses with UnprocessedKeysError after a bounded number of BatchGetItem attempts that read nothing (never a short page passed off as the whole)', async () => {
    // prepare: every answer leaves every key unprocessed
    const clock = new ManualClock('2026-05-03T00:00:00.000Z');
    let batchGets = 0;
    const { store, close } = interceptedStore(clock, async (operation, input, next) => {
      if (operation !== 'BatchGetItem') return next();
      batchGets += 1;
      const requests = input.RequestItems as Record<string, { Keys: unknown[] }>;
      const table = Object.keys(requests)[0] as string;
      return { output: { Responses: { [table]: [] }, UnprocessedKeys: requests } };
    });
    try {
      await runningSession(store, 'status-index-throttled');

      // act
      const listing = store.listByStatus('running');

      // assess
      await expect(listing).rejects.toBeInstanceOf(UnprocessedKeysError);
      expect(batchGets).toBe(BATCH_GET_ATTEMPTS);
    } finally {
      close();
    }
  });

  it('leaves out a session that changed status after the index listed it (the index lags the table; the item read is the truth)', async () => {
    // prepare: between the index Query and the read by key, one session stops
    const clock = new ManualClock('2026-05-04T00:00:00.000Z');
    let movedOn: string | undefined;
    const other = test.newStore(clock);
    const { store, close } = interceptedStore(clock, async (operation, _input, next) => {
      if (operation === 'BatchGetItem' && movedOn !== undefined) {
        await other.transition(movedOn, 'stopping');
        movedOn = undefined;
      }
      return next();
    });
    try {
      const staying = await runningSession(store, 'status-index-stays');
      const leaving = await runningSession(store, 'status-index-leaves');
      movedOn = leaving;

      // act
      const page = await store.listByStatus('running', { limit: 1000 });

      // assess
      const listed = page.items.map((session) => session.run_id);
      expect(listed).toContain(staying);
      expect(listed).not.toContain(leaving);
      expect(page.items.every((session) => session.status === 'running')).toBe(true);
      expect((await store.get(leaving))?.status).toBe('stopping');
    } finally {
      close();
    }
  });
});
