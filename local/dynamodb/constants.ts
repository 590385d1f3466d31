/** Wire protocol of the DynamoDB JSON API (awsJson1_0), as the AWS SDK v3 speaks it. */
export const DYNAMODB_TARGET_PREFIX = 'DynamoDB_20120810';
export const STREAMS_TARGET_PREFIX = 'DynamoDBStreams_20120810';
export const AMZ_JSON_CONTENT_TYPE = 'application/x-amz-json-1.0';

/** Error type names as AWS (and dynalite) put them in `__type`. */
export const ErrorTypes = {
  validation: 'com.amazon.coral.validate#ValidationException',
  missingAuthentication: 'com.amazon.coral.service#MissingAuthenticationTokenException',
  serialization: 'com.amazon.coral.service#SerializationException',
  unknownOperation: 'com.amazon.coral.service#UnknownOperationException',
  internal: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
  resourceNotFound: 'com.amazonaws.dynamodb.v20120810#ResourceNotFoundException',
  conditionalCheckFailed: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException',
  transactionCanceled: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
  expiredIterator: 'com.amazonaws.dynamodb.v20120810#ExpiredIteratorException',
  trimmedDataAccess: 'com.amazonaws.dynamodb.v20120810#TrimmedDataAccessException',
} as const;

export const CONDITIONAL_CHECK_FAILED_MESSAGE = 'The conditional request failed';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_REGION = 'us-east-1';
export const DEFAULT_ACCOUNT_ID = '000000000000';
export const DEFAULT_TTL_SWEEP_INTERVAL_MS = 1000;

/** dynalite refuses bodies above 16 MiB; the gateway buffers requests, so it holds the same line. */
export const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

/** AWS limit on TransactWriteItems / TransactGetItems. */
export const MAX_TRANSACTION_ACTIONS = 100;

/** DynamoDB Streams keeps records for 24 hours; we also cap the count so memory and disk stay bounded. */
export const STREAM_RETENTION_MS = 24 * 60 * 60 * 1000;
export const MAX_STREAM_RECORDS_PER_TABLE = 10_000;
/** Rewrite a table's log file once it holds this many lines that retention already dropped. */
export const STREAM_COMPACTION_SLACK = 1_000;
/** Fixed width so that string order of sequence numbers equals their numeric order. */
export const SEQUENCE_NUMBER_WIDTH = 21;

/** GetRecords limit, as AWS. */
export const MAX_GET_RECORDS_LIMIT = 1000;
/** A shard iterator expires 15 minutes after it was issued, as AWS. */
export const SHARD_ITERATOR_TTL_MS = 15 * 60 * 1000;
/** The one shard each local stream has. */
export const SHARD_ID = 'shardId-00000000000000000000-00000000';

/** Files the gateway keeps in a data folder, beside dynalite's LevelDB folder. */
export const DataDirLayout = {
  dynalite: 'tables',
  metadata: 'metadata.json',
  streams: 'streams',
  sequence: 'sequence.json',
} as const;
