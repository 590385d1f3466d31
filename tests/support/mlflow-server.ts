import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MlflowAdminClient } from '../../local/mlflow/client';
import { type MlflowServer, mlflowInstalled, startMlflowServer } from '../../local/mlflow/server';

export { mlflowInstalled };

export interface TestMlflow {
  /** The tracking URI of a real `mlflow server` (SQLite backend and artifact store in a temp dir). */
  url: string;
  server: MlflowServer;
  /** Seeds it over MLflow's REST API, as a training job or an operator would. */
  admin: MlflowAdminClient;
  close(): Promise<void>;
}

export interface TestMlflowOptions {
  env?: Record<string, string>;
  args?: string[];
  admin?: { username: string; password: string };
  /** Writes files into the temp dir before the server starts (e.g. an auth config). */
  prepare?: (dir: string) => Promise<Record<string, string>>;
}

/**
 * One real MLflow per test file (it takes several seconds to start on this machine): call in beforeAll,
 * close in afterAll. The server is a process group of its own and is killed whole.
 */
export const startTestMlflow = async (options: TestMlflowOptions = {}): Promise<TestMlflow> => {
  const dir = await mkdtemp(join(tmpdir(), 'tradai-mlflow-'));
  try {
    const preparedEnv = (await options.prepare?.(dir)) ?? {};
    const server = await startMlflowServer({
      dir,
      startDeadlineMs: 90_000,
      env: { ...preparedEnv, ...options.env },
      ...(options.args === undefined ? {} : { args: options.args }),
    });
    return {
      url: server.url,
      server,
      admin: new MlflowAdminClient({ trackingUri: server.url, ...options.admin }),
      close: async () => {
        await server.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
};
