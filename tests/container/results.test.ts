import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileResultStore, S3ResultStore } from '../../container/agent/results';

describe('ResultStore: one-shot results outlive the container', () => {
  let dir: string;
  let results: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tradai-results-'));
    results = join(dir, 'user_data', 'backtest_results');
    await mkdir(join(results, 'nested'), { recursive: true });
    await writeFile(join(results, 'backtest-result-2026.json'), '{"strategy":{}}');
    await writeFile(join(results, 'nested', 'trades.json'), '[]');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('uploads every file under results/<run id>/ of the bucket prefix and answers the S3 location', async () => {
    const client = new S3Client({
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    const s3 = mockClient(client);
    s3.on(PutObjectCommand).resolves({});

    const location = await new S3ResultStore(client, 's3://tradai-results/backtests').publish(
      results,
      'backtest-a-001',
    );

    expect(location).toBe('s3://tradai-results/backtests/results/backtest-a-001/');
    const keys = s3
      .commandCalls(PutObjectCommand)
      .map((call) => call.args[0].input.Key)
      .sort();
    expect(keys).toEqual([
      'backtests/results/backtest-a-001/backtest-result-2026.json',
      'backtests/results/backtest-a-001/nested/trades.json',
    ]);
  });

  it('lets an upload failure surface, so the session is not recorded as completed', async () => {
    const client = new S3Client({
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    mockClient(client).on(PutObjectCommand).rejects(new Error('AccessDenied'));

    await expect(
      new S3ResultStore(client, 'tradai-results').publish(results, 'backtest-a-002'),
    ).rejects.toThrow('AccessDenied');
  });

  it('copies to <folder>/results/<run id>/ locally', async () => {
    const location = await new FileResultStore(`file://${join(dir, 'bucket')}`).publish(
      results,
      'backtest-a-003',
    );

    expect(location).toBe(`file://${join(dir, 'bucket', 'results', 'backtest-a-003')}/`);
    expect(
      await readFile(join(dir, 'bucket', 'results', 'backtest-a-003', 'nested', 'trades.json'), 'utf8'),
    ).toBe('[]');
  });
});
