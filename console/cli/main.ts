/**
 * `tradai` (npm run tradai -- ..., or the package's bin): the operator's command line. See program.ts.
 */
import { runTradai } from './program';

// `tradai ls | head -3`: a reader that has gone is no error, and no stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
});

const interrupt = new AbortController();
process.once('SIGINT', () => {
  interrupt.abort();
  // A second Ctrl-C ends it at once, whatever it waits for.
  process.once('SIGINT', () => process.exit(130));
});
process.exitCode = await runTradai(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  signal: interrupt.signal,
});
