import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
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
  /** moto's own settings (`/moto-api/config`), e.g. `{ stepfunctions: { execute_state_machine: true } }`. */
  configure(config: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

/** Says in one line how to get moto when the Python side is missing, rather than failing in a hook. */
export const motoAvailable = (): boolean => existsSync(MOTO_SERVER);

/** A port nobody listens on now. moto must be told it: it calls itself on it (Step Functions tasks). */
const freePort = async (): Promise<number> => {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
};

/**
 * `moto_server` (AWS service stand-ins over real HTTP) on a port of its own, one per test file. The
 * port is chosen free just before; if another process takes it in between, moto exits and a new port
 * is tried (bounded).
 */
export const startMotoServer = async (): Promise<MotoServer> => {
  if (!motoAvailable()) {
    throw new Error(`${MOTO_SERVER} is missing: run \`npm run python:env\` to create the Python side`);
  }
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      return await startOn(await freePort());
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
};

const startOn = async (port: number): Promise<MotoServer> => {
  const child = spawn(MOTO_SERVER, ['-H', '127.0.0.1', '-p', String(port)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1', MOTO_PORT: String(port) },
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`moto_server did not listen within ${READY_DEADLINE_MS} ms:\n${output}`));
    }, READY_DEADLINE_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(`Running on http://127.0.0.1:${port}`)) {
        clearTimeout(timer);
        resolve();
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
  // A test worker that dies without afterAll must not leave moto behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  const endpoint = `http://127.0.0.1:${port}`;
  await waitUntilAnswering(endpoint, child);
  return {
    endpoint,
    clientConfig: { endpoint, region: MOTO_REGION, credentials: MOTO_CREDENTIALS, forcePathStyle: true },
    reset: async () => {
      const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (!response.ok) throw new Error(`moto reset answered ${response.status}`);
    },
    configure: async (config) => {
      const response = await fetch(`${endpoint}/moto-api/config`, {
        method: 'POST',
        body: JSON.stringify(config),
      });
      if (!response.ok) throw new Error(`moto config answered ${response.status}`);
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
