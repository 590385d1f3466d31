import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';
import { DynamoBacktestEvidence } from '../adapters/dynamodb/backtest-evidence';
import { createDocumentClient } from '../adapters/dynamodb/client';
import { MlflowPromotionRegistry } from '../adapters/mlflow/promotion-registry';
import { cachedSecretToken, SecretArnSchema } from '../adapters/secretsmanager/secret-token';
import {
  type BacktestEvidenceSource,
  type ModelPromotionRegistry,
  type PromotionFloors,
  PromotionFloorsSchema,
} from '../domain/model-promotion';
import { type CommandDeps, defaultCommandDeps } from './api-command-deps';
import { parseEnv, TablesEnvSchema } from './env';

/** POST /strategies/{strategyId}/promote: the command deps plus the registry and the gate's inputs. */
export interface PromoteDeps extends CommandDeps {
  registry: ModelPromotionRegistry;
  backtests: BacktestEvidenceSource;
  /** null: no gate, any version may be promoted. */
  promotionFloors: PromotionFloors | null;
}

/** `PROMOTION_FLOORS`: JSON of PromotionFloorsSchema, or empty for no gate. A malformed value fails the start. */
export const PromotionFloorsEnvSchema = z
  .string()
  .trim()
  .optional()
  .transform((raw, ctx): PromotionFloors | null => {
    if (raw === undefined || raw === '') return null;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be JSON, e.g. {"min_trades":30,"max_drawdown_pct":20}' });
      return z.NEVER;
    }
    const parsed = PromotionFloorsSchema.safeParse(json);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        ctx.addIssue({ code: 'custom', message: `${issue.path.join('.') || '(root)'}: ${issue.message}` });
      }
      return z.NEVER;
    }
    return parsed.data;
  });

export const PromoteEnvSchema = TablesEnvSchema.extend({
  MLFLOW_TRACKING_URI: z.url({
    protocol: /^https?$/,
    error: 'must be the http(s) URL of the MLflow tracking server',
  }),
  MLFLOW_TIMEOUT_MS: z.coerce.number().int().min(100).max(15_000).default(5_000),
  /** The Secrets Manager ARN of MLflow's bearer token (never the token itself); unset: no auth. */
  MLFLOW_TRACKING_TOKEN: SecretArnSchema.optional(),
  PROMOTION_FLOORS: PromotionFloorsEnvSchema,
});

export const defaultPromoteDeps = (
  env: NodeJS.ProcessEnv = process.env,
  secrets: () => SecretsManagerClient = () => new SecretsManagerClient({}),
): PromoteDeps => {
  const parsed = parseEnv(PromoteEnvSchema, env);
  const tokenArn = parsed.MLFLOW_TRACKING_TOKEN;
  return {
    ...defaultCommandDeps(env),
    registry: new MlflowPromotionRegistry({
      trackingUri: parsed.MLFLOW_TRACKING_URI,
      timeoutMs: parsed.MLFLOW_TIMEOUT_MS,
      // Read now, at the function's init, and cached: not one Secrets Manager call per promotion.
      ...(tokenArn === undefined ? {} : { token: cachedSecretToken(secrets(), tokenArn) }),
    }),
    backtests: new DynamoBacktestEvidence(createDocumentClient(), { sessionsTable: parsed.SESSIONS_TABLE }),
    promotionFloors: parsed.PROMOTION_FLOORS,
  };
};
