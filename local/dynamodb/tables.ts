import * as z from 'zod';
import type { GatewayContext, OperationHandler } from './context';
import type { DynaliteClient } from './dynalite-client';
import { validationError } from './errors';
import type { StreamState } from './metadata';
import { CreateTableRequestSchema, TableRequestSchema, UpdateTableRequestSchema } from './schemas';
import { type StreamDescriptor, streamArnOf, streamLabelAt } from './stream-records';
import { jsonResponse, readJson, type WireResponse } from './wire';

/*
 * Table operations go to dynalite; the gateway adds what dynalite drops: the stream specification
 * (and the stream's ARN and label) of each table.
 */

/** Key attribute names per table (hash key first), read from dynalite once. */
export class KeySchemaCache {
  private readonly cache = new Map<string, readonly string[]>();

  constructor(private readonly dynalite: DynaliteClient) {}

  /** Rejects with ResourceNotFoundException when the table does not exist. */
  async keyNames(tableName: string): Promise<readonly string[]> {
    const cached = this.cache.get(tableName);
    if (cached !== undefined) return cached;
    const table = await this.dynalite.describeTable(tableName);
    const names = [
      ...table.KeySchema.filter((element) => element.KeyType === 'HASH'),
      ...table.KeySchema.filter((element) => element.KeyType === 'RANGE'),
    ].map((element) => element.AttributeName);
    this.cache.set(tableName, names);
    return names;
  }

  forget(tableName: string): void {
    this.cache.delete(tableName);
  }
}

/** The table's enabled stream, if it has one. */
export function activeStream(
  context: Pick<GatewayContext, 'metadata' | 'region' | 'accountId'>,
  tableName: string,
): StreamDescriptor | undefined {
  const stream = context.metadata.get(tableName).stream;
  if (stream === undefined || !stream.enabled) return undefined;
  return {
    arn: streamArnOf(context.region, context.accountId, tableName, stream.label),
    viewType: stream.viewType,
  };
}

export const handleCreateTable: OperationHandler = async (context, request, payload) => {
  const parsed = CreateTableRequestSchema.safeParse(payload);
  if (!parsed.success) return context.dynalite.forward(request);
  const { TableName: tableName, StreamSpecification: specification } = parsed.data;
  if (specification?.StreamEnabled && specification.StreamViewType === undefined) {
    throw validationError(
      'One or more parameter values were invalid: StreamViewType is required when StreamEnabled is true',
    );
  }
  const response = await context.dynalite.forward(request);
  if (response.statusCode !== 200) return response;
  // A table created anew, even under an old name, starts without the old one's settings and records.
  context.keySchemas.forget(tableName);
  context.streams.drop(tableName);
  const stream: StreamState | undefined =
    specification?.StreamEnabled && specification.StreamViewType !== undefined
      ? { enabled: true, viewType: specification.StreamViewType, label: streamLabelAt(context.now()) }
      : undefined;
  context.metadata.replace(tableName, stream === undefined ? {} : { stream });
  await untilActive(context, tableName);
  return withStreamDescription(context, response, 'TableDescription', tableName);
};

export const handleDescribeTable: OperationHandler = async (context, request, payload) => {
  const response = await context.dynalite.forward(request);
  const parsed = TableRequestSchema.safeParse(payload);
  if (response.statusCode !== 200 || !parsed.success) return response;
  return withStreamDescription(context, response, 'Table', parsed.data.TableName);
};

export const handleDeleteTable: OperationHandler = async (context, request, payload) => {
  const response = await context.dynalite.forward(request);
  const parsed = TableRequestSchema.safeParse(payload);
  if (response.statusCode !== 200 || !parsed.success) return response;
  const tableName = parsed.data.TableName;
  const answered = withStreamDescription(context, response, 'TableDescription', tableName);
  context.keySchemas.forget(tableName);
  context.metadata.forget(tableName);
  context.streams.drop(tableName);
  return answered;
};

