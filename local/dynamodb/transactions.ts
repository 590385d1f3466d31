import * as z from 'zod';
import { CONDITIONAL_CHECK_FAILED_MESSAGE, ErrorTypes, MAX_TRANSACTION_ACTIONS } from './constants';
import type { GatewayContext, OperationHandler } from './context';
import { DynamoServiceError, isConditionalCheckFailure, LocalDynamoError, validationError } from './errors';
import { publishCommitted, type WriteTarget } from './images';
import { itemIdentity, pickKey } from './items';
import {
  GetItemResponseSchema,
  type Item,
  TransactGetItemsRequestSchema,
  type TransactWriteItemsRequest,
  TransactWriteItemsRequestSchema,
} from './schemas';
import { jsonResponse, type WireResponse } from './wire';

/*
 * TransactWriteItems, which dynalite does not have, built from its single-item operations under the
 * gateway's write lock: every write goes through that lock, so nothing interleaves with a transaction,
 * and inside its commit gate, so no read sees one half applied.
 *
 * 1. Resolve every action's key and read its current image (refusing two actions on one item).
 * 2. Evaluate every condition with a write that changes nothing (the item put back as it is, or a
 *    delete of an item that does not exist), so that a cancellation names each failed action, as AWS.
 * 3. Apply the writes in order; should one still fail, restore the applied ones from their images.
 * 4. Read the new images and publish the stream records, only once everything has committed.
 */

type ActionKind = 'Put' | 'Update' | 'Delete' | 'ConditionCheck';

interface Condition {
  readonly ConditionExpression?: string | undefined;
  readonly ExpressionAttributeNames?: Record<string, string> | undefined;
  readonly ExpressionAttributeValues?: Item | undefined;
}

interface PreparedAction extends WriteTarget {
  readonly kind: ActionKind;
  readonly condition: Condition;
  readonly returnsOldOnFailure: boolean;
  /** The write as dynalite takes it (PutItem, UpdateItem or DeleteItem); none for a ConditionCheck. */
  readonly write?: { readonly operation: 'PutItem' | 'UpdateItem' | 'DeleteItem'; readonly payload: object };
}

type CancellationReason =
  | { Code: 'None' }
  | { Code: 'ConditionalCheckFailed'; Message: string; Item?: Item }
  | { Code: 'ValidationError'; Message: string };

const AnyAnswerSchema = z.unknown();

export const handleTransactWriteItems: OperationHandler = async (context, _request, payload) => {
  const request = parseTransactionRequest(TransactWriteItemsRequestSchema, payload);
  return context.writeLock.run(() =>
    context.commitGate.transaction(() => applyTransaction(context, request)),
  );
};

const applyTransaction = async (
  context: GatewayContext,
  request: TransactWriteItemsRequest,
): Promise<WireResponse> => {
  const actions = await prepare(context, request);

  const reasons: CancellationReason[] = [];
  for (const action of actions) reasons.push(await checkCondition(context, action));
  if (reasons.some((reason) => reason.Code !== 'None')) throw transactionCanceled(reasons);

  const applied: PreparedAction[] = [];
  for (const [index, action] of actions.entries()) {
    if (action.write === undefined) continue;
    try {
      await context.dynalite.call(action.write.operation, action.write.payload, AnyAnswerSchema);
      applied.push(action);
    } catch (error) {
      await rollBack(context, applied);
      throw cancellationFor(error, index, actions);
    }
  }

  await publishCommitted(context, applied);
  return jsonResponse(200, {});
};

/** Consistent reads of every item, isolated from transactions by the write lock, in AWS's answer shape. */
export const handleTransactGetItems: OperationHandler = async (context, _request, payload) => {
  const request = parseTransactionRequest(TransactGetItemsRequestSchema, payload);
  return context.writeLock.run(async () => {
    const responses: Array<{ Item?: Item }> = [];
    for (const { Get } of request.TransactItems) {
      const answer = await context.dynalite.call(
        'GetItem',
        { ...Get, ConsistentRead: true },
        GetItemResponseSchema,
      );
      responses.push(answer.Item === undefined ? {} : { Item: answer.Item });
    }
    return jsonResponse(200, { Responses: responses });
  });
};

