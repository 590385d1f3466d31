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
