import * as z from 'zod';
import {
  ErrorTypes,
  MAX_GET_RECORDS_LIMIT,
  SEQUENCE_NUMBER_WIDTH,
  SHARD_ID,
  SHARD_ITERATOR_TTL_MS,
} from './constants';
import type { GatewayContext, OperationHandler } from './context';
import { DynamoServiceError, resourceNotFoundError, validationError } from './errors';
import type { StreamState } from './metadata';
import {
  DescribeStreamRequestSchema,
  GetRecordsRequestSchema,
  GetShardIteratorRequestSchema,
  ListStreamsRequestSchema,
} from './schemas';
import { streamArnOf } from './stream-records';
import { jsonResponse } from './wire';

/*
 * The DynamoDB Streams API (DynamoDBStreams_20120810) over the stream log, for tools that poll a
 * stream the way AWS's Lambda pollers or the KCL adapter do. Each stream has one shard.
 */

export const handleListStreams: OperationHandler = async (context, _request, payload) => {
  const { TableName, Limit, ExclusiveStartStreamArn } = parse(ListStreamsRequestSchema, payload);
  const streams = context.metadata
    .tablesWithStreams()
    .filter(({ tableName }) => TableName === undefined || tableName === TableName)
    .map(({ tableName, stream }) => ({
      StreamArn: arnOf(context, tableName, stream),
      TableName: tableName,
      StreamLabel: stream.label,
    }))
    .sort((left, right) => left.StreamArn.localeCompare(right.StreamArn));
  const start =
    ExclusiveStartStreamArn === undefined
      ? 0
      : streams.findIndex((stream) => stream.StreamArn === ExclusiveStartStreamArn) + 1;
  const page = streams.slice(start, start + (Limit ?? 100));
  const more = start + page.length < streams.length;
  return jsonResponse(200, {
    Streams: page,
    ...(more ? { LastEvaluatedStreamArn: page.at(-1)?.StreamArn } : {}),
  });
};

export const handleDescribeStream: OperationHandler = async (context, _request, payload) => {
  const { StreamArn } = parse(DescribeStreamRequestSchema, payload);
  const { tableName, stream } = resolveStream(context, StreamArn);
  const table = await context.dynalite.describeTable(tableName);
  const [first] = context.streams.read(tableName, undefined, 1);
  const range = {
    StartingSequenceNumber: first?.dynamodb?.SequenceNumber ?? '0'.padStart(SEQUENCE_NUMBER_WIDTH, '0'),
    // A disabled stream's shard is closed: nothing comes after what it holds.
    ...(stream.enabled ? {} : { EndingSequenceNumber: context.streams.latestSequenceNumber() }),
  };
  return jsonResponse(200, {
    StreamDescription: {
      StreamArn,
      StreamLabel: stream.label,
      StreamStatus: stream.enabled ? 'ENABLED' : 'DISABLED',
      StreamViewType: stream.viewType,
      CreationRequestDateTime: Date.parse(`${stream.label}Z`) / 1000,
      TableName: tableName,
      KeySchema: table.KeySchema,
      Shards: [{ ShardId: SHARD_ID, SequenceNumberRange: range }],
    },
  });
};

export const handleGetShardIterator: OperationHandler = async (context, _request, payload) => {
  const request = parse(GetShardIteratorRequestSchema, payload);
  const { tableName, stream } = resolveStream(context, request.StreamArn);
  if (request.ShardId !== SHARD_ID)
    throw resourceNotFoundError(`Requested resource not found: Shard: ${request.ShardId} not found`);
  const sequenceNumber = request.SequenceNumber;
  const bySequenceNumber = request.ShardIteratorType.endsWith('_SEQUENCE_NUMBER');
  if (bySequenceNumber !== (sequenceNumber !== undefined)) {
    throw validationError(
      'SequenceNumber is required with, and only with, AT_SEQUENCE_NUMBER and AFTER_SEQUENCE_NUMBER',
    );
  }
  let after: string | null;
  if (request.ShardIteratorType === 'TRIM_HORIZON') after = null;
  else if (request.ShardIteratorType === 'LATEST') after = context.streams.latestSequenceNumber();
  else if (request.ShardIteratorType === 'AFTER_SEQUENCE_NUMBER') after = sequenceNumber!;
  else after = (BigInt(sequenceNumber!) - 1n).toString();
  return jsonResponse(200, {
    ShardIterator: encodeIterator(context, { tableName, label: stream.label, after }),
  });
};

export const handleGetRecords: OperationHandler = async (context, _request, payload) => {
  const request = parse(GetRecordsRequestSchema, payload);
  const iterator = decodeIterator(request.ShardIterator);
  if (context.now() - iterator.issuedAtMs > SHARD_ITERATOR_TTL_MS) {
    throw new DynamoServiceError(400, ErrorTypes.expiredIterator, 'Iterator expired');
  }
  const stream = context.metadata.get(iterator.tableName).stream;
  if (stream === undefined || stream.label !== iterator.label) {
    throw resourceNotFoundError('Requested resource not found: Stream not found');
  }
  const records = context.streams
    .read(iterator.tableName, iterator.after ?? undefined, request.Limit ?? MAX_GET_RECORDS_LIMIT)
    // The Streams API has no eventSourceARN: Lambda adds it to the records it delivers.
    .map(({ eventSourceARN: _arn, ...record }) => record);
  const after = records.at(-1)?.dynamodb?.SequenceNumber ?? iterator.after;
  const closed = !stream.enabled && records.length === 0;
  return jsonResponse(200, {
    Records: records,
    ...(closed ? {} : { NextShardIterator: encodeIterator(context, { ...iterator, after }) }),
  });
};

function parse<T>(schema: z.ZodType<T>, payload: unknown): T {
  const parsed = schema.safeParse(payload);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw validationError(
    `1 validation error detected: Value at '${issue?.path.join('.')}' failed to satisfy constraint: ${issue?.message}`,
  );
}

function arnOf(context: GatewayContext, tableName: string, stream: StreamState): string {
  return streamArnOf(context.region, context.accountId, tableName, stream.label);
}

function resolveStream(
  context: GatewayContext,
  streamArn: string,
): { tableName: string; stream: StreamState } {
  const match = /^arn:aws:dynamodb:[^:]*:\d*:table\/([^/]+)\/stream\/(.+)$/.exec(streamArn);
  const stream = match === null ? undefined : context.metadata.get(match[1]!).stream;
  if (match === null || stream === undefined || arnOf(context, match[1]!, stream) !== streamArn) {
    throw resourceNotFoundError(`Requested resource not found: Stream: ${streamArn} not found`);
  }
  return { tableName: match[1]!, stream };
}

const IteratorSchema = z.object({
  tableName: z.string(),
  label: z.string(),
  /** Sequence number the next read starts after; null: from the oldest retained record. */
  after: z.string().nullable(),
  issuedAtMs: z.number(),
});
type ShardIterator = z.infer<typeof IteratorSchema>;

function encodeIterator(context: GatewayContext, iterator: Omit<ShardIterator, 'issuedAtMs'>): string {
  return Buffer.from(JSON.stringify({ ...iterator, issuedAtMs: context.now() })).toString('base64url');
}

function decodeIterator(text: string): ShardIterator {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    decoded = undefined;
  }
  const parsed = IteratorSchema.safeParse(decoded);
  if (!parsed.success) throw validationError('Invalid ShardIterator');
  return parsed.data;
}