function parseTransactionRequest<T extends { TransactItems: unknown[] }>(
  schema: z.ZodType<T>,
  payload: unknown,
): T {
  const parsed = schema.safeParse(payload);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.') ?? '';
    throw validationError(
      `1 validation error detected: Value at '${path}' failed to satisfy constraint: ${issue?.message}`,
    );
  }
  if (parsed.data.TransactItems.length > MAX_TRANSACTION_ACTIONS) {
    throw validationError(
      "1 validation error detected: Value at 'transactItems' failed to satisfy constraint: " +
        `Member must have length less than or equal to ${MAX_TRANSACTION_ACTIONS}`,
    );
  }
  return parsed.data;
}

async function prepare(
  context: GatewayContext,
  request: TransactWriteItemsRequest,
): Promise<PreparedAction[]> {
  const actions: PreparedAction[] = [];
  const seen = new Set<string>();
  for (const element of request.TransactItems) {
    const kinds = (['Put', 'Update', 'Delete', 'ConditionCheck'] as const).filter(
      (kind) => element[kind] !== undefined,
    );
    if (kinds.length !== 1) {
      throw validationError('TransactItems can only contain one of Check, Put, Update or Delete');
    }
    const keyNames = await context.keySchemas.keyNames(tableNameOf(element));
    const action = describeAction(element, keyNames);
    const identity = itemIdentity(action.tableName, action.key);
    if (seen.has(identity)) {
      throw validationError('Transaction request cannot include multiple operations on one item');
    }
    seen.add(identity);
    actions.push({ ...action, oldImage: await context.dynalite.getItem(action.tableName, action.key) });
  }
  return actions;
}

type TransactElement = TransactWriteItemsRequest['TransactItems'][number];

function tableNameOf(element: TransactElement): string {
  return (element.Put ?? element.Update ?? element.Delete ?? element.ConditionCheck)!.TableName;
}

function describeAction(
  element: TransactElement,
  keyNames: readonly string[],
): Omit<PreparedAction, 'oldImage'> {
  const common = (
    action: Condition & { TableName: string; ReturnValuesOnConditionCheckFailure?: string | undefined },
  ) => ({
    tableName: action.TableName,
    condition: conditionOf(action),
    returnsOldOnFailure: action.ReturnValuesOnConditionCheckFailure === 'ALL_OLD',
  });
  if (element.Put !== undefined) {
    const { Put } = element;
    return {
      kind: 'Put',
      key: pickKey(Put.Item, keyNames),
      ...common(Put),
      write: {
        operation: 'PutItem',
        payload: { TableName: Put.TableName, Item: Put.Item, ...conditionOf(Put) },
      },
    };
  }
  if (element.Update !== undefined) {
    const { Update } = element;
    const payload = {
      TableName: Update.TableName,
      Key: Update.Key,
      UpdateExpression: Update.UpdateExpression,
    };
    return {
      kind: 'Update',
      key: Update.Key,
      ...common(Update),
      write: { operation: 'UpdateItem', payload: { ...payload, ...conditionOf(Update) } },
    };
  }
  if (element.Delete !== undefined) {
    const { Delete } = element;
    return {
      kind: 'Delete',
      key: Delete.Key,
      ...common(Delete),
      write: {
        operation: 'DeleteItem',
        payload: { TableName: Delete.TableName, Key: Delete.Key, ...conditionOf(Delete) },
      },
    };
  }
  const check = element.ConditionCheck!;
  return { kind: 'ConditionCheck', key: check.Key, ...common(check) };
}

/** The condition members that are set (dynalite refuses empty maps). */
function conditionOf(source: Condition): Condition {
  const condition: { -readonly [K in keyof Condition]: Condition[K] } = {};
  if (source.ConditionExpression !== undefined) condition.ConditionExpression = source.ConditionExpression;
  if (source.ExpressionAttributeNames !== undefined)
    condition.ExpressionAttributeNames = source.ExpressionAttributeNames;
  if (source.ExpressionAttributeValues !== undefined)
    condition.ExpressionAttributeValues = source.ExpressionAttributeValues;
  return condition;
}

