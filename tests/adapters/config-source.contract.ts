import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigSource } from '../../container/agent/config/config-source';
import { StrategyConfigError } from '../../container/agent/errors';

export interface ConfigHarness {
  /** Reads the bucket named `bucket` (a folder standing in for it locally). */
  source: ConfigSource;
  bucket: string;
  put(key: string, text: string): Promise<void>;
  close(): Promise<void>;
}

/** The behaviour every ConfigSource must have (S3_CONFIG_BUCKET: an S3 bucket in AWS, `file://` locally). */
export const configSourceContract = (adapterName: string, start: () => Promise<ConfigHarness>) => {
  describe(`ConfigSource contract: ${adapterName}`, () => {
    let harness: ConfigHarness;
    beforeAll(async () => {
      harness = await start();
    });
    afterAll(async () => {
      await harness?.close();
    });

    const refusalOf = (location: string) =>
      harness.source.readJson(location).then(
        () => {
          throw new Error(`${location} was read`);
        },
        (error: unknown) => error,
      );

    it('reads a key of the bucket as JSON', async () => {
      // prepare
      await harness.put(
        'strategies/pascal/v1.0.0/config.json',
        '{"stake_currency":"USDT","max_open_trades":3}',
      );

      // act + assess
      expect(await harness.source.readJson('strategies/pascal/v1.0.0/config.json')).toEqual({
        stake_currency: 'USDT',
        max_open_trades: 3,
      });
    });

    it('reads a full s3:// URI of the bucket as the same key', async () => {
      // prepare
      await harness.put('strategies/pascal/v1.1.0/config.json', '{"dry_run":true}');

      // act + assess
      expect(
        await harness.source.readJson(`s3://${harness.bucket}/strategies/pascal/v1.1.0/config.json`),
      ).toEqual({ dry_run: true });
    });

    it('ignores a leading slash on a key, as the MLflow tag may carry one', async () => {
      // prepare
      await harness.put('strategies/slash/config.json', '{"a":1}');

      // act + assess
      expect(await harness.source.readJson('/strategies/slash/config.json')).toEqual({ a: 1 });
    });

    it('refuses a key that is not there with StrategyConfigError on configuration_file', async () => {
      // act
      const refusal = await refusalOf('strategies/nobody/config.json');

      // assess
      expect(refusal).toBeInstanceOf(StrategyConfigError);
      expect((refusal as StrategyConfigError).path).toBe('configuration_file');
      expect(String(refusal)).toContain('strategies/nobody/config.json');
    });

    it('refuses a file that is not JSON with StrategyConfigError on configuration_file', async () => {
      // prepare
      await harness.put('strategies/broken/config.json', '{"stake_currency": ');

      // act
      const refusal = await refusalOf('strategies/broken/config.json');

      // assess
      expect(refusal).toBeInstanceOf(StrategyConfigError);
      expect((refusal as StrategyConfigError).path).toBe('configuration_file');
      expect(String(refusal)).toContain('not valid JSON');
    });
  });
};
