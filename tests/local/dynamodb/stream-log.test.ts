import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_STREAM_RECORDS_PER_TABLE, STREAM_RETENTION_MS } from '../../../local/dynamodb/constants';
import { StreamLog } from '../../../local/dynamodb/stream-log';
import type { StreamDescriptor } from '../../../local/dynamodb/stream-records';
import { sequenceNumbers, strictlyIncreasing } from './helpers';

const STREAM: StreamDescriptor = {
  arn: 'arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2025-01-01T00:00:00.000',
  viewType: 'NEW_AND_OLD_IMAGES',
};

describe('LocalDynamo: stream log retention', () => {
  let dataDir: string;
  let nowMs: number;

  function openLog(): StreamLog {
    return new StreamLog({ dataDir, region: 'us-east-1', now: () => nowMs, streamOf: () => STREAM });
  }

  function insert(log: StreamLog, count: number): void {
    for (let index = 0; index < count; index += 1) {
      log.publish('t', [{ keys: { pk: { S: `k${index}` } }, newImage: { pk: { S: `k${index}` } } }]);
    }
  }

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'local-dynamodb-log-'));
    nowMs = Date.UTC(2025, 0, 1);
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps at most the newest 10,000 records of a table, in memory and on disk', async () => {
    const log = openLog();

    insert(log, MAX_STREAM_RECORDS_PER_TABLE + 1_500);
    log.close();
    const reopened = openLog();

    for (const view of [log, reopened]) {
      const records = view.read('t');
      expect(records).toHaveLength(MAX_STREAM_RECORDS_PER_TABLE);
      expect(records[0]?.dynamodb?.Keys?.pk?.S).toBe('k1500');
      expect(strictlyIncreasing(sequenceNumbers(records))).toBe(true);
    }
    const lines = (await readFile(join(dataDir, 'streams', 't.jsonl'), 'utf8')).trim().split('\n');
    expect(lines.length).toBeLessThan(MAX_STREAM_RECORDS_PER_TABLE + 1_500);
  });

  it('drops records older than 24 hours by the injected clock', () => {
    const log = openLog();
    insert(log, 3);

    nowMs += STREAM_RETENTION_MS - 1_000;
    insert(log, 1);
    nowMs += 2_000;

    expect(log.read('t')).toHaveLength(1);
  });

  it('names the newest retained record as read() ends with it, and none once every record expired', () => {
    const log = openLog();
    expect(log.lastSequenceNumber('t')).toBeUndefined();
    insert(log, 3);

    expect(log.lastSequenceNumber('t')).toBe(log.read('t').at(-1)?.dynamodb?.SequenceNumber);
    nowMs += STREAM_RETENTION_MS + 1_000;
    expect(log.lastSequenceNumber('t')).toBeUndefined();
  });

  it('delivers records to every subscriber, and a throwing subscriber does not stop the others', () => {
    const log = openLog();
    const delivered: string[] = [];
    const consoleError = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    log.subscribe('t', () => {
      throw new Error('consumer fault');
    });
    log.subscribe('t', (record) => delivered.push(record.eventName ?? ''));

    insert(log, 2);
    consoleError.mockRestore();

    expect(delivered).toEqual(['INSERT', 'INSERT']);
  });
});
