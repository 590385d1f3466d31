import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

/** The project's pinned MLflow (python/requirements.txt), installed by `npm run python:env`. */
export const DEFAULT_MLFLOW_BIN = resolve(import.meta.dirname, '../../.venv/bin/mlflow');

export const mlflowInstalled = (bin = DEFAULT_MLFLOW_BIN): boolean => existsSync(bin);

export interface MlflowServerOptions {
  /** Where the SQLite backend (`mlflow.db`) and the artifact store (`artifacts/`) live. */
  dir: string;
  bin?: string;
  /** 0 (default) picks a free port on 127.0.0.1. */
  port?: number;
  /** Bound on the wait for `/health`: a server that is not up by then is killed and the start fails. */
  startDeadlineMs?: number;
  /** Extra environment (e.g. MLFLOW_AUTH_CONFIG_PATH) and arguments (e.g. `--app-name basic-auth`). */
  env?: Record<string, string>;
  args?: string[];
  /** Called with each line the server writes (it logs every request at INFO). */
  onLog?: (line: string) => void;
}

export interface MlflowServer {
  /** The tracking URI: `http://127.0.0.1:<port>`. */
  url: string;
  port: number;
  dir: string;
  /** The last lines the server wrote, for the message of a failed test or start. */
  recentLog(): string;
  close(): Promise<void>;
}

export class MlflowServerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MlflowServerError';
  }
}

const freePort = (): Promise<number> =>
  new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolvePort(port));
    });
  });

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/**
 * Stops the whole process group: `mlflow server` runs uvicorn (or gunicorn) as a child process, and
 * killing only the `mlflow` CLI would leave the child holding the port.
 */
const stopGroup = async (child: ChildProcess, graceMs: number): Promise<void> => {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-(child.pid as number), name);
    } catch {
      // The group is already gone.
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
  // uvicorn may outlive the CLI for a moment after SIGTERM; make sure nothing of the group is left.
  signal('SIGKILL');
};

/**
 * A real `mlflow server` on 127.0.0.1 (one worker, SQLite backend, artifacts proxied by the server from
 * a local folder, as `mlflow-artifacts:/` URIs), up once `/health` answers.
 */
export const startMlflowServer = async (options: MlflowServerOptions): Promise<MlflowServer> => {
  const bin = options.bin ?? DEFAULT_MLFLOW_BIN;
  if (!existsSync(bin)) {
    throw new MlflowServerError(`${bin} not found: run npm run python:env to install the pinned MLflow`);
  }
  const port = options.port && options.port > 0 ? options.port : await freePort();
  const artifacts = join(options.dir, 'artifacts');
  await mkdir(artifacts, { recursive: true });
  const lines: string[] = [];
  const child = spawn(
    bin,
    [
      'server',
      '--backend-store-uri',
      `sqlite:///${join(options.dir, 'mlflow.db')}`,
      '--artifacts-destination',
      artifacts,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--workers',
      '1',
      ...(options.args ?? []),
    ],
    {
      cwd: options.dir,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        // No network here, and no reason to phone home from a test or a laptop.
        MLFLOW_DISABLE_TELEMETRY: 'true',
        DO_NOT_TRACK: 'true',
        // No background job runner (huey consumers for GenAI jobs): less CPU, and SIGTERM ends the
        // server promptly (with the runner the CLI outlived its uvicorn child until SIGKILL).
        MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false',
        PYTHONUNBUFFERED: '1',
        ...options.env,
      },
    },
  );
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      lines.push(line);
      if (lines.length > 200) lines.shift();
      options.onLog?.(line);
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  let spawnError: unknown;
  child.once('error', (error) => {
    spawnError = error;
  });
  const recentLog = () => lines.slice(-40).join('\n');
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.startDeadlineMs ?? 90_000);
  for (;;) {
    if (spawnError !== undefined || child.exitCode !== null || child.signalCode !== null) {
      throw new MlflowServerError(
        `mlflow server exited before it was up (${String(spawnError ?? child.exitCode ?? child.signalCode)}):\n${recentLog()}`,
      );
    }
    try {
      const health = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
      if (health.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stopGroup(child, 2_000);
      throw new MlflowServerError(`mlflow server on ${url} was not up within the deadline:\n${recentLog()}`);
    }
    await sleep(250);
  }
  return {
    url,
    port,
    dir: options.dir,
    recentLog,
    close: () => stopGroup(child, 5_000),
  };
};
