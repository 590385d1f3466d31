import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { FileSecretSource, SecretsManagerSource } from '../../container/agent/secrets';
import { startMotoServer } from '../support/moto-server';
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
