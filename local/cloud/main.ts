/**
 * `npm start [-- --memory] [--data .tradai] [--verbose] [--freqtrade sim|real] [--mlflow file|real]`: the whole control plane
 * on this machine, wired from serverless.yml. `--freqtrade real` runs the .venv's Freqtrade in every
 * container (dry-run against a local exchange it starts) instead of the simulator. PORT (default 4000) picks the HTTP API port; FREQTRADE_CMD a real Freqtrade;
 * ALERT_WEBHOOK_URL a webhook for alerts.
 */
import { join } from 'node:path';
import * as z from 'zod';
import { ConfigurationError, parseEnv } from '../../shared/runtime/env';
import { exitWithUsageError, lockDataFolder, parseCommandLine } from '../cli';
import {
  type LocalExchange,
  REAL_FREQTRADE_CMD,
  realFreqtradeAvailable,
  realFreqtradeEnvironment,
  startLocalExchange,
} from '../exchange/index';
import { type LocalMlflow, localMlflowAvailable, startLocalMlflow } from '../mlflow/index';
import { startLocalCloud } from './cloud';
import { publishEndpoint } from './endpoint';
import { publishIssuer } from './jwt-issuer';

const USAGE = `
Usage: npm start [-- options]
  The whole control plane on this machine, wired from serverless.yml.
  --memory               keep nothing: DynamoDB, keys and alerts in memory
  --data <folder>        where state is kept (default .tradai); one npm start per folder
  --verbose              log INFO (default WARN)
  --freqtrade sim|real   the Freqtrade simulator (default) or the .venv's real Freqtrade, dry-run
  --mlflow file|real     the file registry (default) or a real MLflow server from the .venv
  -h, --help             this text
Environment: PORT (HTTP API port, default 4000, 0 = any free port), FREQTRADE_CMD (a real Freqtrade),
  ALERT_WEBHOOK_URL (a webhook for alerts), HEARTBEAT_INTERVAL_S (default 10).
`;
const { values } = parseCommandLine({
  usage: USAGE,
  options: {
    memory: { type: 'boolean', default: false },
    data: { type: 'string', default: '.tradai' },
    verbose: { type: 'boolean', default: false },
    freqtrade: { type: 'string', default: 'sim' },
    mlflow: { type: 'string', default: 'file' },
  },
});
const freqtradeMode = z.enum(['sim', 'real']).safeParse(values.freqtrade);
if (!freqtradeMode.success) {
  console.error(`--freqtrade must be sim or real, not ${JSON.stringify(values.freqtrade)}`);
  process.exit(2);
}
if (freqtradeMode.data === 'real' && !realFreqtradeAvailable()) {
  console.error(`--freqtrade real needs ${REAL_FREQTRADE_CMD}: create it with npm run python:env`);
  process.exit(2);
}
const mlflowMode = z.enum(['file', 'real']).safeParse(values.mlflow);
if (!mlflowMode.success) {
  console.error(`--mlflow must be file or real, not ${JSON.stringify(values.mlflow)}`);
  process.exit(2);
}
if (mlflowMode.data === 'real' && !localMlflowAvailable()) {
  console.error('--mlflow real needs .venv/bin/mlflow: create it with npm run python:env');
  process.exit(2);
}
const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(4000),
  ALERT_WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
  FREQTRADE_CMD: z.string().min(1).optional(),
  /** Locally a heartbeat every 10 s makes the demo visibly alive; AWS keeps the agent's 30 s default. */
  HEARTBEAT_INTERVAL_S: z.coerce.number().min(1).max(300).default(10),
});
const env = (() => {
  try {
    return parseEnv(envSchema);
  } catch (error) {
    if (error instanceof ConfigurationError) exitWithUsageError(error.message);
    throw error;
  }
})();
// One npm start per data folder: a second one would die on the first one's DynamoDB files.
// Its DynamoDB folder too, so npm run dynamodb:local on it is refused as well.
if (!values.memory) {
  await lockDataFolder(values.data, 'npm start');
  await lockDataFolder(join(values.data, 'dynamodb'), 'npm start');
}

