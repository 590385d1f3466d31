import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadLocalIssuer } from '../../local/cloud/jwt-issuer';
import { eventually } from './support';

const TSX = join(process.cwd(), 'node_modules/.bin/tsx');

describe('Local cloud: npm start and npm run token as processes', () => {
  let child: ChildProcess | undefined;
  let dataDir = '';
  afterAll(async () => {
    if (child?.exitCode === null) child.kill('SIGKILL');
    if (dataDir !== '') await rm(dataDir, { recursive: true, force: true });
  });

  it('comes up, prints a working token and the demo command, answers the API, and stops on SIGINT', async () => {
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
    const exited = new Promise<number | null>((resolve) => child?.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');

    expect(output).toContain(`curl -s -X POST ${url}/strategies/demo-momentum/start`);
    expect(listing.status).toBe(200);
    expect(await listing.json()).toMatchObject({ strategies: [] });
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
