import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../local/cloud/cloud';
import { apiOf, eventually } from '../e2e/support';
import { realFreqtradeAvailable } from './support';

const TSX = `${REPO_ROOT}node_modules/.bin/tsx`;

describe.skipIf(!realFreqtradeAvailable())('npm start -- --freqtrade real', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child?.exitCode === null) child.kill('SIGKILL');
  });

  it('refuses a --freqtrade that is neither sim nor real, exit 2, naming the option', async () => {
    const attempt = promisify(execFile)(TSX, ['local/cloud/main.ts', '--memory', '--freqtrade', 'docker'], {
      cwd: REPO_ROOT,
      env: { ...process.env, PORT: '0' },
    });

    await expect(attempt).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--freqtrade') });
  });

  it('runs TradaiDemo on real Freqtrade against the local exchange it starts, and stops on SIGINT', async () => {
    let output = '';
    child = spawn(TSX, ['local/cloud/main.ts', '--memory', '--freqtrade', 'real'], {
      cwd: REPO_ROOT,
      env: { ...process.env, PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.resume();
    await eventually(async () => output.includes('Ctrl-C stops'), 'the ready banner', 60_000);
    const url = output.match(/HTTP API\s+(http:\/\/127\.0\.0\.1:\d+)/)?.[1] as string;
    const token = output.match(/export TOKEN=(\S+)/)?.[1] as string;
    const api = apiOf({ url, token: async () => token } as never);

    const started = await api('POST', '/strategies/demo-tradai/start', {
      body: { strategy: 'TradaiDemo', mode: 'dry-run', stage: 'Production', reason: 'npm start real' },
    });
    const running = await eventually(
      async () => {
        const view = await api('GET', '/strategies/demo-tradai');
        const session = view.body.session as
          | { status?: string; health?: { freqtrade_state?: string } }
          | undefined;
        return session?.status === 'running' && session.health?.freqtrade_state === 'running'
          ? session
          : undefined;
      },
      'the demo running on real Freqtrade',
      90_000,
    );
    const exited = new Promise<number | null>((resolve) => child?.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');

    expect(output).toMatch(
      /Freqtrade\s+real \(.*\.venv\/bin\/freqtrade\), exchange http:\/\/127\.0\.0\.1:\d+/,
    );
    expect(output).toContain(`curl -s -X POST ${url}/strategies/demo-tradai/start`);
    expect(started.status).toBe(202);
    expect(running.health?.freqtrade_state).toBe('running');
    expect(await exited).toBe(0);
  }, 120_000);
});