// Real Freqtrade needs an exchange to load markets and candles from: a seeded local one, on a free port.
const exchange: LocalExchange | undefined =
  freqtradeMode.data === 'real' ? await startLocalExchange({ seed: 7 }) : undefined;
// A real MLflow tracking server seeded from the demo registry; its start takes 10-35 s, so it is opt-in.
const mlflow: LocalMlflow | undefined =
  mlflowMode.data === 'real'
    ? await startLocalMlflow({ ...(values.memory ? {} : { dataDir: values.data }), log: console.log })
    : undefined;
const cloud = await startLocalCloud({
  ...(values.memory ? {} : { dataDir: values.data }),
  port: env.PORT,
  colour: process.stdout.isTTY,
  logLevel: values.verbose ? 'INFO' : 'WARN',
  containerEnvironment: {
    HEARTBEAT_INTERVAL_S: String(env.HEARTBEAT_INTERVAL_S),
    ...(exchange === undefined ? {} : realFreqtradeEnvironment(exchange.url)),
    ...(mlflow === undefined ? {} : { MLFLOW_TRACKING_URI: mlflow.url }),
  },
  ...(env.ALERT_WEBHOOK_URL === undefined ? {} : { webhookUrl: env.ALERT_WEBHOOK_URL }),
  ...(env.FREQTRADE_CMD === undefined
    ? exchange === undefined
      ? {}
      : { freqtradeCmd: REAL_FREQTRADE_CMD }
    : { freqtradeCmd: env.FREQTRADE_CMD }),
});
const demo =
  exchange === undefined
    ? { id: 'demo-momentum', strategy: 'MomentumStrategy', on: 'the Freqtrade simulator' }
    : { id: 'demo-tradai', strategy: 'TradaiDemo', on: `real Freqtrade, local exchange ${exchange.url}` };
const token = await cloud.token(['strategies:read', 'strategies:write']);
// `npm run token` and `npm run demo` find this run's signing key by its port, --memory runs included.
const unpublishIssuer = await publishIssuer(cloud.url, cloud.issuer, values.memory ? undefined : values.data);
// `tradai` finds this run (its URL, while the pid lives) from any folder, without configuration.
const unpublishEndpoint = await publishEndpoint(cloud.url, values.memory ? undefined : values.data);
const clientPrefix = cloud.url === 'http://127.0.0.1:4000' ? '' : `TRADAI_URL=${cloud.url} `;

console.log(`
TradAI control plane is up (${values.memory ? 'in memory' : `data in ${values.data}/`}).
  HTTP API        ${cloud.url}
  console         ${cloud.url}/  (the dashboard; log in there with the local issuer)
  DynamoDB        ${cloud.dynamoEndpoint}  (tables ${cloud.tables.sessions}, ${cloud.tables.metrics})
  MLflow          ${mlflow === undefined ? `file registry (local/demo/registry.json, copied to ${values.memory ? 'a temp folder' : join(values.data, 'registry.json')}: promotions land there)` : `real, ${mlflow.url}`}
  Freqtrade       ${exchange === undefined ? 'simulator' : `real (${REAL_FREQTRADE_CMD}), exchange ${exchange.url} (POST /__scenario)`}
  alerts          console${values.memory ? '' : `, ${values.data}/alerts.jsonl`}${env.ALERT_WEBHOOK_URL ? `, ${env.ALERT_WEBHOOK_URL}` : ''}

A token (read + write, 12 h):
  export TOKEN=${token}

Start the demo strategy (dry-run on ${demo.on}), then watch it:
  curl -s -X POST ${cloud.url}/strategies/${demo.id}/start -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"strategy":"${demo.strategy}","mode":"dry-run","stage":"Production","reason":"demo"}'
  curl -s ${cloud.url}/strategies/${demo.id} -H "authorization: Bearer $TOKEN"

Or in one go: ${clientPrefix}npm run demo
To trade live (real money in AWS: the live scope and the tradai-live group):
  ${clientPrefix}npm run token -- --scopes "strategies:read strategies:write strategies:live" --groups live
Ctrl-C stops the containers gracefully; the next npm start brings running sessions back.
`);

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping containers gracefully...`);
  await cloud.close();
  await unpublishIssuer();
  await unpublishEndpoint();
  await exchange?.close();
  await mlflow?.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
