import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadLocalIssuer } from '../../local/cloud/jwt-issuer';
import { eventually, stopCloudProcess } from './support';

const TSX = join(process.cwd(), 'node_modules/.bin/tsx');

describe('Local cloud: npm start and npm run token as processes', () => {
  let child: ChildProcess | undefined;
  let dataDir = '';
  afterAll(async () => {
    await stopCloudProcess(child);
    if (dataDir !== '') await rm(dataDir, { recursive: true, force: true });
  });

  it('comes up, prints a working token and the demo command, answers the API, serves the console at /, and stops on SIGINT', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tradai-start-'));
    let output = '';
    child = spawn(TSX, ['local/cloud/main.ts', '--data', dataDir], {
      env: { ...process.env, PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.resume();

    await eventually(async () => output.includes('Ctrl-C stops'), 'the ready banner', 60_000);
    const url = output.match(/HTTP API\s+(http:\/\/127\.0\.0\.1:\d+)/)?.[1];
    const token = output.match(/export TOKEN=(\S+)/)?.[1];
    const listing = await fetch(`${url}/strategies`, { headers: { authorization: `Bearer ${token}` } });
    const page = await fetch(`${url}/`);
    const bundle = await fetch(`${url}/app.js`);
    const exited = new Promise<number | null>((resolve) => child?.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');

    expect(output).toContain(`curl -s -X POST ${url}/strategies/demo-momentum/start`);
    expect(listing.status).toBe(200);
    expect(await listing.json()).toMatchObject({ strategies: [] });
    expect(output).toMatch(new RegExp(`console\\s+${url}/`));
    expect(await page.text()).toContain('<script type="module" src="/app.js">');
    expect(bundle.status).toBe(200);
    expect(await exited).toBe(0);
  });

  it('prints a token with the chosen scopes that the same data folder verifies, and refuses unknown scopes', async () => {
    const run = promisify(execFile);

    const { stdout } = await run(TSX, [
      'local/cloud/token.ts',
      '--data',
      dataDir,
      '--scopes',
      'strategies:read strategies:live',
    ]);
    const refused = await run(TSX, [
      'local/cloud/token.ts',
      '--data',
      dataDir,
      '--scopes',
      'strategies:admin',
    ]).catch((error: { code?: number; stderr?: string }) => error);

    const claims = await (await loadLocalIssuer(dataDir)).verify(stdout.trim());
    expect(claims.scope).toBe('tradai/strategies:read tradai/strategies:live');
    expect(refused).toMatchObject({ code: 2 });
    expect((refused as { stderr: string }).stderr).toMatch(/--scopes/);
  });
});

describe('Local cloud: npm run token and npm run demo against npm start -- --memory', () => {
  let child: ChildProcess | undefined;
  let runDir = '';
  let output = '';
  let url = '';
  const run = promisify(execFile);
  const clientEnv = () => ({ ...process.env, TRADAI_RUN_DIR: runDir, TRADAI_URL: url });

  afterAll(async () => {
    await stopCloudProcess(child);
    if (runDir !== '') await rm(runDir, { recursive: true, force: true });
  });

  it('a token from npm run token works against a --memory run (its key was made per run in memory: 401)', async () => {
    // prepare: a throwaway run; clients find it by its URL alone
    runDir = await mkdtemp(join(tmpdir(), 'tradai-run-'));
    child = spawn(TSX, ['local/cloud/main.ts', '--memory'], {
      env: { ...process.env, PORT: '0', TRADAI_RUN_DIR: runDir, HEARTBEAT_INTERVAL_S: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.resume();
    await eventually(async () => output.includes('Ctrl-C stops'), 'the ready banner', 60_000);
    url = output.match(/HTTP API\s+(http:\/\/127\.0\.0\.1:\d+)/)?.[1] ?? '';

    // act
    const { stdout } = await run(TSX, ['local/cloud/token.ts'], { env: clientEnv() });
    const listing = await fetch(`${url}/strategies`, {
      headers: { authorization: `Bearer ${stdout.trim()}` },
    });

    // assess
    expect(listing.status, await listing.clone().text()).toBe(200);
  });

  it('the banner’s suggested live token may start live: the refusal is about risk limits, not permission', async () => {
    // prepare: the command the banner suggests for other scopes, as printed
    const suggested = output.match(/npm run token -- (--scopes "[^"]+"(?: --groups \S+)?)/)?.[1];
    expect(suggested).toBeDefined();
    const args = [...(suggested ?? '').matchAll(/--(\w+) (?:"([^"]+)"|(\S+))/g)].flatMap((match) => [
      `--${match[1]}`,
      match[2] ?? match[3] ?? '',
    ]);
    const { stdout } = await run(TSX, ['local/cloud/token.ts', ...args], { env: clientEnv() });

    // act: a live start without risk limits gets past the permission check and no further
    const response = await fetch(`${url}/strategies/banner-live/start`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stdout.trim()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ strategy: 'MomentumStrategy', mode: 'live', stage: 'Production' }),
    });

    // assess
    const body = (await response.json()) as { error?: { code?: string } };
    expect(response.status, JSON.stringify(body)).toBe(400);
    expect(body.error?.code).toBe('risk_limits_out_of_bounds');
  });

  it('npm run demo starts the demo strategy on a --memory run and sees it heartbeat', async () => {
    // act
    const { stdout } = await run(TSX, ['local/cloud/demo.ts', '--heartbeats', '1'], {
      env: clientEnv(),
      timeout: 120_000,
    });

    // assess
    expect(stdout).toMatch(/POST \/strategies\/demo-momentum\/start -> 202/);
    expect(stdout).toMatch(/heartbeat at /);
  });

  it('refuses with one line when no running cloud or data folder has a key, instead of printing a token nobody accepts', async () => {
    // prepare: an empty folder as the working directory and as the run directory
    const empty = await mkdtemp(join(tmpdir(), 'tradai-nokey-'));

    // act
    const refused = await run(TSX, [join(process.cwd(), 'local/cloud/token.ts')], {
      env: { ...process.env, TRADAI_RUN_DIR: empty, TRADAI_URL: 'http://127.0.0.1:1' },
      cwd: empty,
    })
      .catch((error: { code?: number; stderr?: string }) => error)
      .finally(() => rm(empty, { recursive: true, force: true }));

    // assess
    expect(refused).toMatchObject({ code: 1 });
    expect((refused as { stderr: string }).stderr.trim().split('\n')).toHaveLength(1);
  });
});
