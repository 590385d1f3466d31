import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResultStore } from '../../container/agent/results';

export interface ResultHarness {
  store: ResultStore;
  /** Every file stored under `location` (what `publish` answered), by path relative to it. */
  read(location: string): Promise<Record<string, string>>;
  close(): Promise<void>;
}

/** The behaviour every ResultStore must have (S3 results bucket in AWS, a folder locally). */
export const resultStoreContract = (adapterName: string, start: () => Promise<ResultHarness>) => {
  describe(`ResultStore contract: ${adapterName}`, () => {
    let harness: ResultHarness;
    let work: string;
    beforeAll(async () => {
      harness = await start();
      work = await mkdtemp(join(tmpdir(), 'tradai-results-contract-'));
    });
    afterAll(async () => {
      await harness?.close();
      if (work) await rm(work, { recursive: true, force: true });
    });

    const resultsFolder = async (name: string, files: Record<string, string>) => {
      const dir = join(work, name);
      for (const [path, text] of Object.entries(files)) {
        await mkdir(join(dir, path, '..'), { recursive: true });
        await writeFile(join(dir, path), text);
      }
      return dir;
    };

    it('stores every file of the results folder, nested ones too, under a location of the run', async () => {
      // prepare
      const dir = await resultsFolder('one', {
        'backtest-result-2026-01-01.json': '{"strategy":{"PascalStrategy":{}}}',
        'backtest-result-2026-01-01.meta.json': '{"PascalStrategy":{"run_id":"x"}}',
        'nested/trades.json': '[]',
      });

      // act
      const location = await harness.store.publish(dir, 'backtest-pascal-000001');

      // assess
      expect(location).toContain('results/backtest-pascal-000001/');
      expect(await harness.read(location)).toEqual({
        'backtest-result-2026-01-01.json': '{"strategy":{"PascalStrategy":{}}}',
        'backtest-result-2026-01-01.meta.json': '{"PascalStrategy":{"run_id":"x"}}',
        'nested/trades.json': '[]',
      });
    });

    it('keeps the runs apart: a second run does not touch the first run files', async () => {
      // prepare
      const first = await harness.store.publish(
        await resultsFolder('a', { 'r.json': '1' }),
        'backtest-a-000001',
      );

      // act
      const second = await harness.store.publish(
        await resultsFolder('b', { 'r.json': '2' }),
        'backtest-a-000002',
      );

      // assess
      expect(second).not.toBe(first);
      expect(await harness.read(first)).toEqual({ 'r.json': '1' });
      expect(await harness.read(second)).toEqual({ 'r.json': '2' });
    });

    it('overwrites what a retried publish of the same run stored before', async () => {
      // prepare
      await harness.store.publish(
        await resultsFolder('retry-1', { 'r.json': 'first try' }),
        'backtest-r-000001',
      );

      // act
      const location = await harness.store.publish(
        await resultsFolder('retry-2', { 'r.json': 'second try' }),
        'backtest-r-000001',
      );

      // assess
      expect(await harness.read(location)).toEqual({ 'r.json': 'second try' });
    });

    it('fails when the results folder does not exist, so the run is not recorded as completed', async () => {
      // act + assess
      await expect(harness.store.publish(join(work, 'never-written'), 'backtest-m-000001')).rejects.toThrow(
        /ENOENT/,
      );
    });
  });
};
