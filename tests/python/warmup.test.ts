import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';

const ROOT = resolve(import.meta.dirname, '../..');
const PYTHON = join(ROOT, '.venv/bin/python');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the project's Python with `python/` importable; bounded by a kill deadline. */
const runPython = (args: string[], deadlineMs = 120_000): Promise<Run> =>
  new Promise((done, fail) => {
    const child = spawn(PYTHON, args, {
      cwd: join(ROOT, 'python'),
      env: { ...process.env, PYTHONWARNINGS: 'ignore::DeprecationWarning', PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
    child.once('error', fail);
    child.once('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });

const CountsSchema = z.object({
  candles: z.record(z.string(), z.number().int()),
  columns: z.array(z.string()),
  first: z.record(z.string(), z.string()),
  last: z.record(z.string(), z.string()),
});

describe.skipIf(!existsSync(PYTHON))('Python: tradai.warmup on the real arcticdb package', () => {
  it('passes its unittest suite (LMDB store seeded in a temp dir)', async () => {
    // act
    const run = await runPython(['-m', 'unittest', 'discover', '-s', 'tests', '-t', '.', '-v']);
    // assess
    expect(run.code, run.stderr).toBe(0);
    const ran = Number(/^Ran (\d+) tests?/m.exec(run.stderr)?.[1] ?? 0);
    expect(ran).toBeGreaterThanOrEqual(12);
    expect(run.stderr).toMatch(/^OK$/m);
    expect(run.stdout).toContain('warmup candles BTC/USDT=719 ETH/USDT=719');
    expect(run.stdout).toContain('warmup candles BTC/USDT:USDT 1h=47 BTC/USDT 5m=288');
  }, 150_000);

  describe('command line, as a strategy container runs it', () => {
    let dir: string;
    const now = '2026-03-01T12:30:00+00:00';

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'tradai-warmup-cli-'));
      const seeded = await runPython(['-m', 'tests.seed_lmdb', dir, now, '40', 'BTC/USDT', 'ETH/USDT']);
      expect(seeded.code, seeded.stderr).toBe(0);
    });

    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('prints the candle counts of each pair in Freqtrade column order', async () => {
      const run = await runPython([
        '-m',
        'tradai.warmup',
        '--uri',
        `lmdb://${dir}`,
        '--pairs',
        'BTC/USDT,ETH/USDT',
        '--timeframe',
        '1h',
        '--days',
        '30',
        '--now',
        now,
      ]);
      expect(run.code, run.stderr).toBe(0);
      const counts = CountsSchema.parse(JSON.parse(run.stdout));
      // 30 days of hourly candles ending mid-candle at 12:30: 720 opens, the last one still open.
      expect(counts.candles).toEqual({ 'BTC/USDT': 719, 'ETH/USDT': 719 });
      expect(counts.columns).toEqual(['date', 'open', 'high', 'low', 'close', 'volume']);
      expect(counts.first['BTC/USDT']).toBe('2026-01-30T13:00:00+00:00');
      expect(counts.last['BTC/USDT']).toBe('2026-03-01T11:00:00+00:00');
    });

    it('exits 2 with a typed refusal naming the field for a bad URI or a missing symbol', async () => {
      const badUri = await runPython([
        '-m',
        'tradai.warmup',
        '--uri',
        'lmdb://relative',
        '--pairs',
        'BTC/USDT',
        '--timeframe',
        '1h',
        '--days',
        '3',
      ]);
      const missing = await runPython([
        '-m',
        'tradai.warmup',
        '--uri',
        `lmdb://${dir}`,
        '--pairs',
        'DOGE/USDT',
        '--timeframe',
        '1h',
        '--days',
        '3',
      ]);
      expect(badUri.code).toBe(2);
      expect(JSON.parse(badUri.stdout)).toMatchObject({ error: 'WarmupUriError', field: 'ARCTICDB_S3_URI' });
      expect(missing.code).toBe(2);
      expect(JSON.parse(missing.stdout)).toMatchObject({ error: 'WarmupSymbolError', field: 'pairs' });
      expect(JSON.parse(missing.stdout).message).toContain('DOGE_USDT_1h');
    });
  });
});
