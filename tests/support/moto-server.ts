import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const MOTO_SERVER = `${ROOT}.venv/bin/moto_server`;

/** moto accepts any credentials; the account it answers for is 123456789012. */
export const MOTO_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };
export const MOTO_REGION = 'us-east-1';
export const MOTO_ACCOUNT = '123456789012';

/** How long moto may take to answer its first request (it starts in about a second on this machine). */
const READY_DEADLINE_MS = 30_000;

export interface MotoServer {
  /** `http://127.0.0.1:<port>`: pass as `endpoint` with MOTO_CREDENTIALS and MOTO_REGION. */
  endpoint: string;
  /** The SDK client options every test client needs: endpoint, dummy credentials, region. */
  clientConfig: {
    endpoint: string;
    region: string;
    credentials: typeof MOTO_CREDENTIALS;
    /** S3 on a bare host:port endpoint needs path-style addressing (no bucket subdomains on 127.0.0.1). */
    forcePathStyle: true;
  };
  /** Forgets every resource of every service (moto's `/moto-api/reset`). */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** Says in one line how to get moto when the Python side is missing, rather than failing in a hook. */
export const motoAvailable = (): boolean => existsSync(MOTO_SERVER);

/**
 * `moto_server` (AWS service stand-ins over real HTTP) on a port of its own, one per test file. It is
 * asked for port 0 and its banner read for the port it got, so two files never race for a port.
 */
export const startMotoServer = async (): Promise<MotoServer> => {
  if (!motoAvailable()) {
    throw new Error(`${MOTO_SERVER} is missing: run \`npm run python:env\` to create the Python side`);
  }
  const child = spawn(MOTO_SERVER, ['-H', '127.0.0.1', '-p', '0'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`moto_server printed no port within ${READY_DEADLINE_MS} ms:\n${output}`));
    }, READY_DEADLINE_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Running on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`moto_server exited (${code ?? signal}) before it listened:\n${output}`));
    });
  });
  // Keep reading its request log, or a full pipe would block the server.
  child.stdout?.resume();
  child.stderr?.resume();
  const endpoint = `http://127.0.0.1:${port}`;
  await waitUntilAnswering(endpoint, child);
  return {
    endpoint,
    clientConfig: { endpoint, region: MOTO_REGION, credentials: MOTO_CREDENTIALS, forcePathStyle: true },
    reset: async () => {
      const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (!response.ok) throw new Error(`moto reset answered ${response.status}`);
    },
    close: () => stop(child),
  };
};

const waitUntilAnswering = async (endpoint: string, child: ChildProcess): Promise<void> => {
  const deadline = Date.now() + READY_DEADLINE_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}`);
    try {
      const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop(child);
      throw new Error(`moto_server did not answer on ${endpoint} within ${READY_DEADLINE_MS} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};

const stop = async (child: ChildProcess): Promise<void> => {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
};
