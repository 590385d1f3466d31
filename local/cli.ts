/**
 * Command-line manners shared by every script a person runs (package.json scripts): `--help` prints the
 * usage and exits 0; a wrong option or value is one line on stderr and exit 2, never a stack trace.
 * node:util parseArgs does the parsing (strict, no dependency); this adds only the help and the refusal.
 */
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;
const HELP = { help: { type: 'boolean', short: 'h', default: false } } as const;

/** A mistake in how the program was called: reported in one line with exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** One line, exit 2: how a command line says it was called wrongly. */
export function exitWithUsageError(message: string, hint = ' (see --help)'): never {
  process.stderr.write(`${message.split('\n')[0]}${hint}\n`);
  process.exit(2);
}

/** parseArgs' own errors, first sentence only ("Unknown option '--x'. To specify a positional ..."). */
export function describeArgsError(error: unknown): string | undefined {
  if (error instanceof UsageError) return error.message;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS')) return undefined;
  const message = error instanceof Error ? error.message : String(error);
  return message.split(/\.\s/)[0]?.replace(/'/g, '') ?? message;
}

/**
 * parseArgs (strict) plus `--help`/`-h`: prints `usage` and exits 0 on --help, exits 2 in one line on an
 * unknown option, a missing value or an unexpected positional.
 */
export function parseCommandLine<const O extends Options, const P extends boolean = false>(spec: {
  usage: string;
  options: O;
  allowPositionals?: P;
  args?: string[];
}) {
  const config = {
    args: spec.args ?? process.argv.slice(2),
    options: { ...spec.options, ...HELP } as O & typeof HELP,
    strict: true as const,
    allowPositionals: (spec.allowPositionals ?? false) as P,
  };
  let parsed: ReturnType<typeof parseArgs<typeof config>>;
  try {
    parsed = parseArgs(config);
  } catch (error) {
    const message = describeArgsError(error);
    if (message === undefined) throw error;
    exitWithUsageError(message);
  }
  if ((parsed.values as { help?: boolean }).help === true) {
    process.stdout.write(`${spec.usage.trim()}\n`);
    process.exit(0);
  }
  return parsed;
}

/**
 * Claims a data folder for this process: `<dir>/.lock` holds the pid and the program. A second process is
 * refused with the holder's pid, in one line; a lock whose process is gone (killed -9) is taken over.
 * Released on exit.
 */
export async function lockDataFolder(dir: string, program: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const lock = join(dir, '.lock');
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      writeFileSync(lock, `${process.pid} ${program}\n`, { flag: 'wx' });
      process.once('exit', () => {
        try {
          if (readFileSync(lock, 'utf8').split(' ')[0]?.trim() === String(process.pid)) unlinkSync(lock);
        } catch {
          // Already gone: nothing to release.
        }
      });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const [pidText = '', ...name] = readFileSync(lock, 'utf8').trim().split(' ');
    const holder = Number.parseInt(pidText, 10);
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
      exitWithUsageError(
        `${dir} is in use by process ${holder} (${name.join(' ') || 'another process'}): stop it, or use --data <another folder>`,
        '',
      );
    }
    // The holder is gone: its lock is stale.
    unlinkSync(lock);
  }
  exitWithUsageError(`${dir}: could not take ${lock}`);
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Where a client script finds the local cloud: TRADAI_URL, else http://127.0.0.1:$PORT (default 4000).
 * A PORT that is not a port, or a TRADAI_URL that is not an http(s) URL, is one line and exit 2.
 */
export function localCloudUrl(env: NodeJS.ProcessEnv = process.env): string {
  const tradaiUrl = env.TRADAI_URL;
  if (tradaiUrl !== undefined) {
    if (!/^https?:\/\/[^\s/]+/.test(tradaiUrl) || !URL.canParse(tradaiUrl))
      exitWithUsageError(`TRADAI_URL must be an http(s) URL, not ${JSON.stringify(tradaiUrl)}`);
    return tradaiUrl.replace(/\/+$/, '');
  }
  const port = env.PORT ?? '4000';
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65_535)
    exitWithUsageError(`PORT must be a port number (1-65535), not ${JSON.stringify(port)}`);
  return `http://127.0.0.1:${Number(port)}`;
}
