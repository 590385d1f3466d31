/**
 * Log lines in Freqtrade's format (`%(asctime)s - %(name)s - %(levelname)s - %(message)s`, local
 * time, comma before the milliseconds), so whatever tails Freqtrade's stderr reads the simulator too.
 */
import type { Clock } from '../../shared/domain/clock';

export type LogLevel = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';

export type LogSink = (line: string) => void;

export interface Logger {
  log(level: LogLevel, name: string, message: string): void;
  /** Values that must never appear in a log line (exchange key and secret, API password, ...). */
  addSecret(secret: unknown): void;
}

const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

/** `2026-01-01 00:00:00,000` in local time, as Python's logging.Formatter writes asctime. */
export const formatAsctime = (ms: number): string => {
  const d = new Date(ms);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())},${pad(d.getMilliseconds(), 3)}`
  );
};

export const stderrSink: LogSink = (line) => {
  process.stderr.write(`${line}\n`);
};

export const silentSink: LogSink = () => {};

/** Secrets shorter than this are not redacted: masking "1" would garble every number in the log. */
const MIN_REDACTED_LENGTH = 4;

export const createLogger = (clock: Clock, sink: LogSink): Logger => {
  const secrets = new Set<string>();
  const redact = (text: string): string => {
    let out = text;
    for (const secret of secrets) out = out.split(secret).join('***');
    return out;
  };
  return {
    log(level, name, message) {
      // Redaction is the last line of defence: no code path should format a secret in the first place.
      sink(redact(`${formatAsctime(clock.now())} - ${name} - ${level} - ${message}`));
    },
    addSecret(secret) {
      if (
        (typeof secret === 'string' || typeof secret === 'number') &&
        String(secret).length >= MIN_REDACTED_LENGTH
      ) {
        secrets.add(String(secret));
      }
    },
  };
};