/**
 * dynalite ignores StreamSpecification and refuses an UpdateTable that changes nothing else, so a
 * stream-only update is answered here; any other change still goes to dynalite.
 */
export const handleUpdateTable: OperationHandler = async (context, request, payload) => {
  const parsed = UpdateTableRequestSchema.safeParse(payload);
  if (!parsed.success || parsed.data.StreamSpecification === undefined) {
    const response = await context.dynalite.forward(request);
    if (response.statusCode !== 200 || !parsed.success) return response;
    return withStreamDescription(context, response, 'TableDescription', parsed.data.TableName);
  }
  const { TableName: tableName, StreamSpecification: specification, ...rest } = parsed.data;
  await context.keySchemas.keyNames(tableName);
  const stream = nextStreamState(context, tableName, specification);

  const changesMore = Object.keys(rest).length > 0;
  let response: WireResponse;
  if (changesMore) {
    response = await context.dynalite.forward(request);
    if (response.statusCode !== 200) return response;
  } else {
    response = jsonResponse(200, { TableDescription: await context.dynalite.describeTable(tableName) });
  }
  context.metadata.update(tableName, { stream });
  return withStreamDescription(context, response, 'TableDescription', tableName);
};

function nextStreamState(
  context: GatewayContext,
  tableName: string,
  specification: { StreamEnabled: boolean; StreamViewType?: StreamState['viewType'] | undefined },
): StreamState {
  const current = context.metadata.get(tableName).stream;
  if (specification.StreamEnabled) {
    if (current?.enabled) {
      throw validationError(`Table already has an enabled stream: TableName: ${tableName}`);
    }
    if (specification.StreamViewType === undefined) {
      throw validationError(
        'One or more parameter values were invalid: StreamViewType is required when StreamEnabled is true',
      );
    }
    return { enabled: true, viewType: specification.StreamViewType, label: streamLabelAt(context.now()) };
  }
  if (current === undefined || !current.enabled) {
    throw validationError(`Table does not have an enabled stream: TableName: ${tableName}`);
  }
  // A disabled stream keeps its ARN and label, which DescribeTable still reports, as AWS.
  return { ...current, enabled: false };
}

/** Pause between polls for a table dynalite has not made ACTIVE yet (it does so on its next timer tick). */
const ACTIVE_POLL_MS = 2;
const ACTIVE_POLL_ATTEMPTS = 500;

/**
 * dynalite answers CreateTable with CREATING and flips the table to ACTIVE a moment later; waiting for
 * that here means a client can write right after CreateTable, and waiters succeed on their first poll.
 * The answer still says CREATING, as AWS's does.
 */
async function untilActive(context: GatewayContext, tableName: string): Promise<void> {
  for (let attempt = 0; attempt < ACTIVE_POLL_ATTEMPTS; attempt += 1) {
    const table = await context.dynalite.describeTable(tableName);
    if (table.TableStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, ACTIVE_POLL_MS));
  }
}

const DescriptionBodySchema = z.record(z.string(), z.unknown());
const DescriptionSchema = z.looseObject({});

/** Adds StreamSpecification, LatestStreamArn and LatestStreamLabel to a table description answer. */
function withStreamDescription(
  context: GatewayContext,
  response: WireResponse,
  member: 'Table' | 'TableDescription',
  tableName: string,
): WireResponse {
  const stream = context.metadata.get(tableName).stream;
  if (stream === undefined) return response;
  const body = DescriptionBodySchema.safeParse(readJson(response.body));
  const description = DescriptionSchema.safeParse(body.data?.[member]);
  if (!body.success || !description.success) return response;
  const streamMembers = {
    ...(stream.enabled
      ? { StreamSpecification: { StreamEnabled: true, StreamViewType: stream.viewType } }
      : {}),
    LatestStreamArn: streamArnOf(context.region, context.accountId, tableName, stream.label),
    LatestStreamLabel: stream.label,
  };
  return jsonResponse(200, { ...body.data, [member]: { ...description.data, ...streamMembers } });
}
