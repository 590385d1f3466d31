import type * as z from 'zod';

/** Base of every error the domain raises; a business refusal is a typed result, not one of these. */
export class TradaiError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TradaiError';
  }
}

export interface FieldIssue {
  /** Dotted path of the offending field, e.g. `risk_limits.max_drawdown_pct`. */
  field: string;
  message: string;
}

/** Input from outside failed its schema: nothing was changed. */
export class InvalidInputError extends TradaiError {
  readonly issues: FieldIssue[];

  constructor(what: string, issues: FieldIssue[], options?: { cause?: unknown }) {
    super(
      `Invalid ${what}: ${issues.map((issue) => `${issue.field || '(root)'}: ${issue.message}`).join('; ')}`,
      options,
    );
    this.name = 'InvalidInputError';
    this.issues = issues;
  }
}

/** Data read back from storage does not match the schema: a fault, never silently cast. */
export class CorruptRecordError extends TradaiError {
  constructor(what: string, issues: FieldIssue[], options?: { cause?: unknown }) {
    super(
      `Stored ${what} does not match its schema: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`,
      options,
    );
    this.name = 'CorruptRecordError';
  }
}

export const issuesOf = (error: z.ZodError): FieldIssue[] =>
  error.issues.map((issue) => ({
    field: issue.path.map(String).join('.'),
    message: issue.message,
  }));

/** Parses input from outside; a failure names every offending field. */
export const parseInput = <S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> => {
  const result = schema.safeParse(value);
  if (!result.success) throw new InvalidInputError(what, issuesOf(result.error), { cause: result.error });
  return result.data;
};

/** Parses what storage handed back; a mismatch is a fault of ours, not of the caller. */
export const parseStored = <S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> => {
  const result = schema.safeParse(value);
  if (!result.success) throw new CorruptRecordError(what, issuesOf(result.error), { cause: result.error });
  return result.data;
};
