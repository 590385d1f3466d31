/**
 * Container entry point (`npm run agent`, and the image's ENTRYPOINT): parse the environment, run the
 * agent, exit with its code. A bad environment exits 2 with one line naming the variables.
 */
import { runAgent } from './agent';
import { EXIT } from './constants';
import { parseAgentEnv } from './env';

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
