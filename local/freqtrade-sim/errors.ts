/** One base error for the simulator; a bot refusal (Freqtrade's RPCException) is a typed result instead. */
export class FreqtradeSimError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FreqtradeSimError';
  }
}

export interface ConfigIssue {
  /** Dotted path of the offending field, e.g. `api_server.listen_ip_address`. */
  field: string;
  message: string;
}

/** The configuration (files, env or CLI) failed validation; the message names every field. */
export class ConfigError extends FreqtradeSimError {
  readonly issues: ConfigIssue[];

  constructor(source: string, issues: ConfigIssue[], options?: { cause?: unknown }) {
    super(
      `Invalid configuration (${source}): ${issues.map((issue) => `${issue.field || '(root)'}: ${issue.message}`).join('; ')}`,
      options,
    );
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** The command line was not understood; Freqtrade (argparse) exits 2 on these. */
export class UsageError extends FreqtradeSimError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
