import { createInterface } from 'node:readline/promises';
import picocolors from 'picocolors';
import { runningLocalClouds } from '../../local/cloud/endpoint';
import { ApiClient } from './client';
import { type ApiTarget, LIVE_TOKEN_HINT, resolveApiTarget, resolveToken } from './connection';
import { DeclinedError, UsageError } from './errors';
import type { Paint } from './format';

/** What a command may touch: injected so the program runs the same in a terminal and in a test. */
export interface CliIo {
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Aborted on Ctrl-C: `--follow` and waits end cleanly. */
  signal: AbortSignal;
}

export interface GlobalOptions {
  apiUrl?: string;
  token?: string;
  json?: boolean;
  color?: boolean;
}

export interface CommandContext {
  readonly json: boolean;
  /** Colours for stdout (off with --json, NO_COLOR, --no-color or a pipe). */
  readonly paint: Paint;
  readonly io: CliIo;
  /** Data for the operator (or one JSON document with --json): stdout. */
  print(text: string): void;
  printJson(value: unknown): void;
  /** Progress and notes: stderr, so stdout stays machine output. */
  note(text: string): void;
  api(): Promise<ApiClient>;
  target(): Promise<ApiTarget>;
  /** Asks on the terminal to type `expected`; a non-terminal is a usage error naming `--yes`. */
  confirm(question: string, expected: string, refusal: string): Promise<void>;
  sleep(ms: number): Promise<void>;
}

export const createContext = (options: GlobalOptions, io: CliIo): CommandContext => {
  const json = options.json === true;
  const colour = !json && options.color !== false && picocolors.isColorSupported && io.stdout.isTTY === true;
  const paint = picocolors.createColors(colour);
  let target: ApiTarget | undefined;
  let client: ApiClient | undefined;
  const resolveTarget = async () => {
    target ??= resolveApiTarget(options.apiUrl, io.env, await runningLocalClouds());
    return target;
  };
  return {
    json,
    paint,
    io,
    print: (text) => io.stdout.write(`${text}\n`),
    printJson: (value) => io.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    note: (text) => io.stderr.write(`${text}\n`),
    target: resolveTarget,
    api: async () => {
      if (client !== undefined) return client;
      const resolved = await resolveTarget();
      const { token, minted } = await resolveToken(options.token, io.env, resolved);
      client = new ApiClient({
        baseUrl: resolved.url,
        token,
        ...(minted ? { forbiddenHint: LIVE_TOKEN_HINT } : {}),
      });
      return client;
    },
    confirm: async (question, expected, refusal) => {
      if (io.stdin.isTTY !== true) throw new UsageError(refusal);
      const prompt = createInterface({ input: io.stdin, output: io.stderr });
      try {
        const answer = await prompt.question(question, { signal: io.signal });
        if (answer.trim() !== expected)
          throw new DeclinedError(`not confirmed (expected ${expected}): nothing was sent`);
      } catch (error) {
        if (error instanceof DeclinedError) throw error;
        throw new DeclinedError('not confirmed: nothing was sent');
      } finally {
        prompt.close();
      }
    },
    sleep: (ms) =>
      new Promise((resolve) => {
        // Removed when the timer fires: a follow that polls many times must not pile listeners on the signal.
        const onAbort = () => {
          clearTimeout(timer);
          resolve(undefined);
        };
        const timer = setTimeout(() => {
          io.signal.removeEventListener('abort', onAbort);
          resolve(undefined);
        }, ms);
        io.signal.addEventListener('abort', onAbort, { once: true });
      }),
  };
};
