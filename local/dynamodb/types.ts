import type { DynamoDBRecord } from 'aws-lambda';

export interface LocalDynamoOptions {
  /** Undefined: in memory. Otherwise tables, stream specs, TTL settings and the stream log persist here. */
  dataDir?: string;
  /** 0 or undefined: an ephemeral port. */
  port?: number;
  /** Loopback only (127.0.0.1 by default): this is a development tool without authentication. */
  host?: string;
  region?: string;
  accountId?: string;
  /** How often expired items are deleted; 0 disables the sweeper. */
  ttlSweepIntervalMs?: number;
  /** Clock in epoch milliseconds, for TTL expiry, ApproximateCreationDateTime and stream retention. */
  now?: () => number;
}

export interface LocalDynamo {
  /** For clients: the `endpoint` option or AWS_ENDPOINT_URL_DYNAMODB. */
  readonly endpoint: string;
  readonly streams: StreamHub;
  close(): Promise<void>;
}

export interface StreamHub {
  /** The ARN of the table's enabled stream, if it has one. */
  streamArn(tableName: string): string | undefined;
  /** Retained records of a table after the given sequence number (exclusive), in commit order. */
  read(tableName: string, afterSequenceNumber?: string, limit?: number): DynamoDBRecord[];
  /** The sequence number of the table's newest retained record (what read() would end with), if any. */
  lastSequenceNumber(tableName: string): string | undefined;
  /** Live delivery of every newly committed record, in commit order; returns an unsubscribe function. */
  subscribe(tableName: string, listener: StreamListener): () => void;
}

export type StreamListener = (record: DynamoDBRecord) => void;
