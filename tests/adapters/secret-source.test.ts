import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretsError } from '../../container/agent/errors';
import { FileSecretSource, SecretsManagerSource } from '../../container/agent/secrets';
import { type MotoServer, startMotoServer } from '../support/moto-server';
import { secretSourceContract } from './secret-source.contract';

/** A bare string is stored as it is in Secrets Manager; everything else as JSON text, as an operator would. */
const secretStringOf = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

secretSourceContract('file (SECRETS_FILE)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tradai-secrets-'));
  const file = join(dir, 'secrets.json');
  await writeFile(file, '{}');
  return {
    source: new FileSecretSource(file),
    put: async (name, value) => {
      const secrets = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
      secrets[name] = value;
      await writeFile(file, JSON.stringify(secrets));
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
});

secretSourceContract('Secrets Manager (moto over HTTP)', async () => {
  const moto = await startMotoServer();
  const client = new SecretsManagerClient(moto.clientConfig);
  return {
    source: new SecretsManagerSource(client),
    put: async (name, value) => {
      try {
        await client.send(new CreateSecretCommand({ Name: name, SecretString: secretStringOf(value) }));
      } catch (error) {
        if (!(error instanceof ResourceExistsException)) throw error;
        await client.send(new PutSecretValueCommand({ SecretId: name, SecretString: secretStringOf(value) }));
      }
    },
    close: async () => {
      client.destroy();
      await moto.close();
    },
  };
});

describe('SecretsManagerSource on moto: what only Secrets Manager can hold', () => {
  let moto: MotoServer;
  let client: SecretsManagerClient;
  beforeAll(async () => {
    moto = await startMotoServer();
    client = new SecretsManagerClient(moto.clientConfig);
  });
  afterAll(async () => {
    client?.destroy();
    await moto?.close();
  });

  it('reads a secret by its ARN as by its name', async () => {
    // prepare
    const { ARN } = await client.send(
      new CreateSecretCommand({ Name: 'tradai/exchange/by-arn', SecretString: '{"key":"k","secret":"s"}' }),
    );

    // act + assess
    expect(await new SecretsManagerSource(client).getExchangeCredentials(ARN ?? '')).toEqual({
      key: 'k',
      secret: 's',
    });
  });

  it('refuses a binary secret with SecretsError naming it', async () => {
    // prepare
    await client.send(
      new CreateSecretCommand({ Name: 'tradai/exchange/binary', SecretBinary: Buffer.from('{"key":"k"}') }),
    );

    // act + assess
    await expect(
      new SecretsManagerSource(client).getExchangeCredentials('tradai/exchange/binary'),
    ).rejects.toThrow(new SecretsError('secret tradai/exchange/binary has no SecretString'));
  });

  it('refuses a secret scheduled for deletion with SecretsError naming it and the AWS error', async () => {
    // prepare
    await client.send(
      new CreateSecretCommand({ Name: 'tradai/exchange/deleted', SecretString: '{"key":"k","secret":"s"}' }),
    );
    await client.send(
      new DeleteSecretCommand({ SecretId: 'tradai/exchange/deleted', RecoveryWindowInDays: 7 }),
    );

    // act
    const refusal = await new SecretsManagerSource(client)
      .getExchangeCredentials('tradai/exchange/deleted')
      .catch((error: unknown) => error);

    // assess
    expect(refusal).toBeInstanceOf(SecretsError);
    expect(String(refusal)).toContain('cannot read secret tradai/exchange/deleted: InvalidRequestException');
  });
});
