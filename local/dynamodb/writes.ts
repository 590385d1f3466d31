import type { GatewayContext, OperationHandler } from './context';
import { isConditionalCheckFailure, parseWireError } from './errors';
import { publishCommitted, readBefore, type WriteTarget } from './images';
import { pickKey } from './items';
import {
  BatchWriteItemRequestSchema,
  type Item,
  KeyedItemRequestSchema,
  PutItemRequestSchema,
} from './schemas';
import { activeStream } from './tables';
import { errorResponse, type GatewayRequest, readJson, type WireResponse } from './wire';

/*
 * Single-item writes and BatchWriteItem. The client's request goes to dynalite unchanged (so its answer,
 * checksum included, goes back unchanged); under the write lock the gateway reads the item before and
 * after, which gives the stream record's images exactly as committed.
 */

interface SingleWrite {
  readonly tableName: string;
  readonly keyOf: (keyNames: readonly string[]) => Item;
  /** ReturnValuesOnConditionCheckFailure ALL_OLD, which dynalite ignores. */
  readonly returnsOldOnFailure: boolean;
}

export const handlePutItem: OperationHandler = (context, request, payload) => {
  const parsed = PutItemRequestSchema.safeParse(payload);
  if (!parsed.success) return forwardUnderLock(context, request);
  const { TableName, Item: item, ReturnValuesOnConditionCheckFailure } = parsed.data;
  return writeOneItem(context, request, {
    tableName: TableName,
    keyOf: (keyNames) => pickKey(item, keyNames),
    returnsOldOnFailure: ReturnValuesOnConditionCheckFailure === 'ALL_OLD',
  });
};

/** UpdateItem and DeleteItem: both name their item by Key. */
export const handleKeyedWrite: OperationHandler = (context, request, payload) => {
  const parsed = KeyedItemRequestSchema.safeParse(payload);
  if (!parsed.success) return forwardUnderLock(context, request);
  const { TableName, Key: key, ReturnValuesOnConditionCheckFailure } = parsed.data;
  return writeOneItem(context, request, {
    tableName: TableName,
    keyOf: () => key,
    returnsOldOnFailure: ReturnValuesOnConditionCheckFailure === 'ALL_OLD',
  });
};

export const handleBatchWriteItem: OperationHandler = (context, request, payload) =>
  context.writeLock.run(async () => {
    const parsed = BatchWriteItemRequestSchema.safeParse(payload);
    if (!parsed.success) return context.dynalite.forward(request);
    const targets: WriteTarget[] = [];
    for (const [tableName, requests] of Object.entries(parsed.data.RequestItems)) {
      if (activeStream(context, tableName) === undefined) continue;
      for (const { PutRequest, DeleteRequest } of requests) {
        const target = await readBefore(context, tableName, (keyNames) =>
          PutRequest === undefined ? (DeleteRequest?.Key ?? {}) : pickKey(PutRequest.Item, keyNames),
        );
        // dynalite refuses the batch with the right error: let it answer.
        if (target === undefined) return context.dynalite.forward(request);
        targets.push(target);
      }
    }
    const response = await context.dynalite.forward(request);
    if (response.statusCode !== 200) return response;
    await publishCommitted(context, targets);
    return response;
  });

function forwardUnderLock(context: GatewayContext, request: GatewayRequest): Promise<WireResponse> {
  return context.writeLock.run(() => context.dynalite.forward(request));
}

function writeOneItem(
  context: GatewayContext,
  request: GatewayRequest,
  write: SingleWrite,
): Promise<WireResponse> {
  return context.writeLock.run(async () => {
    const streamed = activeStream(context, write.tableName) !== undefined;
    if (!streamed && !write.returnsOldOnFailure) return context.dynalite.forward(request);
    const target = await readBefore(context, write.tableName, write.keyOf);
    if (target === undefined) return context.dynalite.forward(request);

    const response = await context.dynalite.forward(request);
    if (response.statusCode !== 200) {
      return write.returnsOldOnFailure ? withOldItem(response, target.oldImage) : response;
    }
    if (streamed) await publishCommitted(context, [target]);
    return response;
  });
}

/** AWS returns the item in a ConditionalCheckFailedException when the request asks for ALL_OLD. */
function withOldItem(response: WireResponse, oldImage: Item | undefined): WireResponse {
  const error = parseWireError(response.statusCode, readJson(response.body));
  if (!isConditionalCheckFailure(error) || oldImage === undefined) return response;
  return errorResponse(error.withMembers({ Item: oldImage }));
}
