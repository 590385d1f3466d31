import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import * as z from 'zod';
import type { StreamHub } from '../dynamodb';
import { type EventPattern, matchesAnyFilter } from './event-pattern';

export interface StreamMappingSettings {
  table: string;
  functionName: string;
  batchSize: number;
  batchWindowMs: number;
  filterPatterns: EventPattern[];
  reportBatchItemFailures: boolean;
  bisectOnError: boolean;
  /** -1 retries until the records expire, as Lambda does. */
  maximumRetryAttempts: number;
  /** Where batches that exhausted their retries are described (Lambda's on-failure destination). */
  onFailureFile?: string;
  /** Persisted position, so a restart resumes where it stopped instead of replaying or skipping. */
  checkpointFile?: string;
  retryBaseDelayMs?: number;
}

export type BatchInvoker = (event: DynamoDBStreamEvent) => Promise<unknown>;

/** What a handler may answer: nothing, or Lambda's partial batch response. */
const BatchResponseSchema = z
  .object({ batchItemFailures: z.array(z.object({ itemIdentifier: z.string() })) })
  .partial()
  .nullish();

type Outcome =
  | { kind: 'ok' }
  | { kind: 'partial'; firstFailedIndex: number }
  | { kind: 'error'; error: unknown };

const sequenceOf = (record: DynamoDBRecord): string => record.dynamodb?.SequenceNumber ?? '';

/**
 * A DynamoDB Streams event source mapping, as Lambda runs one for a single shard: batches in commit order,
 * one batch in flight, filter patterns (records that match no filter are consumed without an invocation),
 * ReportBatchItemFailures (resume from the lowest failed record), bisection on error, bounded retries,
 * then the on-failure destination, and a checkpoint that survives restarts.
 */
export class StreamEventSourceMapping {
  readonly #hub: StreamHub;
  readonly #settings: StreamMappingSettings;
  readonly #invoke: BatchInvoker;
  readonly #log: (line: string) => void;
  #checkpoint: string | undefined;
  #unsubscribe: (() => void) | undefined;
  #wake: (() => void) | undefined;
  #running = false;
  #loop: Promise<void> | undefined;
  /** Waiters for the checkpoint to reach a sequence number (drained()). */
  #waiters: { target: bigint; resolve: () => void }[] = [];

  constructor(
    hub: StreamHub,
    settings: StreamMappingSettings,
    invoke: BatchInvoker,
    log: (line: string) => void,
  ) {
    this.#hub = hub;
    this.#settings = settings;
    this.#invoke = invoke;
    this.#log = log;
  }

  /** Starts from the saved checkpoint, or from the newest record (LATEST) on a first start. */
  async start(startingPosition: 'LATEST' | 'TRIM_HORIZON' = 'LATEST'): Promise<void> {
    this.#checkpoint = await this.#loadCheckpoint();
    if (this.#checkpoint === undefined && startingPosition === 'LATEST') {
      const all = this.#hub.read(this.#settings.table);
      this.#checkpoint = all.length > 0 ? sequenceOf(all[all.length - 1] as DynamoDBRecord) : undefined;
    }
    this.#running = true;
    this.#unsubscribe = this.#hub.subscribe(this.#settings.table, () => this.#wake?.());
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#unsubscribe?.();
    this.#wake?.();
    await this.#loop;
    // Nothing more will be handled: nobody may wait for it forever.
    for (const waiter of this.#waiters.splice(0)) waiter.resolve();
  }

  /**
   * Resolves once every record committed before the call has been handled (tests and shutdown use it),
   * however busy the stream stays afterwards.
   */
  drained(): Promise<void> {
    // The newest record's number only: reading (and copying) the whole log here made every wait O(log size).
    const target = BigInt(this.#hub.lastSequenceNumber(this.#settings.table) || '0');
    if (target <= BigInt(this.#checkpoint ?? '0')) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ target, resolve }));
  }

  async #run(): Promise<void> {
    let windowOpenedAt: number | undefined;
    while (this.#running) {
      const records = this.#hub.read(this.#settings.table, this.#checkpoint, this.#settings.batchSize);
      if (records.length === 0) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        continue;
      }
      // The batching window: wait for a full batch, but never longer than the window.
      windowOpenedAt ??= Date.now();
      const windowLeft = windowOpenedAt + this.#settings.batchWindowMs - Date.now();
      if (records.length < this.#settings.batchSize && windowLeft > 0) {
        await new Promise((resolve) => setTimeout(resolve, windowLeft));
        continue;
      }
      windowOpenedAt = undefined;
      await this.#handleBatch(records);
    }
  }

  async #handleBatch(records: DynamoDBRecord[]): Promise<void> {
    const last = records[records.length - 1] as DynamoDBRecord;
    const matching = records.filter((record) => matchesAnyFilter(this.#settings.filterPatterns, record));
    if (matching.length > 0) await this.#deliver(matching);
    await this.#saveCheckpoint(sequenceOf(last));
  }

  /** Delivers until every record succeeded or was handed to the on-failure destination. */
  async #deliver(records: DynamoDBRecord[]): Promise<void> {
    let remaining = records;
    for (let retries = 0; remaining.length > 0; ) {
      const outcome = await this.#attempt(remaining);
      if (outcome.kind === 'ok') return;
      if (outcome.kind === 'error' && this.#settings.bisectOnError && remaining.length > 1) {
        const half = Math.ceil(remaining.length / 2);
        await this.#deliver(remaining.slice(0, half));
        await this.#deliver(remaining.slice(half));
        return;
      }
      if (outcome.kind === 'partial') remaining = remaining.slice(outcome.firstFailedIndex);
      retries += 1;
      const max = this.#settings.maximumRetryAttempts;
      if (max >= 0 && retries > max) {
        await this.#sendToFailureDestination(remaining, outcome, retries);
        return;
      }
      if (!this.#running) return;
      const base = this.#settings.retryBaseDelayMs ?? 100;
      await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, base * 2 ** (retries - 1))));
    }
  }

