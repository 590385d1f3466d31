import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MlflowAdminClient } from './client';
import { type SeedSummary, seedRegistry } from './seed';
import { type MlflowServer, mlflowInstalled, startMlflowServer } from './server';

export { MlflowAdminClient, MlflowRequestError } from './client';
export { type SeedSummary, seedRegistry } from './seed';
export {
  DEFAULT_MLFLOW_BIN,
  type MlflowServer,
  MlflowServerError,
  mlflowInstalled,
  startMlflowServer,
} from './server';

export const DEMO_REGISTRY_FILE = resolve(import.meta.dirname, '../demo/registry.json');

export interface LocalMlflowOptions {
  /** `<dataDir>/mlflow` keeps the database and artifacts across starts; undefined: a temp dir, removed at close. */
  dataDir?: string;
  /** The file registry to seed from (default local/demo/registry.json). */
  registryFile?: string;
  port?: number;
  log?: (line: string) => void;
}

export interface LocalMlflow {
  /** For the containers' MLFLOW_TRACKING_URI. */
  url: string;
  server: MlflowServer;
  seeded: SeedSummary;
  close(): Promise<void>;
}

/**
 * A real MLflow tracking server for the local cloud, seeded with the demo registry, so agents resolve
 * aliases and stages through MLflow's own REST API instead of the file registry.
 */
export const startLocalMlflow = async (options: LocalMlflowOptions = {}): Promise<LocalMlflow> => {
  const persistent = options.dataDir !== undefined;
  const dir = persistent
    ? join(resolve(options.dataDir as string), 'mlflow')
    : await mkdtemp(join(tmpdir(), 'tradai-local-mlflow-'));
  await mkdir(dir, { recursive: true });
  const server = await startMlflowServer({
    dir,
    ...(options.port === undefined ? {} : { port: options.port }),
  });
  try {
    const seeded = await seedRegistry(
      new MlflowAdminClient({ trackingUri: server.url }),
      options.registryFile ?? DEMO_REGISTRY_FILE,
    );
    options.log?.(
      `mlflow: ${server.url} (${seeded.models} models, ${seeded.created} versions seeded${seeded.placeholders > 0 ? `, ${seeded.placeholders} placeholders` : ''})`,
    );
    return {
      url: server.url,
      server,
      seeded,
      close: async () => {
        await server.close();
        if (!persistent) await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await server.close();
    throw error;
  }
};

export { mlflowInstalled as localMlflowAvailable };
