import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import * as z from 'zod';

/**
 * A DynamoDB Streams record as Lambda delivers it, images unmarshalled. Written here rather than taken
 * from Powertools parser, whose schemas import zod's whole namespace (about 300 KB in every bundle).
 */
const ImageSchema = z.record(z.string(), z.unknown()).transform((image, context) => {
  try {
    return unmarshall(image as Record<string, AttributeValue>);
  } catch (error) {
    context.addIssue({ code: 'custom', message: `not a DynamoDB image: ${String(error)}` });
    return z.NEVER;
  }
});

export const SessionStreamRecordSchema = z
  .object({
    eventName: z.enum(['INSERT', 'MODIFY', 'REMOVE']),
    eventSource: z.literal('aws:dynamodb').optional(),
    eventSourceARN: z.string().optional(),
    dynamodb: z
      .object({
        Keys: z.record(z.string(), z.unknown()),
        NewImage: ImageSchema.optional(),
        OldImage: ImageSchema.optional(),
        SequenceNumber: z.string().regex(/^\d+$/),
        StreamViewType: z.enum(['KEYS_ONLY', 'NEW_IMAGE', 'OLD_IMAGE', 'NEW_AND_OLD_IMAGES']).optional(),
      })
      .loose(),
  })
  .loose();
export type SessionStreamRecord = z.infer<typeof SessionStreamRecordSchema>;