/**
 * The condition alone, for evaluating it apart from its update: dynalite refuses placeholders that the
 * expression does not use, and an Update's placeholders are shared with its UpdateExpression.
 */
function conditionAlone(condition: Condition): Condition {
  const expression = condition.ConditionExpression ?? '';
  const used = new Set(expression.match(/[#:][A-Za-z0-9_]+/g) ?? []);
  const names = Object.entries(condition.ExpressionAttributeNames ?? {}).filter(([name]) => used.has(name));
  const values = Object.entries(condition.ExpressionAttributeValues ?? {}).filter(([name]) => used.has(name));
  return conditionOf({
    ConditionExpression: condition.ConditionExpression,
    ExpressionAttributeNames: names.length > 0 ? Object.fromEntries(names) : undefined,
    ExpressionAttributeValues: values.length > 0 ? Object.fromEntries(values) : undefined,
  });
}

/** Evaluates an action's condition against the item as it is, changing nothing. */
async function checkCondition(context: GatewayContext, action: PreparedAction): Promise<CancellationReason> {
  if (action.condition.ConditionExpression === undefined) return { Code: 'None' };
  // A ConditionCheck's placeholders all belong to its condition: dynalite checks they are all used.
  const condition = action.kind === 'ConditionCheck' ? action.condition : conditionAlone(action.condition);
  const probe =
    action.oldImage === undefined
      ? { operation: 'DeleteItem', payload: { TableName: action.tableName, Key: action.key, ...condition } }
      : {
          operation: 'PutItem',
          payload: { TableName: action.tableName, Item: action.oldImage, ...condition },
        };
  try {
    await context.dynalite.call(probe.operation, probe.payload, AnyAnswerSchema);
    return { Code: 'None' };
  } catch (error) {
    if (!isConditionalCheckFailure(error)) throw error;
    return conditionalCheckFailed(action);
  }
}

function conditionalCheckFailed(action: PreparedAction): CancellationReason {
  return {
    Code: 'ConditionalCheckFailed',
    Message: CONDITIONAL_CHECK_FAILED_MESSAGE,
    ...(action.returnsOldOnFailure && action.oldImage !== undefined ? { Item: action.oldImage } : {}),
  };
}

/** Puts every applied action's item back as it was, newest first. */
async function rollBack(context: GatewayContext, applied: readonly PreparedAction[]): Promise<void> {
  for (const action of [...applied].reverse()) {
    try {
      if (action.oldImage === undefined) {
        await context.dynalite.call(
          'DeleteItem',
          { TableName: action.tableName, Key: action.key },
          AnyAnswerSchema,
        );
      } else {
        await context.dynalite.call(
          'PutItem',
          { TableName: action.tableName, Item: action.oldImage },
          AnyAnswerSchema,
        );
      }
    } catch (error) {
      throw new LocalDynamoError(`Could not roll back a cancelled transaction on ${action.tableName}`, {
        cause: error,
      });
    }
  }
}

/**
 * What a write that failed while applying means for the client. A data error on one item (a type
 * mismatch, a missing attribute in an update) cancels the transaction with a ValidationError reason, as
 * AWS; a malformed request (expression syntax, unused placeholders) is refused as a whole.
 */
function cancellationFor(error: unknown, failedIndex: number, actions: readonly PreparedAction[]): unknown {
  if (!(error instanceof DynamoServiceError)) return error;
  const reasons: CancellationReason[] = actions.map(() => ({ Code: 'None' }));
  if (isConditionalCheckFailure(error)) {
    reasons[failedIndex] = conditionalCheckFailed(actions[failedIndex]!);
    return transactionCanceled(reasons);
  }
  const malformed = /^Invalid |ExpressionAttribute/.test(error.message);
  if (error.code !== 'ValidationException' || malformed) return error;
  reasons[failedIndex] = { Code: 'ValidationError', Message: error.message };
  return transactionCanceled(reasons);
}

function transactionCanceled(reasons: readonly CancellationReason[]): DynamoServiceError {
  const codes = reasons.map((reason) => reason.Code).join(', ');
  return new DynamoServiceError(
    400,
    ErrorTypes.transactionCanceled,
    `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes}]`,
    { CancellationReasons: reasons },
  );
}
