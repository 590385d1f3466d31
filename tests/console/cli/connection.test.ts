import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startBodyOf } from '../../../console/cli/commands/start';
import { tokenRequestOf } from '../../../console/cli/commands/token';
import { DEFAULT_LOCAL_URL, resolveApiTarget } from '../../../console/cli/connection';
import { CliError } from '../../../console/cli/errors';
import { EXIT } from '../../../console/cli/exit-codes';
import { type EndpointRecord, publishEndpoint, runningLocalClouds } from '../../../local/cloud/endpoint';

const record = (url: string): EndpointRecord => ({
  url,
  pid: process.pid,
  data_dir: null,
  started_at: '2026-01-01T00:00:00.000Z',
});

const thrown = (work: () => unknown): CliError => {
  try {
    work();
  } catch (error) {
    if (error instanceof CliError) return error;
    throw error;
  }
  throw new Error('expected a CliError');
};

const folders: string[] = [];
afterAll(() => Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true }))));

describe('CLI: which API, found without configuration', () => {
  it.each([
    [
      '--api-url wins',
      'http://api.example/',
      { TRADAI_API_URL: 'http://other' },
      [],
      'http://api.example',
      'flag',
    ],
    [
      'then TRADAI_API_URL',
      undefined,
      { TRADAI_API_URL: 'https://x.example/prod' },
      [],
      'https://x.example/prod',
      'env',
    ],
    [
      'then the one local cloud running',
      undefined,
      {},
      ['http://127.0.0.1:4321'],
      'http://127.0.0.1:4321',
      'local cloud',
    ],
    [
      "of several, npm start's default port",
      undefined,
      {},
      ['http://127.0.0.1:4321', DEFAULT_LOCAL_URL],
      DEFAULT_LOCAL_URL,
      'local cloud',
    ],
    ['else http://127.0.0.1:4000', undefined, {}, [], DEFAULT_LOCAL_URL, 'default'],
  ] as const)('%s', (_title, flag, env, running, url, source) => {
    expect(resolveApiTarget(flag, env, running.map(record))).toEqual({ url, source });
  });

  it('refuses to guess between several local clouds, none on port 4000 (exit 2)', () => {
    const error = thrown(() =>
      resolveApiTarget(undefined, {}, [record('http://127.0.0.1:4001'), record('http://127.0.0.1:4002')]),
    );
    expect(error.exitCode).toBe(EXIT.usage);
    expect(error.message).toContain('http://127.0.0.1:4001, http://127.0.0.1:4002');
  });

  it('refuses a TRADAI_API_URL that is not an http(s) URL, naming it (exit 2)', () => {
    const error = thrown(() => resolveApiTarget(undefined, { TRADAI_API_URL: 'ftp://x' }, []));
    expect(error.exitCode).toBe(EXIT.usage);
    expect(error.message).toContain('TRADAI_API_URL');
  });

  it("finds a running npm start's endpoint record and skips one whose process is gone (killed -9)", async () => {
    // prepare
    const directory = await mkdtemp(join(tmpdir(), 'tradai-run-'));
    folders.push(directory);
    await publishEndpoint('http://127.0.0.1:4555', '.tradai', directory);
    const gone = spawnSync(process.execPath, ['-e', '0']).pid;
    await writeFile(
      join(directory, 'cloud-4556.json'),
      JSON.stringify({ ...record('http://127.0.0.1:4556'), pid: gone }),
    );
    await writeFile(join(directory, 'cloud-4557.json'), 'not json');

    // act
    const running = await runningLocalClouds(directory);

    // assess
    expect(running.map((entry) => entry.url)).toEqual(['http://127.0.0.1:4555']);
    expect(running[0]?.data_dir).toBe(join(process.cwd(), '.tradai'));
  });

  it('removes its record on a clean stop', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'tradai-run-'));
    folders.push(directory);
    const unpublish = await publishEndpoint('http://127.0.0.1:4558', undefined, directory);
    expect(JSON.parse(await readFile(join(directory, 'cloud-4558.json'), 'utf8'))).toMatchObject({
      data_dir: null,
    });

    await unpublish();

    expect(await runningLocalClouds(directory)).toEqual([]);
  });
});

describe('CLI: command lines checked before anything is sent', () => {
  const start = { model: 'MomentumStrategy', mode: 'dry-run', wait: true, timeout: 60, interval: 1 };

  it('builds the start body from the flags, JSON options parsed', () => {
    expect(
      startBodyOf({ ...start, stage: 'Production', reason: 'r', overrides: '{"sim":{"tick_ms":200}}' }),
    ).toEqual({
      strategy: 'MomentumStrategy',
      mode: 'dry-run',
      stage: 'Production',
      reason: 'r',
      overrides: { sim: { tick_ms: 200 } },
    });
  });

  it.each([
    [
      'both --alias and --stage',
      { alias: 'champion', stage: 'Production' },
      '--stage: give either alias or stage',
    ],
    ['a model name with a space', { model: 'Momentum Strategy' }, '--model: must be letters'],
    ['--risk-limits that is not JSON', { riskLimits: '{max' }, '--risk-limits is not JSON'],
    ['an --overrides key off the allow-list', { overrides: '{"exchange":{"key":"k"}}' }, '--overrides'],
  ])('refuses %s, naming the flag (exit 2)', (_title, options, message) => {
    const error = thrown(() => startBodyOf({ ...start, ...options }));
    expect(error.exitCode).toBe(EXIT.usage);
    expect(error.message).toContain(message);
  });

  it.each([
    [{ scopes: 'strategies:admin' }, '--scopes: each scope must be one of'],
    [{ groups: 'admins' }, '--groups: each group must be live'],
    [{ ttl: '10' }, '--ttl: must be at least 60'],
  ])('refuses a token request %o (exit 2)', (options, message) => {
    const error = thrown(() =>
      tokenRequestOf({ scopes: 'strategies:read', groups: '', ttl: '3600', ...options }),
    );
    expect(error.exitCode).toBe(EXIT.usage);
    expect(error.message).toContain(message);
  });

  it('maps the live group alias to tradai-live', () => {
    expect(tokenRequestOf({ scopes: 'strategies:read,strategies:live', groups: 'live', ttl: '600' })).toEqual(
      {
        scopes: ['strategies:read', 'strategies:live'],
        groups: ['tradai-live'],
        ttl: 600,
      },
    );
  });
});
