/**
 * JSON lines to stdout (CloudWatch via awslogs). Every line passes through the redactor, so a secret
 * that slipped into an error message or a Freqtrade log line is replaced before it leaves the process.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface AgentLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Values that must never be written anywhere: registered as soon as they are read. */
export class Redactor {
  readonly #values = new Set<string>();

  add(value: string | undefined): void {
    // Very short values would blank out ordinary words; real keys and secrets are long.
    if (value !== undefined && value.length >= 6) this.#values.add(value);
  }

  redact(text: string): string {
    let out = text;
    for (const value of this.#values) out = out.split(value).join('[REDACTED]');
    return out;
  }
}

const errorFields = (error: unknown): Record<string, unknown> =>
  error instanceof Error ? { error: error.message, error_name: error.name } : { error: String(error) };

export const describeError = errorFields;

export interface LoggerOptions {
  level?: LogLevel;
  redactor?: Redactor;
  context?: Record<string, unknown>;
  write?: (line: string) => void;
  now?: () => number;
}

export const createLogger = (options: LoggerOptions = {}): AgentLogger => {
  const min = RANK[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const now = options.now ?? Date.now;
  const emit = (level: LogLevel, message: string, fields?: Record<string, unknown>) => {
    if (RANK[level] < min) return;
    // Fixed keys last: a field called `message` must not replace the log line's own message.
    const line = JSON.stringify({
      ...options.context,
      ...fields,
      level: level.toUpperCase(),
      timestamp: new Date(now()).toISOString(),
      service: 'tradai-agent',
      message,
    });
    write(options.redactor ? options.redactor.redact(line) : line);
  };
  return {
    debug: (message, fields) => emit('debug', message, fields),
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
  };
};

export const silentLogger: AgentLogger = { debug() {}, info() {}, warn() {}, error() {} };
