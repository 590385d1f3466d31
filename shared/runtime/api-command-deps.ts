import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import { createIdempotentRunner, type IdempotentRunner } from '../http/idempotency';
import { type ApiDeps, defaultApiDeps } from './api-deps';
import { parseEnv } from './env';

/** Command functions (start, pause, resume, stop) also honour Idempotency-Key. */
export interface CommandDeps extends ApiDeps {
  idempotency: IdempotentRunner;
}

export const IdempotencyEnvSchema = z.object({ IDEMPOTENCY_TABLE: z.string().min(3).max(255) });

/** Powertools' DynamoDB persistence on the given client; the local cloud passes one on its own endpoint. */
export const createDynamoIdempotency = (client: DynamoDBClient, tableName: string): IdempotentRunner =>
  createIdempotentRunner(new DynamoDBPersistenceLayer({ tableName, awsSdkV3Client: client }));

export const defaultCommandDeps = (env: NodeJS.ProcessEnv = process.env): CommandDeps => {
  const { IDEMPOTENCY_TABLE } = parseEnv(IdempotencyEnvSchema, env);
  return {
    ...defaultApiDeps(env),
    idempotency: createDynamoIdempotency(new DynamoDBClient({ maxAttempts: 5 }), IDEMPOTENCY_TABLE),
  };
};
