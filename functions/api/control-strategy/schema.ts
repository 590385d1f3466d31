import * as z from 'zod';
import { ReasonSchema } from '../shared/schemas';

/** `POST /strategies/{strategyId}/pause` and `/resume`. */
export const PauseResumeBodySchema = z.strictObject({ reason: ReasonSchema.optional() });

/** `POST /strategies/{strategyId}/stop`. `flatten` closes open positions before the bot stops. */
export const StopBodySchema = z.strictObject({
  flatten: z.boolean().optional(),
  reason: ReasonSchema.optional(),
});
