import * as z from 'zod';
import { issuesOf, TradaiError } from '../domain/errors';

/** A missing or malformed environment variable: the process must not start with it. */
export class ConfigurationError extends TradaiError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigurationError';
  }
}

/** Parsed once at start; the error names every bad variable so a failed deploy is fixed in one go. */
export const parseEnv = <S extends z.ZodType>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): z.output<S> => {
  const result = schema.safeParse(env);
  if (!result.success) {
    const detail = issuesOf(result.error)
      .map((issue) => `${issue.field}: ${issue.message}`)
      .join('; ');
    throw new ConfigurationError(`Invalid environment: ${detail}`, { cause: result.error });
  }
  return result.data;
};

export const TablesEnvSchema = z.object({
  SESSIONS_TABLE: z.string().min(3).max(255),
  METRICS_TABLE: z.string().min(3).max(255),
});
export type TablesEnv = z.infer<typeof TablesEnvSchema>;

/** Seconds, from an environment string, with bounds. */
export const secondsVar = (fallback: number, min = 1, max = 86_400) =>
  z.coerce.number().int().min(min).max(max).default(fallback);
