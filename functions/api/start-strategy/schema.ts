import * as z from 'zod';
import { RiskLimitsSchema } from '../../../shared/domain/risk';
import { TradingModeSchema } from '../../../shared/domain/session';
import { ReasonSchema } from '../shared/schemas';

/** MLflow registered-model names, aliases and stages: plain names, since they reach config and env vars. */
const NamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** `POST /strategies/{strategyId}/start`. */
export const StartBodySchema = z
  .strictObject({
    /** The strategy's name in the model registry, e.g. `PascalStrategy`. */
    strategy: z
      .string()
      .min(1)
      .max(128)
      .regex(NamePattern, 'must be letters, digits, dots, dashes or underscores'),
    mode: TradingModeSchema,
    alias: z
      .string()
      .min(1)
      .max(128)
      .regex(NamePattern, 'must be letters, digits, dots, dashes or underscores')
      .optional(),
    stage: z
      .string()
      .min(1)
      .max(64)
      .regex(NamePattern, 'must be letters, digits, dots, dashes or underscores')
      .optional(),
    /** Deep-merged over the registry's Freqtrade config by the agent's loader. */
    overrides: z.record(z.string().min(1).max(128), z.unknown()).optional(),
    risk_limits: RiskLimitsSchema.optional(),
    reason: ReasonSchema.optional(),
  })
  .refine((body) => body.alias === undefined || body.stage === undefined, {
    message: 'give either alias or stage, not both',
    path: ['stage'],
  });
export type StartBody = z.output<typeof StartBodySchema>;
