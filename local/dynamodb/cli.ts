import { parseArgs } from 'node:util';
import * as z from 'zod';
import { UsageError } from '../cli';
import { startLocalDynamo } from './index';
import type { LocalDynamo, LocalDynamoOptions } from './types';

export const DEFAULT_CLI_PORT = 8000;
export const DEFAULT_CLI_DATA_DIR = '.tradai/dynamodb';

const PortSchema = z.coerce.number().int().min(0).max(65_535);

/** `[--port 8000] [--data .tradai/dynamodb | --memory]`; persisted under .tradai/dynamodb by default. */
export function parseCliOptions(argv: readonly string[]): LocalDynamoOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      port: { type: 'string' },
      data: { type: 'string' },
      memory: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.memory && values.data !== undefined)
    throw new UsageError('--data and --memory exclude each other');
  const port = PortSchema.safeParse(values.port ?? DEFAULT_CLI_PORT);
  if (!port.success) throw new UsageError(`--port must be a port number, not ${values.port}`);
  return {
    port: port.data,
    ...(values.memory ? {} : { dataDir: values.data ?? DEFAULT_CLI_DATA_DIR }),
  };
}

export interface CliDependencies {
  readonly start: (options: LocalDynamoOptions) => Promise<LocalDynamo>;
  readonly log: (line: string) => void;
  /** Calls back once on the first SIGINT or SIGTERM. */
  readonly onStopSignal: (stop: () => void) => void;
}

const defaultDependencies: CliDependencies = {
  start: startLocalDynamo,
  log: (line) => console.log(line),
  onStopSignal: (stop) => {
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  },
};

/** Starts the local DynamoDB, prints where it is, and resolves once it has closed after a signal. */
export async function runCli(
  argv: readonly string[],
  dependencies: Partial<CliDependencies> = {},
): Promise<void> {
  const { start, log, onStopSignal } = { ...defaultDependencies, ...dependencies };
  const options = parseCliOptions(argv);
  const dynamo = await start(options);
  log(`local DynamoDB listening on ${dynamo.endpoint} (${options.dataDir ?? 'in memory'})`);
  log(`  export AWS_ENDPOINT_URL_DYNAMODB=${dynamo.endpoint}`);
  await new Promise<void>((resolveStopped) => onStopSignal(resolveStopped));
  log('local DynamoDB closing');
  await dynamo.close();
}
