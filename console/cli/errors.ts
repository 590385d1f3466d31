import { EXIT, type ExitCode } from './exit-codes';

/** Every error `tradai` reports on purpose: one message, one exit code, no stack trace. */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  /** Machine-readable detail for `--json` (the API's error code, field issues, the session's status). */
  readonly detail: Readonly<Record<string, unknown>>;

  constructor(
    message: string,
    exitCode: ExitCode,
    detail: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.detail = detail;
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.usage);
    this.name = 'UsageError';
  }
}

export class UnreachableError extends CliError {
  constructor(url: string, cause: unknown) {
    super(
      `cannot reach ${url}: ${describeCause(cause)} (is the API there? for a local cloud: npm start)`,
      EXIT.unreachable,
      {},
      { cause },
    );
    this.name = 'UnreachableError';
  }
}

/** A reply that is not what this CLI understands: named by request and field, never a crash. */
export class BadReplyError extends CliError {
  constructor(request: string, problem: string) {
    super(`${request}: the reply is not understood: ${problem}`, EXIT.error);
    this.name = 'BadReplyError';
  }
}

/** The API said no: 4xx with its code and message (and field issues), or 401/403 as an auth failure. */
export class ApiRefusalError extends CliError {
  readonly status: number;
  readonly code: string;

  constructor(request: string, status: number, code: string, message: string, details: unknown) {
    super(
      `${request} ${status >= 500 ? 'failed' : 'refused'} (${status} ${code}): ${message}${issuesText(details)}`,
      status === 401 || status === 403 ? EXIT.auth : status >= 500 ? EXIT.error : EXIT.refused,
      { status, code, ...(details === undefined ? {} : { details }) },
    );
    this.name = 'ApiRefusalError';
    this.status = status;
    this.code = code;
  }
}

export class LaunchFailedError extends CliError {
  constructor(message: string, detail: Record<string, unknown>) {
    super(message, EXIT.launchFailed, detail);
    this.name = 'LaunchFailedError';
  }
}

export class DeclinedError extends CliError {
  constructor(message: string) {
    super(message, EXIT.declined);
    this.name = 'DeclinedError';
  }
}

const describeCause = (cause: unknown): string => {
  if (!(cause instanceof Error)) return String(cause);
  if (cause.name === 'TimeoutError') return 'no answer in time';
  // fetch's own error is 'fetch failed'; what failed (ECONNREFUSED, a DNS name, a bad port) is its cause.
  const inner = (cause as { cause?: unknown }).cause;
  if (!(inner instanceof Error)) return cause.message;
  const code = (inner as { code?: unknown }).code;
  return `${cause.message}: ${typeof code === 'string' ? code : inner.message}`;
};

/** The API's field issues (`[{field, message}]`), one per line under the message. */
const issuesText = (details: unknown): string => {
  if (!Array.isArray(details)) return '';
  const lines = details
    .map((issue) => {
      const { field, message } = (issue ?? {}) as { field?: unknown; message?: unknown };
      return typeof field === 'string' && typeof message === 'string' ? `\n  ${field}: ${message}` : '';
    })
    .join('');
  return lines;
};
