import type { AttributeValue } from 'aws-lambda';
import * as z from 'zod';

/*
 * Request and response shapes the gateway reads. Attribute values are only checked to be objects:
 * dynalite validates them in full, and the gateway forwards them untouched.
 */

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export const AttributeValueSchema = z.custom<AttributeValue>(isPlainObject, 'Expected an attribute value');
export const ItemSchema = z.record(z.string(), AttributeValueSchema);
/** An item or a key in DynamoDB JSON, e.g. `{ pk: { S: 'a' } }`, which is also the stream image shape. */
export type Item = z.infer<typeof ItemSchema>;

export const StreamViewTypeSchema = z.enum(['KEYS_ONLY', 'NEW_IMAGE', 'OLD_IMAGE', 'NEW_AND_OLD_IMAGES']);
export type StreamViewType = z.infer<typeof StreamViewTypeSchema>;

export const StreamSpecificationSchema = z.object({
  StreamEnabled: z.boolean(),
  StreamViewType: StreamViewTypeSchema.optional(),
});

const TableName = z.string().min(1);
const ExpressionAttributeNames = z.record(z.string(), z.string()).optional();
const ReturnValuesOnConditionCheckFailure = z.enum(['ALL_OLD', 'NONE']).optional();

export const TableRequestSchema = z.looseObject({ TableName });

export const CreateTableRequestSchema = z.looseObject({
  TableName,
  StreamSpecification: StreamSpecificationSchema.optional(),
});

export const UpdateTableRequestSchema = CreateTableRequestSchema;

export const PutItemRequestSchema = z.looseObject({
  TableName,
  Item: ItemSchema,
  ReturnValuesOnConditionCheckFailure,
});

export const KeyedItemRequestSchema = z.looseObject({
  TableName,
  Key: ItemSchema,
  ReturnValuesOnConditionCheckFailure,
});

export const BatchWriteItemRequestSchema = z.looseObject({
  RequestItems: z.record(
    z.string(),
    z.array(
      z.object({
        PutRequest: z.object({ Item: ItemSchema }).optional(),
        DeleteRequest: z.object({ Key: ItemSchema }).optional(),
      }),
    ),
  ),
});

const ConditionFields = {
  ConditionExpression: z.string().optional(),
  ExpressionAttributeNames,
  ExpressionAttributeValues: ItemSchema.optional(),
  ReturnValuesOnConditionCheckFailure,
};

export const TransactPutSchema = z.object({ TableName, Item: ItemSchema, ...ConditionFields });
export const TransactUpdateSchema = z.object({
  TableName,
  Key: ItemSchema,
  UpdateExpression: z.string(),
  ...ConditionFields,
});
export const TransactDeleteSchema = z.object({ TableName, Key: ItemSchema, ...ConditionFields });
export const TransactConditionCheckSchema = z.object({
  TableName,
  Key: ItemSchema,
  ...ConditionFields,
  ConditionExpression: z.string(),
});

export const TransactWriteItemsRequestSchema = z.looseObject({
  TransactItems: z
    .array(
      z.object({
        Put: TransactPutSchema.optional(),
        Update: TransactUpdateSchema.optional(),
        Delete: TransactDeleteSchema.optional(),
        ConditionCheck: TransactConditionCheckSchema.optional(),
      }),
    )
    .min(1),
});
export type TransactWriteItemsRequest = z.infer<typeof TransactWriteItemsRequestSchema>;

export const TransactGetItemsRequestSchema = z.looseObject({
  TransactItems: z
    .array(
      z.object({
        Get: z.object({
          TableName,
          Key: ItemSchema,
          ProjectionExpression: z.string().optional(),
          ExpressionAttributeNames,
        }),
      }),
    )
    .min(1),
});

export const UpdateTimeToLiveRequestSchema = z.looseObject({
  TableName,
  TimeToLiveSpecification: z.object({ Enabled: z.boolean(), AttributeName: z.string().min(1) }),
});

export const GetItemResponseSchema = z.looseObject({ Item: ItemSchema.optional() });
export const ReturnedAttributesSchema = z.looseObject({ Attributes: ItemSchema.optional() });
export const ScanResponseSchema = z.looseObject({
  Items: z.array(ItemSchema),
  LastEvaluatedKey: ItemSchema.optional(),
});

export const TableDescriptionSchema = z.looseObject({
  TableName: z.string(),
  TableStatus: z.string().optional(),
  KeySchema: z.array(z.object({ AttributeName: z.string(), KeyType: z.enum(['HASH', 'RANGE']) })),
});
export type TableDescription = z.infer<typeof TableDescriptionSchema>;
export const DescribeTableResponseSchema = z.looseObject({ Table: TableDescriptionSchema });
export const TableDescriptionResponseSchema = z.looseObject({ TableDescription: TableDescriptionSchema });

export const ListStreamsRequestSchema = z.looseObject({
  TableName: z.string().optional(),
  Limit: z.number().int().min(1).max(100).optional(),
  ExclusiveStartStreamArn: z.string().optional(),
});
export const DescribeStreamRequestSchema = z.looseObject({ StreamArn: z.string() });
export const GetShardIteratorRequestSchema = z.looseObject({
  StreamArn: z.string(),
  ShardId: z.string(),
  ShardIteratorType: z.enum(['TRIM_HORIZON', 'LATEST', 'AT_SEQUENCE_NUMBER', 'AFTER_SEQUENCE_NUMBER']),
  SequenceNumber: z.string().regex(/^\d+$/).optional(),
});
export const GetRecordsRequestSchema = z.looseObject({
  ShardIterator: z.string(),
  Limit: z.number().int().min(1).max(1000).optional(),
});
