import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../../console/cli/exit-codes';

const TSX = join(process.cwd(), 'node_modules/.bin/tsx');

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

const run = (file: string, args: string[], options: { cwd: string }): Promise<Outcome> =>
  new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        cwd: options.cwd,
        env: { PATH: process.env.PATH, HOME: options.cwd, NO_COLOR: '1' },
        timeout: 50_000,
      },
      (error, stdout, stderr) =>
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : null,
          stdout,
          stderr,
        }),
    );
  });

/**
 * The package's bin as a global install has it: the committed shim and the bundle prepack builds, in a
 * folder with no node_modules anywhere above it, run by plain node (no tsx, no devDependencies).
 */
let installed: string;
let shim: string;
beforeAll(async () => {
  installed = await mkdtemp(join(tmpdir(), 'tradai-bin-'));
  shim = join(installed, 'console/cli/bin/tradai.mjs');
  const built = await run(
    TSX,
    ['console/cli/build.ts', '--outfile', join(installed, 'console/cli/dist/tradai.mjs')],
    {
      cwd: process.cwd(),
    },
  );
  expect(built.stderr).toBe('');
  await mkdir(join(installed, 'console/cli/bin'), { recursive: true });
  await copyFile(join(process.cwd(), 'console/cli/bin/tradai.mjs'), shim);
});
afterAll(() => rm(installed, { recursive: true, force: true }));

describe('CLI: the package bin (bundle + shim) without node_modules', () => {
  it('runs from a folder with no node_modules above it', () => {
    const above = installed.split('/').map((_, index, parts) => parts.slice(0, index + 1).join('/') || '/');
    expect(above.filter((folder) => existsSync(join(folder, 'node_modules')))).toEqual([]);
  });

  it('package.json names the shim as the tradai bin', async () => {
    const manifest = JSON.parse(await readFile('package.json', 'utf8')) as { bin?: Record<string, string> };
    expect(manifest.bin?.tradai).toBe('console/cli/bin/tradai.mjs');
  });

  it('prints its help with the exit codes and exits 0', async () => {
    const outcome = await run(process.execPath, [shim, '--help'], { cwd: installed });

    expect(outcome).toMatchObject({ code: 0, stderr: '' });
    expect(outcome.stdout).toMatch(/^Usage: tradai /);
    expect(outcome.stdout).toContain('Exit codes:');
  });

  it('refuses an unknown option in one line with exit 2', async () => {
    const outcome = await run(process.execPath, [shim, 'ls', '--no-such-option'], { cwd: installed });

    expect(outcome.code).toBe(EXIT.usage);
    expect(outcome.stdout).toBe('');
    expect(outcome.stderr.trim().split('\n')).toEqual([expect.stringContaining('--no-such-option')]);
  });

  it('says an API nobody listens on is unreachable (exit 5), as JSON on stderr with --json', async () => {
    // prepare
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    // act
    const outcome = await run(process.execPath, [shim, '--json', '--api-url', url, '--token', 't', 'ls'], {
      cwd: installed,
    });

    // assess
    expect(outcome.code).toBe(EXIT.unreachable);
    expect(outcome.stdout).toBe('');
    expect(JSON.parse(outcome.stderr)).toMatchObject({ error: { exit_code: EXIT.unreachable } });
  });
});
