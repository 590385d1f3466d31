import * as z from 'zod';
import { ModelVersionNumberSchema, PromotionTargetSchema } from '../../../shared/domain/model-promotion';
import { ReasonSchema } from '../shared/schemas';

/** `POST /strategies/{strategyId}/promote`. */
export const PromoteBodySchema = z.strictObject({
  /** The registry's version number, e.g. `"2"` (a number is accepted too). */
  version: z.union([ModelVersionNumberSchema, z.number().int().positive().transform(String)]),
  /** `Staging` or `Production` (a stage transition), or any other name (an alias, e.g. `champion`). */
  to: PromotionTargetSchema,
  /**
   * The registered model's name; by default the strategy's current (or last) session's `strategy_name`.
   * Needed for a strategy that never ran.
   */
  model: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be letters, digits, dots, dashes or underscores')
    .optional(),
  reason: ReasonSchema,
});
export type PromoteBody = z.output<typeof PromoteBodySchema>;

/** The 200 of `POST /strategies/{strategyId}/promote`: where the version went and what it left. */
export const PromotedReplySchema = z.strictObject({
  strategy_id: z.string(),
  model: z.string(),
  version: z.string(),
  to: z.string(),
  kind: z.enum(['stage', 'alias']),
  stage_before: z.string().nullable(),
  stage: z.string().nullable(),
  aliases: z.array(z.string()),
  backtest_run_id: z
    .string()
    .nullable()
    .meta({ description: 'The backtest that passed the floors, where gated' }),
  active_run_id: z
    .string()
    .nullable()
    .meta({ description: 'The running session, which keeps its version until its next start or a deploy' }),
});
