import { readFile } from 'node:fs/promises';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';
import { SecretsError } from './errors';

/**
 * Exchange credentials. They reach Freqtrade only through its environment (FREQTRADE__EXCHANGE__KEY ...),
 * never a file, DynamoDB, a log line or an alert.
 */
export interface ExchangeCredentials {
  key: string;
  secret: string;
  password?: string;
  uid?: string;
}

/** Accepts Freqtrade's own names and the common `api_key` / `api_secret` spelling. */
const CredentialsSchema = z
  .object({
    key: z.string().min(1).optional(),
    api_key: z.string().min(1).optional(),
    secret: z.string().min(1).optional(),
    api_secret: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    uid: z.string().min(1).optional(),
  })
  .transform((raw, ctx) => {
    const key = raw.key ?? raw.api_key;
    const secret = raw.secret ?? raw.api_secret;
    if (key === undefined || secret === undefined) {
      ctx.addIssue({ code: 'custom', message: 'needs "key" and "secret"' });
      return z.NEVER;
    }
    const credentials: ExchangeCredentials = { key, secret };
    if (raw.password !== undefined) credentials.password = raw.password;
    if (raw.uid !== undefined) credentials.uid = raw.uid;
    return credentials;
  });

/** Never includes the value: zod issues may echo input, so only field names and messages are kept. */
const parseCredentials = (raw: unknown, name: string): ExchangeCredentials => {
  const result = CredentialsSchema.safeParse(raw);
  if (!result.success) {
    throw new SecretsError(
      `secret ${name} is not a credentials object: ${result.error.issues.map((i) => i.message).join('; ')}`,
    );
  }
  return result.data;
};

export interface SecretSource {
  getExchangeCredentials(name: string): Promise<ExchangeCredentials>;
}

export class SecretsManagerSource implements SecretSource {
  readonly #client: SecretsManagerClient;

  constructor(client: SecretsManagerClient) {
    this.#client = client;
  }

  async getExchangeCredentials(name: string): Promise<ExchangeCredentials> {
    const { GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
    let text: string | undefined;
    try {
      const result = await this.#client.send(new GetSecretValueCommand({ SecretId: name }));
      text = result.SecretString;
    } catch (error) {
      throw new SecretsError(
        `cannot read secret ${name}: ${error instanceof Error ? error.name : 'error'}`,
        // The SDK error carries request metadata only, never the secret value.
        { cause: error },
      );
    }
    if (text === undefined) throw new SecretsError(`secret ${name} has no SecretString`);
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      throw new SecretsError(`secret ${name} is not JSON`);
    }
    return parseCredentials(raw, name);
  }
}

/** Local stand-in (SECRETS_FILE): `{ "<secret name>": { "key": "...", "secret": "..." } }`. */
export class FileSecretSource implements SecretSource {
  readonly #path: string;

  constructor(path: string) {
    this.#path = path;
  }

  async getExchangeCredentials(name: string): Promise<ExchangeCredentials> {
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(this.#path, 'utf8'));
    } catch {
      throw new SecretsError(`cannot read the secrets file ${this.#path}`);
    }
    const file = z.record(z.string(), z.unknown()).safeParse(raw);
    if (!file.success) throw new SecretsError(`the secrets file ${this.#path} must hold a JSON object`);
    if (!(name in file.data)) throw new SecretsError(`secret ${name} is not in ${this.#path}`);
    return parseCredentials(file.data[name], name);
  }
}

export const createSecretSource = async (secretsFile: string | undefined): Promise<SecretSource> => {
  if (secretsFile !== undefined) return new FileSecretSource(secretsFile);
  const { SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
  return new SecretsManagerSource(new SecretsManagerClient({}));
};

/** Freqtrade reads `FREQTRADE__SECTION__KEY` environment variables over its config file. */
export const freqtradeCredentialEnv = (credentials: ExchangeCredentials | null): Record<string, string> => {
  if (credentials === null) return {};
  const env: Record<string, string> = {
    FREQTRADE__EXCHANGE__KEY: credentials.key,
    FREQTRADE__EXCHANGE__SECRET: credentials.secret,
  };
  if (credentials.password !== undefined) env.FREQTRADE__EXCHANGE__PASSWORD = credentials.password;
  if (credentials.uid !== undefined) env.FREQTRADE__EXCHANGE__UID = credentials.uid;
  return env;
};
