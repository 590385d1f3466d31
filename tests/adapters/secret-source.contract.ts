import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretsError } from '../../container/agent/errors';
import type { SecretSource } from '../../container/agent/secrets';

export interface SecretHarness {
  source: SecretSource;
  /** Stores `value` under `name` as the platform keeps it: JSON text in Secrets Manager, an entry of the file locally. */
  put(name: string, value: unknown): Promise<void>;
  close(): Promise<void>;
}

const SECRET_VALUE = 'sk-live-7f3a-DO-NOT-LEAK';

/** The behaviour every SecretSource must have (Secrets Manager in AWS, SECRETS_FILE locally). */
export const secretSourceContract = (adapterName: string, start: () => Promise<SecretHarness>) => {
  describe(`SecretSource contract: ${adapterName}`, () => {
    let harness: SecretHarness;
    beforeAll(async () => {
      harness = await start();
    });
    afterAll(async () => {
      await harness?.close();
    });

    const refusalOf = (name: string) =>
      harness.source.getExchangeCredentials(name).then(
        () => {
          throw new Error(`secret ${name} was read`);
        },
        (error: unknown) => error,
      );

    it('reads key, secret, password and uid of the exchange credentials', async () => {
      // prepare
      await harness.put('tradai/exchange/okx', {
        key: 'k-1',
        secret: SECRET_VALUE,
        password: 'p-1',
        uid: 'u-1',
      });

      // act
      const credentials = await harness.source.getExchangeCredentials('tradai/exchange/okx');

      // assess
      expect(credentials).toEqual({ key: 'k-1', secret: SECRET_VALUE, password: 'p-1', uid: 'u-1' });
    });

    it('accepts the api_key / api_secret spelling', async () => {
      // prepare
      await harness.put('tradai/exchange/binance', { api_key: 'k-2', api_secret: SECRET_VALUE });

      // act + assess
      expect(await harness.source.getExchangeCredentials('tradai/exchange/binance')).toEqual({
        key: 'k-2',
        secret: SECRET_VALUE,
      });
    });

    it('refuses a secret that does not exist with SecretsError naming it', async () => {
      // act
      const refusal = await refusalOf('tradai/exchange/missing');

      // assess
      expect(refusal).toBeInstanceOf(SecretsError);
      expect(String(refusal)).toContain('tradai/exchange/missing');
    });

    it('refuses credentials without a secret, and the refusal does not echo the stored values', async () => {
      // prepare
      await harness.put('tradai/exchange/half', { key: SECRET_VALUE });

      // act
      const refusal = await refusalOf('tradai/exchange/half');

      // assess
      expect(refusal).toBeInstanceOf(SecretsError);
      expect(String(refusal)).toContain('needs "key" and "secret"');
      expect(JSON.stringify(refusal, Object.getOwnPropertyNames(refusal))).not.toContain(SECRET_VALUE);
    });

    it('refuses a secret that is not a credentials object (a bare string), echoing nothing of it', async () => {
      // prepare
      await harness.put('tradai/exchange/plain', SECRET_VALUE);

      // act
      const refusal = await refusalOf('tradai/exchange/plain');

      // assess
      expect(refusal).toBeInstanceOf(SecretsError);
      expect(JSON.stringify(refusal, Object.getOwnPropertyNames(refusal))).not.toContain(SECRET_VALUE);
    });

    it('reads the newest value after the secret is rotated', async () => {
      // prepare
      await harness.put('tradai/exchange/rotated', { key: 'old', secret: 'old-secret' });
      await harness.put('tradai/exchange/rotated', { key: 'new', secret: 'new-secret' });

      // act + assess
      expect(await harness.source.getExchangeCredentials('tradai/exchange/rotated')).toEqual({
        key: 'new',
        secret: 'new-secret',
      });
    });
  });
};
