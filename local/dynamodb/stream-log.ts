import { appendFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { DynamoDBRecord } from 'aws-lambda';
import * as z from 'zod';
import {
  DataDirLayout,
  MAX_STREAM_RECORDS_PER_TABLE,
  SEQUENCE_NUMBER_WIDTH,
  STREAM_COMPACTION_SLACK,
  STREAM_RETENTION_MS,
} from './constants';
import { readFileIfPresent, writeFileAtomically } from './persistence';
import { buildStreamRecord, eventNameOf, type ItemChange, type StreamDescriptor } from './stream-records';
import type { StreamHub, StreamListener } from './types';

export interface StreamLogOptions {
  /** Undefined: records live in memory only. */
  readonly dataDir: string | undefined;
  readonly region: string;
  readonly now: () => number;
  /** The table's enabled stream, if any: records are only written for those. */
  readonly streamOf: (tableName: string) => StreamDescriptor | undefined;
}

interface Entry {
  readonly sequenceNumber: string;
  readonly committedAtMs: number;
  readonly record: DynamoDBRecord;
}

interface TableLog {
  readonly entries: Entry[];
  /** Lines in the table's file, retained or not: past the slack, the file is rewritten. */
  linesOnDisk: number;
}

/*
 * Lines of our own log file. Only the fields the log indexes on are checked; the record was built and
 * type-checked by us before it was written.
 */
const PersistedRecordShape = z.object({
  dynamodb: z.object({ SequenceNumber: z.string().regex(/^\d+$/), ApproximateCreationDateTime: z.number() }),
});
const PersistedRecordSchema = z.custom<DynamoDBRecord & z.infer<typeof PersistedRecordShape>>(
  (value) => PersistedRecordShape.safeParse(value).success,
);

const SequenceFileSchema = z.object({ lastSequenceNumber: z.string().regex(/^\d+$/) });

/**
 * The tables' stream records: assigns sequence numbers, keeps 24 hours (and at most 10,000 records) per
 * table, persists them as one JSONL file per table, and delivers new records to subscribers.
 */
export class StreamLog implements StreamHub {
  private readonly tables = new Map<string, TableLog>();
  private readonly listeners = new Map<string, Set<StreamListener>>();
  private readonly directory: string | undefined;
  private lastSequence = 0n;

  constructor(private readonly options: StreamLogOptions) {
    this.directory = options.dataDir === undefined ? undefined : join(options.dataDir, DataDirLayout.streams);
    if (this.directory !== undefined) this.load(this.directory);
  }

  streamArn(tableName: string): string | undefined {
    return this.options.streamOf(tableName)?.arn;
  }

  read(tableName: string, afterSequenceNumber?: string, limit?: number): DynamoDBRecord[] {
    const log = this.tables.get(tableName);
    if (log === undefined) return [];
    this.trim(tableName, log);
    const start =
      afterSequenceNumber === undefined ? 0 : firstAfter(log.entries, normalise(afterSequenceNumber));
    const end = limit === undefined ? log.entries.length : start + Math.max(limit, 0);
    // Copies: a consumer changing its event must not change what the next consumer reads.
    return log.entries.slice(start, end).map((entry) => structuredClone(entry.record));
  }

  lastSequenceNumber(tableName: string): string | undefined {
    const log = this.tables.get(tableName);
    if (log === undefined) return undefined;
    this.trim(tableName, log);
    return log.entries[log.entries.length - 1]?.sequenceNumber;
  }

  subscribe(tableName: string, listener: StreamListener): () => void {
    let tableListeners = this.listeners.get(tableName);
    if (tableListeners === undefined) {
      tableListeners = new Set();
      this.listeners.set(tableName, tableListeners);
    }
    const registered = tableListeners;
    const subscription: StreamListener = (record) => listener(record);
    registered.add(subscription);
    return () => {
      registered.delete(subscription);
    };
  }

  /** The highest sequence number given so far, in any table: records after it are yet to come. */
  latestSequenceNumber(): string {
    return this.lastSequence.toString().padStart(SEQUENCE_NUMBER_WIDTH, '0');
  }

  /**
   * Records the committed changes of one write (all of a transaction's at once), in order. Changes
   * that changed nothing, and changes to tables without an enabled stream, produce no record.
   */
  publish(tableName: string, changes: readonly ItemChange[]): DynamoDBRecord[] {
    const stream = this.options.streamOf(tableName);
    if (stream === undefined) return [];
    const committedAtMs = this.options.now();
    const published: DynamoDBRecord[] = [];
    for (const change of changes) {
      const eventName = eventNameOf(change);
      if (eventName === undefined) continue;
      this.lastSequence += 1n;
      const sequenceNumber = this.latestSequenceNumber();
      const record = buildStreamRecord({
        change,
        eventName,
        stream,
        sequenceNumber,
        region: this.options.region,
        committedAtMs,
      });
      this.append(tableName, { sequenceNumber, committedAtMs, record });
      published.push(record);
    }
    for (const record of published) this.deliver(tableName, record);
    return published;
  }

  /** The table was deleted (or created anew): its records belong to a stream that no longer exists. */
  drop(tableName: string): void {
    this.tables.delete(tableName);
    if (this.directory === undefined) return;
    rmSync(this.tableFile(tableName), { force: true });
    // Its records may have held the highest sequence number: keep the counter from going back.
    this.saveSequence();
  }

  close(): void {
    if (this.directory !== undefined) this.saveSequence();
  }

  private append(tableName: string, entry: Entry): void {
    let log = this.tables.get(tableName);
    if (log === undefined) {
      log = { entries: [], linesOnDisk: 0 };
      this.tables.set(tableName, log);
    }
    log.entries.push(entry);
    if (this.directory !== undefined) {
      mkdirSync(this.directory, { recursive: true });
      appendFileSync(this.tableFile(tableName), `${JSON.stringify(entry.record)}\n`);
      log.linesOnDisk += 1;
    }
    this.trim(tableName, log);
  }

  private trim(tableName: string, log: TableLog): void {
    const oldestKeptMs = this.options.now() - STREAM_RETENTION_MS;
    let expired = 0;
    while (expired < log.entries.length && log.entries[expired]!.committedAtMs < oldestKeptMs) expired += 1;
    const excess = log.entries.length - expired - MAX_STREAM_RECORDS_PER_TABLE;
    const dropped = expired + Math.max(excess, 0);
    if (dropped > 0) log.entries.splice(0, dropped);
    if (this.directory !== undefined && log.linesOnDisk - log.entries.length >= STREAM_COMPACTION_SLACK) {
      this.rewrite(tableName, log);
    }
  }

  private rewrite(tableName: string, log: TableLog): void {
    const lines = log.entries.map((entry) => `${JSON.stringify(entry.record)}\n`).join('');
    writeFileAtomically(this.tableFile(tableName), lines);
    log.linesOnDisk = log.entries.length;
    this.saveSequence();
  }

  private deliver(tableName: string, record: DynamoDBRecord): void {
    const tableListeners = this.listeners.get(tableName);
    if (tableListeners === undefined) return;
    for (const listener of [...tableListeners]) {
      try {
        listener(structuredClone(record));
      } catch (error) {
        // A consumer's fault must not fail the write that was already committed.
        console.error(`[local-dynamodb] stream listener of ${tableName} threw`, error);
      }
    }
  }

  private load(directory: string): void {
    const saved = readFileIfPresent(join(directory, DataDirLayout.sequence));
    if (saved !== undefined) {
      this.lastSequence = BigInt(SequenceFileSchema.parse(JSON.parse(saved)).lastSequenceNumber);
    }
    let files: string[];
    try {
      files = readdirSync(directory).filter((file) => file.endsWith('.jsonl'));
    } catch {
      return;
    }
    for (const file of files) {
      const tableName = decodeURIComponent(file.slice(0, -'.jsonl'.length));
      const text = readFileIfPresent(join(directory, file)) ?? '';
      const lines = text.split('\n').filter((line) => line.trim() !== '');
      const entries: Entry[] = [];
      for (const line of lines) {
        const parsed = PersistedRecordSchema.safeParse(safeJson(line));
        // A line cut short by a crash is skipped rather than losing the whole log.
        if (!parsed.success) continue;
        const record = parsed.data;
        const sequenceNumber = record.dynamodb.SequenceNumber;
        if (BigInt(sequenceNumber) > this.lastSequence) this.lastSequence = BigInt(sequenceNumber);
        entries.push({
          sequenceNumber,
          committedAtMs: record.dynamodb.ApproximateCreationDateTime * 1000,
          record,
        });
      }
      const log: TableLog = { entries, linesOnDisk: lines.length };
      this.tables.set(tableName, log);
      this.trim(tableName, log);
    }
  }

  private saveSequence(): void {
    if (this.directory === undefined) return;
    writeFileAtomically(
      join(this.directory, DataDirLayout.sequence),
      `${JSON.stringify({ lastSequenceNumber: this.lastSequence.toString() })}\n`,
    );
  }

  private tableFile(tableName: string): string {
    return join(this.directory!, `${encodeURIComponent(tableName)}.jsonl`);
  }
}

function normalise(sequenceNumber: string): string {
  return sequenceNumber.padStart(SEQUENCE_NUMBER_WIDTH, '0');
}

/** Index of the first entry after the sequence number (entries are in increasing order). */
function firstAfter(entries: readonly Entry[], sequenceNumber: string): number {
  let low = 0;
  let high = entries.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (entries[middle]!.sequenceNumber <= sequenceNumber) low = middle + 1;
    else high = middle;
  }
  return low;
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}
