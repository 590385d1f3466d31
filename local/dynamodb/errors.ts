import * as z from 'zod';
import { CONDITIONAL_CHECK_FAILED_MESSAGE, ErrorTypes } from './constants';

/** Base error of the local DynamoDB: a fault of the gateway itself (answered as HTTP 500). */
export class LocalDynamoError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LocalDynamoError';
  }
}

/**
 * An error DynamoDB answers to the client, in its wire shape (`__type`, `message`, extra members such as
 * `CancellationReasons` or `Item`). Handlers throw it; the gateway renders it with its status.
 */
export class DynamoServiceError extends LocalDynamoError {
  readonly statusCode: number;
  readonly type: string;
  readonly members: Readonly<Record<string, unknown>>;

  constructor(statusCode: number, type: string, message: string, members: Record<string, unknown> = {}) {
    super(message);
    this.name = 'DynamoServiceError';
    this.statusCode = statusCode;
    this.type = type;
    this.members = members;
  }

  /** The part of `__type` after the namespace, e.g. `ConditionalCheckFailedException`. */
  get code(): string {
    return this.type.slice(this.type.indexOf('#') + 1);
  }

  toWire(): Record<string, unknown> {
    return { __type: this.type, message: this.message, ...this.members };
  }

  withMembers(members: Record<string, unknown>): DynamoServiceError {
    return new DynamoServiceError(this.statusCode, this.type, this.message, { ...this.members, ...members });
  }
}

const WireErrorSchema = z.looseObject({
  __type: z.string(),
  message: z.string().optional(),
  // dynalite spells it `Message` on serialization errors.
  Message: z.string().optional(),
});

/** Reads an error answered by dynalite; anything unreadable is a fault of ours, not the client's. */
export function parseWireError(statusCode: number, body: unknown): DynamoServiceError {
  const parsed = WireErrorSchema.safeParse(body);
  if (!parsed.success) {
    return new DynamoServiceError(
      500,
      ErrorTypes.internal,
      `dynalite answered ${statusCode} without an error`,
    );
  }
  const { __type, message, Message, ...members } = parsed.data;
  return new DynamoServiceError(statusCode, __type, message ?? Message ?? '', members);
}

export function validationError(message: string): DynamoServiceError {
  return new DynamoServiceError(400, ErrorTypes.validation, message);
}

export function resourceNotFoundError(message = 'Requested resource not found'): DynamoServiceError {
  return new DynamoServiceError(400, ErrorTypes.resourceNotFound, message);
}

export function conditionalCheckFailedError(): DynamoServiceError {
  return new DynamoServiceError(400, ErrorTypes.conditionalCheckFailed, CONDITIONAL_CHECK_FAILED_MESSAGE);
}

export function isConditionalCheckFailure(error: unknown): boolean {
  return error instanceof DynamoServiceError && error.code === 'ConditionalCheckFailedException';
}
