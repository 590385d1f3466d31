import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ModelRegistryError } from '../../../shared/domain/model-promotion';
import { defaultPromoteDeps } from '../../../shared/runtime/api-promote-deps';
import { ConfigurationError } from '../../../shared/runtime/env';

const TOKEN_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:tradai/mlflow-token-AbCdEf';
const TOKEN = 'mlflow-token-of-the-private-server';

/** MLflow's model-versions/get on 127.0.0.1, answering only a request with the expected bearer token. */
let server: Server;
let trackingUri: string;
const seen: (string | undefined)[] = [];
beforeAll(async () => {
  server = createServer((request, response) => {
    seen.push(request.headers.authorization);
    const authorized = request.headers.authorization === `Bearer ${TOKEN}`;
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    response.writeHead(authorized ? 200 : 401, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify(
        authorized && url.pathname === '/mlflow/api/2.0/mlflow/model-versions/get'
          ? {
              model_version: {
                name: url.searchParams.get('name'),
                version: url.searchParams.get('version'),
                current_stage: 'Staging',
                aliases: [],
                tags: [{ key: 'strategy_version', value: '1.1.0' }],
              },
            }
          : { error_code: 'UNAUTHENTICATED', message: 'a valid token is required' },
      ),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  trackingUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mlflow`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const secretsClient = new SecretsManagerClient({ region: 'eu-west-1' });
const secrets = mockClient(secretsClient);
beforeEach(() => {
  secrets.reset();
  seen.length = 0;
});

const envWith = (extra: Record<string, string | undefined>): NodeJS.ProcessEnv => ({
  SESSIONS_TABLE: 'tradai-workflow-state-ci',
  METRICS_TABLE: 'tradai-session-metrics-ci',
  AUDIT_TABLE: 'tradai-audit-ci',
  IDEMPOTENCY_TABLE: 'tradai-idempotency-ci',
  MLFLOW_TRACKING_URI: trackingUri,
  AWS_REGION: 'eu-west-1',
  ...extra,
});
const registryOf = (extra: Record<string, string | undefined>) =>
  defaultPromoteDeps(envWith(extra), () => secretsClient).registry;

describe('Promote deps: MLflow reached with a token from Secrets Manager', () => {
  it('sends the secret as Authorization: Bearer on every call, read once at init and cached', async () => {
    secrets.on(GetSecretValueCommand, { SecretId: TOKEN_ARN }).resolves({ SecretString: TOKEN });
    const registry = registryOf({ MLFLOW_TRACKING_TOKEN: TOKEN_ARN });

    const first = await registry.getVersion('MomentumStrategy', '4');
    const second = await registry.getVersion('MomentumStrategy', '4');

    expect(first).toMatchObject({ version: '4', stage: 'Staging' });
    expect(second).toMatchObject({ version: '4' });
    expect(seen).toEqual([`Bearer ${TOKEN}`, `Bearer ${TOKEN}`]);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('reads the secret again and retries once when MLflow refuses the cached token (rotated: every promotion refused 401 until the function recycled)', async () => {
    // Prepare: the cached token is the one before a rotation; the secret now holds the server's.
    secrets
      .on(GetSecretValueCommand, { SecretId: TOKEN_ARN })
      .resolvesOnce({ SecretString: 'token-before-rotation' })
      .resolves({ SecretString: TOKEN });
    const registry = registryOf({ MLFLOW_TRACKING_TOKEN: TOKEN_ARN });

    // Act
    const version = await registry.getVersion('MomentumStrategy', '4');
    const next = await registry.getVersion('MomentumStrategy', '4');

    // Assess: one refused call, one retry with the fresh token, and the fresh one kept.
    expect(version).toMatchObject({ version: '4' });
    expect(next).toMatchObject({ version: '4' });
    expect(seen).toEqual(['Bearer token-before-rotation', `Bearer ${TOKEN}`, `Bearer ${TOKEN}`]);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('a token still refused after a fresh read is a refusal, retried only once', async () => {
    // Prepare
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'not-the-servers-token' });
    const registry = registryOf({ MLFLOW_TRACKING_TOKEN: TOKEN_ARN });

    // Act
    const failure = await registry.getVersion('MomentumStrategy', '4').catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(ModelRegistryError);
    expect(seen).toHaveLength(2);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('reads a JSON {"token": ...} secret too', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ token: TOKEN }) });

    await registryOf({ MLFLOW_TRACKING_TOKEN: TOKEN_ARN }).getVersion('MomentumStrategy', '4');

    expect(seen).toEqual([`Bearer ${TOKEN}`]);
  });

  it('a failed secret read is the registry unavailable (503, naming the secret, nothing sent to MLflow) and is read again on the next call', async () => {
    const denied = Object.assign(new Error('not allowed'), { name: 'AccessDeniedException' });
    secrets.on(GetSecretValueCommand).rejectsOnce(denied).resolves({ SecretString: TOKEN });
    const registry = registryOf({ MLFLOW_TRACKING_TOKEN: TOKEN_ARN });

    const failure = await registry.getVersion('MomentumStrategy', '4').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ModelRegistryError);
    expect(failure).toMatchObject({ reason: 'unavailable' });
    expect((failure as Error).message).toContain(TOKEN_ARN);
    expect((failure as Error).message).toContain('AccessDeniedException');
    expect(seen).toEqual([]);

    await expect(registry.getVersion('MomentumStrategy', '4')).resolves.toMatchObject({ version: '4' });
    expect(seen).toEqual([`Bearer ${TOKEN}`]);
  });

  it('an empty secret is refused naming the secret, never sent', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: '{"token": ""}' });

    await expect(
      registryOf({ MLFLOW_TRACKING_TOKEN: TOKEN_ARN }).getVersion('MomentumStrategy', '4'),
    ).rejects.toThrow(`secret ${TOKEN_ARN} holds no token`);
    expect(seen).toEqual([]);
  });

  it('refuses to start with a token in MLFLOW_TRACKING_TOKEN instead of its secret ARN, naming the variable and not echoing the value', () => {
    const attempt = () => registryOf({ MLFLOW_TRACKING_TOKEN: TOKEN });

    expect(attempt).toThrow(ConfigurationError);
    expect(attempt).toThrow(/MLFLOW_TRACKING_TOKEN: must be the ARN of a Secrets Manager secret/);
    expect(() => attempt()).not.toThrow(new RegExp(TOKEN));
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });

  it('refuses to start without MLFLOW_TRACKING_URI, naming it', () => {
    expect(() => registryOf({ MLFLOW_TRACKING_URI: undefined, MLFLOW_TRACKING_TOKEN: TOKEN_ARN })).toThrow(
      /MLFLOW_TRACKING_URI/,
    );
  });

  it('without MLFLOW_TRACKING_TOKEN sends no Authorization header (an MLflow with no auth)', async () => {
    await registryOf({})
      .getVersion('MomentumStrategy', '4')
      .catch(() => undefined);

    expect(seen).toEqual([undefined]);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });
});
