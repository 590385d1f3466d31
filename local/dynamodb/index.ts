import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import dynalite from 'dynalite';
import * as z from 'zod';
import { CommitGate } from './commit-gate';
import {
  DataDirLayout,
  DEFAULT_ACCOUNT_ID,
  DEFAULT_HOST,
  DEFAULT_REGION,
  DEFAULT_TTL_SWEEP_INTERVAL_MS,
} from './constants';
import type { GatewayContext } from './context';
import { DynaliteClient } from './dynalite-client';
import { LocalDynamoError } from './errors';
import { startGateway } from './gateway';
import { TableMetadataStore } from './metadata';
import { Mutex } from './mutex';
import { StreamLog } from './stream-log';
import { activeStream, KeySchemaCache } from './tables';
import { TimeToLiveSweeper } from './ttl';
import type { LocalDynamo, LocalDynamoOptions } from './types';

export { DynamoServiceError, LocalDynamoError } from './errors';
export type { LocalDynamo, LocalDynamoOptions, StreamHub, StreamListener } from './types';

/** dynalite itself only ever listens here; the gateway in front of it is what clients use. */
const DYNALITE_HOST = '127.0.0.1';

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

const OptionsSchema = z.strictObject({
  dataDir: z.string().min(1).optional(),
  port: z.number().int().min(0).max(65_535).optional(),
  host: z.string().refine(isLoopback, 'must be a loopback address').optional(),
  region: z
    .string()
    .regex(/^[a-z0-9-]+$/)
    .optional(),
  accountId: z
    .string()
    .regex(/^\d{12}$/)
    .optional(),
  ttlSweepIntervalMs: z.number().int().min(0).optional(),
  now: z.custom<() => number>((value) => typeof value === 'function', 'must be a function').optional(),
});

/**
 * Starts dynalite in process and the gateway in front of it, which adds what dynalite lacks:
 * DynamoDB Streams, TransactWriteItems / TransactGetItems, and time to live.
 */
export async function startLocalDynamo(options: LocalDynamoOptions = {}): Promise<LocalDynamo> {
  const parsed = OptionsSchema.safeParse(options);
  if (!parsed.success) {
    throw new LocalDynamoError(`Invalid local DynamoDB options: ${z.prettifyError(parsed.error)}`);
  }
  const settings = parsed.data;
  const dataDir = settings.dataDir === undefined ? undefined : resolve(settings.dataDir);
  const region = settings.region ?? DEFAULT_REGION;
  const accountId = settings.accountId ?? DEFAULT_ACCOUNT_ID;
  const now = settings.now ?? Date.now;

  let dynalitePath: string | undefined;
  if (dataDir !== undefined) {
    dynalitePath = join(dataDir, DataDirLayout.dynalite);
    mkdirSync(dynalitePath, { recursive: true });
  }
  const dynaliteServer = dynalite({
    ...(dynalitePath === undefined ? {} : { path: dynalitePath }),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  const dynalitePort = await listen(dynaliteServer);
  const client = new DynaliteClient(DYNALITE_HOST, dynalitePort);

  try {
    const metadata = new TableMetadataStore(dataDir);
    const streams = new StreamLog({
      dataDir,
      region,
      now,
      streamOf: (tableName) => activeStream({ metadata, region, accountId }, tableName),
    });
    const context: GatewayContext = {
      dynalite: client,
      metadata,
      keySchemas: new KeySchemaCache(client),
      streams,
      writeLock: new Mutex(),
      commitGate: new CommitGate(),
      region,
      accountId,
      now,
    };
    const gateway = await startGateway(context, {
      host: settings.host ?? DEFAULT_HOST,
      port: settings.port ?? 0,
    });
    const sweeper = new TimeToLiveSweeper(
      context,
      settings.ttlSweepIntervalMs ?? DEFAULT_TTL_SWEEP_INTERVAL_MS,
    );
    sweeper.start();

    let closing: Promise<void> | undefined;
    const close = async (): Promise<void> => {
      await sweeper.stop();
      await gateway.close();
      await context.writeLock.idle();
      client.close();
      await closeDynalite(dynaliteServer);
      streams.close();
    };
    return {
      endpoint: gateway.endpoint,
      streams,
      close: () => {
        closing ??= close();
        return closing;
      },
    };
  } catch (error) {
    client.close();
    await closeDynalite(dynaliteServer);
    throw error;
  }
}

function listen(server: Server): Promise<number> {
  return new Promise((resolvePort, reject) => {
    server.once('error', reject);
    server.listen(0, DYNALITE_HOST, () => {
      server.off('error', reject);
      resolvePort((server.address() as AddressInfo).port);
    });
  });
}

function closeDynalite(server: Server): Promise<void> {
  return new Promise((resolveClose, reject) => {
    server.close((error) => (error ? reject(error) : resolveClose()));
  });
}
