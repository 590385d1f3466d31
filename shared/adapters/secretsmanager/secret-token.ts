import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';
import { TradaiError } from '../../domain/errors';

/** A Secrets Manager secret's ARN, as CloudFormation's !Ref of a secret or a stage parameter gives it. */
export const SecretArnSchema = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+$/,
    'must be the ARN of a Secrets Manager secret (arn:aws:secretsmanager:<region>:<account>:secret:<name>)',
  );

/** The token could not be read or is not one: never carries the secret's value. */
export class SecretTokenError extends TradaiError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SecretTokenError';
  }
}

/** The plain token, or `{"token": "..."}` (the console's key/value editor writes JSON). */
const SecretStringSchema = z.string().transform((text, ctx): string => {
  let value: unknown = text;
  if (text.trimStart().startsWith('{')) {
    try {
      value = (JSON.parse(text) as { token?: unknown }).token;
    } catch {
      value = undefined;
    }
  }
  const token = z.string().trim().min(1).max(8192).safeParse(value);
  if (!token.success) {
    ctx.addIssue({ code: 'custom', message: 'holds no token (a non-empty string, or JSON {"token": ...})' });
    return z.NEVER;
  }
  return token.data;
});

/** A token read from somewhere it can change: the cached value, and a fresh read when it was refused. */
export interface TokenSource {
  current(): Promise<string>;
  /** Reads it again (after a rotation the cached value is refused) and caches what it read. */
  refresh(): Promise<string>;
}

/**
 * A bearer token kept in Secrets Manager: read once, when this is built (the function's first invocation),
 * and cached for the life of the container, until the caller says it was refused (a rotation). A failed
 * read is not cached: the next request tries again.
 */
export const cachedSecretToken = (client: SecretsManagerClient, secretArn: string): TokenSource => {
  const read = async (): Promise<string> => {
    let text: string | undefined;
    try {
      text = (await client.send(new GetSecretValueCommand({ SecretId: secretArn }))).SecretString;
    } catch (error) {
      throw new SecretTokenError(
        `cannot read secret ${secretArn}: ${error instanceof Error ? error.name : 'error'}`,
        { cause: error },
      );
    }
    const parsed = SecretStringSchema.safeParse(text);
    if (!parsed.success) throw new SecretTokenError(`secret ${secretArn} ${parsed.error.issues[0]?.message}`);
    return parsed.data;
  };
  const start = () => {
    const reading = read();
    // Seen by the first caller; an unawaited rejection must not crash the process before then.
    reading.catch(() => undefined);
    return reading;
  };
  let cached = start();
  return {
    current: () => {
      const current = cached;
      return current.catch((error: unknown) => {
        if (cached === current) cached = start();
        throw error;
      });
    },
    refresh: () => {
      cached = start();
      return cached;
    },
  };
};