  async #attempt(records: DynamoDBRecord[]): Promise<Outcome> {
    let answer: unknown;
    try {
      answer = await this.#invoke({ Records: records });
    } catch (error) {
      this.#log(`${this.#settings.functionName}: batch of ${records.length} failed: ${String(error)}`);
      return { kind: 'error', error };
    }
    const response = BatchResponseSchema.safeParse(answer);
    // Lambda fails the whole batch when the response cannot be read as a batch response.
    if (!response.success) return { kind: 'error', error: new Error('unreadable batch response') };
    const failures = this.#settings.reportBatchItemFailures ? (response.data?.batchItemFailures ?? []) : [];
    if (failures.length === 0) return { kind: 'ok' };
    const indexes = failures.map((failure) =>
      records.findIndex((record) => sequenceOf(record) === failure.itemIdentifier),
    );
    // Lambda treats an unknown or empty identifier as a failure of the whole batch.
    if (indexes.some((index) => index < 0))
      return { kind: 'error', error: new Error('invalid batchItemFailures') };
    return { kind: 'partial', firstFailedIndex: Math.min(...indexes) };
  }

  async #sendToFailureDestination(
    records: DynamoDBRecord[],
    outcome: Outcome,
    attempts: number,
  ): Promise<void> {
    const first = records[0];
    const lastRecord = records[records.length - 1];
    const description = {
      requestContext: { functionArn: this.#settings.functionName, condition: 'RetryAttemptsExhausted' },
      responseContext: { error: outcome.kind === 'error' ? String(outcome.error) : 'partial batch failure' },
      version: '1.0',
      timestamp: new Date().toISOString(),
      DDBStreamBatchInfo: {
        shardId: 'shardId-local-000',
        startSequenceNumber: first ? sequenceOf(first) : '',
        endSequenceNumber: lastRecord ? sequenceOf(lastRecord) : '',
        batchSize: records.length,
        streamArn: this.#hub.streamArn(this.#settings.table) ?? '',
        approximateInvokeCount: attempts,
      },
    };
    this.#log(
      `${this.#settings.functionName}: ${records.length} record(s) sent to the on-failure destination`,
    );
    if (this.#settings.onFailureFile !== undefined) {
      await mkdir(dirname(this.#settings.onFailureFile), { recursive: true });
      await appendFile(this.#settings.onFailureFile, `${JSON.stringify(description)}\n`);
    }
  }

  async #loadCheckpoint(): Promise<string | undefined> {
    if (this.#settings.checkpointFile === undefined) return undefined;
    try {
      const saved = (await readFile(this.#settings.checkpointFile, 'utf8')).trim();
      return /^\d+$/.test(saved) ? saved : undefined;
    } catch {
      return undefined;
    }
  }

  async #saveCheckpoint(sequence: string): Promise<void> {
    this.#checkpoint = sequence;
    const reached = BigInt(sequence);
    this.#waiters = this.#waiters.filter((waiter) => {
      if (waiter.target > reached) return true;
      waiter.resolve();
      return false;
    });
    if (this.#settings.checkpointFile === undefined) return;
    await mkdir(dirname(this.#settings.checkpointFile), { recursive: true });
    await writeFile(this.#settings.checkpointFile, sequence);
  }
}
