/**
 * Container entry point (`npm run agent`, and the image's ENTRYPOINT): parse the environment, run the
 * agent, exit with its code. A bad environment exits 2 with one line naming the variables.
 */
import { runAgent } from './agent';
import { EXIT } from './constants';
import { parseAgentEnv } from './env';

// The agent is configured by its environment only (the image runs it without arguments).
const USAGE = `Usage: npm run agent   (the image's ENTRYPOINT; configured by environment variables only)
  Required: STRATEGY (or FREQTRADE_STRATEGY), STRATEGY_ID, RUN_ID, TRADING_MODE, MLFLOW_TRACKING_URI,
  DYNAMODB_TABLE, ARCTICDB_S3_URI, S3_CONFIG_BUCKET; EXCHANGE_SECRET_NAME in live mode.
  README "Running the agent" lists the others. A bad environment exits 2 naming the variables.`;
const [argument] = process.argv.slice(2);
if (argument === '--help' || argument === '-h') {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (argument !== undefined) {
  process.stderr.write(`agent: unexpected argument ${argument}: it takes none (see --help)\n`);
  process.exit(EXIT.configuration);
}

const parsed = parseAgentEnv(process.env);
if (!parsed.ok) {
  process.stderr.write(`${parsed.message}\n`);
  process.exit(EXIT.configuration);
}

runAgent(parsed.options, { signals: process })
  .then((handle) => handle.done)
  .then((code) => process.exit(code))
  .catch((error: unknown) => {
    process.stderr.write(`agent failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(EXIT.fault);
  });
