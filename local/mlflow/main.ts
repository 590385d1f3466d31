/**
 * `tsx local/mlflow/main.ts [--data .tradai] [--port 5000]`: a real MLflow seeded with the demo registry,
 * until Ctrl-C. Point an agent at it with MLFLOW_TRACKING_URI=<the printed URL>.
 */
import { parseArgs } from 'node:util';
import { mlflowInstalled, startLocalMlflow } from './index';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    port: { type: 'string' },
    memory: { type: 'boolean', default: false },
  },
});
if (!mlflowInstalled()) {
  console.error('mlflow: not installed; run npm run python:env first');
  process.exit(1);
}
const port = values.port === undefined ? undefined : Number(values.port);
if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65_535)) {
  console.error(`mlflow: --port ${values.port} is not a port`);
  process.exit(2);
}
const mlflow = await startLocalMlflow({
  ...(values.memory || values.data === undefined ? {} : { dataDir: values.data }),
  ...(port === undefined ? {} : { port }),
  log: (line) => console.log(line),
});
console.log(`MLFLOW_TRACKING_URI=${mlflow.url}`);
const stop = async () => {
  await mlflow.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
