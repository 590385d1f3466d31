import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadLocalIssuer } from '../../local/cloud/jwt-issuer';

const TSX = join(process.cwd(), 'node_modules/.bin/tsx');
const ENV = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', NO_COLOR: '1' };

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a script to its end (bounded), whatever its exit code. */
const runScript = (script: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Outcome> =>
  new Promise((resolve) => {
    execFile(
      TSX,
      [script, ...args],
      { env: { ...ENV, ...env }, timeout: 50_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });

const lines = (text: string) => text.trim().split('\n').filter(Boolean);

/** Every command-line entry point a person runs (package.json scripts). */
const SCRIPTS = [
  'scripts/create-tables.ts',
  'scripts/session.ts',
  'local/cloud/main.ts',
  'local/cloud/token.ts',
  'local/cloud/demo.ts',
  'local/dynamodb/main.ts',
  'bench/run.ts',
  'scripts/openapi.ts',
  'scripts/console-build.ts',
  'container/agent/main.ts',
  'console/cli/main.ts',
];

describe('Command lines: --help, unknown options, bad PORT', () => {
  it.each(SCRIPTS)(
    '%s --help prints its usage and exits 0 (it threw ERR_PARSE_ARGS_UNKNOWN_OPTION)',
    async (script) => {
      // act
      const outcome = await runScript(script, ['--help']);

      // assess
      expect(outcome.stderr).toBe('');
      expect(outcome.code).toBe(0);
      expect(outcome.stdout).toMatch(/^Usage: /);
      expect(lines(outcome.stdout).length).toBeGreaterThan(1);
    },
  );

  it.each(SCRIPTS)(
    '%s refuses an unknown option in one line with exit 2 (it printed a stack trace, exit 1)',
    async (script) => {
      // act
      const outcome = await runScript(script, ['--no-such-option']);

      // assess
      expect(outcome.code).toBe(2);
      expect(outcome.stdout).toBe('');
      expect(lines(outcome.stderr)).toEqual([expect.stringContaining('--no-such-option')]);
      expect(outcome.stderr).toContain('--help');
    },
  );

  it.each([
    ['local/cloud/main.ts', ['--memory'], { PORT: 'eighty' }],
    ['local/cloud/demo.ts', [], { PORT: '70000' }],
    ['local/cloud/token.ts', [], { PORT: '4000/x' }],
    ['local/dynamodb/main.ts', ['--memory', '--port', 'eighty'], {}],
  ] as const)(
    '%s refuses a bad port in one line with exit 2, starting nothing',
    async (script, args, env) => {
      // act
      const outcome = await runScript(script, [...args], env);

      // assess
      expect(outcome.code).toBe(2);
      expect(lines(outcome.stderr)).toEqual([expect.stringMatching(/port/i)]);
    },
  );
});

describe('Command lines: npm start on a data folder already in use', () => {
  const started: ChildProcess[] = [];
  let dataDir: string | undefined;
  afterAll(async () => {
    for (const child of started) if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.all(
      started.map((child) =>
        child.exitCode === null ? new Promise((resolve) => child.once('exit', resolve)) : undefined,
      ),
    );
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('says the folder is in use by the running pid and exits 2 (it died in a dynalite/LevelDB lock stack trace)', async () => {
    // prepare: a first local cloud on the folder, up (its banner printed).
    dataDir = await mkdtemp(join(tmpdir(), 'tradai-in-use-'));
    const first = spawn(TSX, ['local/cloud/main.ts', '--data', dataDir], {
      env: { ...ENV, PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started.push(first);
    let banner = '';
    await new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`no banner within 50 s: ${banner}`)), 50_000);
      first.stdout?.on('data', (chunk: Buffer) => {
        banner += chunk.toString();
        if (banner.includes('is up')) {
          clearTimeout(deadline);
          resolve();
        }
      });
      first.once('exit', (code) => reject(new Error(`first npm start exited ${code}: ${banner}`)));
    });

    // act
    const second = await runScript('local/cloud/main.ts', ['--data', dataDir], { PORT: '0' });

    // assess
    // (tsx runs the script in a child process: the holder is the pid in the lock file, and it is alive.)
    const holder = Number((await readFile(join(dataDir, '.lock'), 'utf8')).split(' ')[0]);
    expect(second.code).toBe(2);
    expect(lines(second.stderr)).toEqual([
      expect.stringContaining(`${dataDir} is in use by process ${holder}`),
    ]);
    expect(() => process.kill(holder, 0)).not.toThrow();
    expect(first.exitCode).toBeNull();
  }, 110_000);

  it("refuses npm run dynamodb:local on the running cloud's DynamoDB folder, naming npm start (a second dynalite started and answered 'Database is closed')", async () => {
    // prepare: the cloud of the previous test is still running on dataDir.
    if (dataDir === undefined) throw new Error('the previous test starts the cloud');
    const holder = Number((await readFile(join(dataDir, '.lock'), 'utf8')).split(' ')[0]);

    // act
    const second = await runScript('local/dynamodb/main.ts', [
      '--port',
      '0',
      '--data',
      join(dataDir, 'dynamodb'),
    ]);

    // assess
    expect(second.code).toBe(2);
    expect(lines(second.stderr)).toEqual([
      expect.stringContaining(`in use by process ${holder} (npm start)`),
    ]);
  }, 110_000);
});

describe('Command lines: npm run demo over a connection the cloud drops', () => {
  it('keeps following the session when one poll loses its connection (a dropped socket ended the demo with a fetch stack trace)', async () => {
    // prepare: a data folder with signing keys, and a cloud stand-in that drops the first poll's socket.
    const dataDir = await mkdtemp(join(tmpdir(), 'tradai-demo-drop-'));
    await loadLocalIssuer(dataDir);
    let polls = 0;
    const server = createServer((request, response) => {
      if (request.method === 'POST') {
        response.writeHead(202, { 'content-type': 'application/json' }).end('{"run_id":"dry-run-demo-1"}');
        return;
      }
      polls += 1;
      if (polls === 1) {
        request.socket.destroy();
        return;
      }
      const session = {
        run_id: 'dry-run-demo-1',
        status: 'running',
        last_heartbeat: '2026-12-01T00:00:00.000Z',
        metrics: null,
      };
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ session }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;

    // act
    const outcome = await runScript('local/cloud/demo.ts', ['--data', dataDir, '--heartbeats', '1'], {
      TRADAI_URL: `http://127.0.0.1:${port}`,
    }).finally(async () => {
      server.close();
      await rm(dataDir, { recursive: true, force: true });
    });

    // assess
    expect(outcome.stderr).not.toMatch(/TypeError|at /);
    expect(outcome.code).toBe(0);
    expect(outcome.stdout).toContain('heartbeat at 2026-12-01T00:00:00.000Z');
    expect(polls).toBeGreaterThanOrEqual(2);
  });
});
