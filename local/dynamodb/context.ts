import type { CommitGate } from './commit-gate';
import type { DynaliteClient } from './dynalite-client';
import type { TableMetadataStore } from './metadata';
import type { Mutex } from './mutex';
import type { StreamLog } from './stream-log';
import type { KeySchemaCache } from './tables';
import type { GatewayRequest, WireResponse } from './wire';

/** What the gateway's operation handlers share. */
export interface GatewayContext {
  readonly dynalite: DynaliteClient;
  readonly metadata: TableMetadataStore;
  readonly keySchemas: KeySchemaCache;
  readonly streams: StreamLog;
  /** Every write, from clients, transactions and the TTL sweeper, runs under this one lock. */
  readonly writeLock: Mutex;
  /** Reads pass it together; a transaction (under the write lock too) holds it alone. */
  readonly commitGate: CommitGate;
  readonly region: string;
  readonly accountId: string;
  readonly now: () => number;
}

/** Handles one operation; `payload` is the request body read as JSON (undefined if it is not JSON). */
export type OperationHandler = (
  context: GatewayContext,
  request: GatewayRequest,
  payload: unknown,
) => Promise<WireResponse>;
