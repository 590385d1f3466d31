import * as z from 'zod';
import { ReasonSchema } from '../shared/schemas';

/** `POST /strategies/{strategyId}/pause` and `/resume`. */
export const PauseResumeBodySchema = z.strictObject({ reason: ReasonSchema.optional() });

/** `POST /strategies/{strategyId}/stop`. `flatten` closes open positions before the bot stops. */
export const StopBodySchema = z.strictObject({
  flatten: z.boolean().optional(),
  reason: ReasonSchema.optional(),
});

/** 202 of pause, resume and stop (the OpenAPI document and the console page read it). */
export const CommandAcceptedSchema = z
  .looseObject({ run_id: z.string(), strategy_id: z.string(), status: z.string() })
  .meta({ id: 'CommandAccepted', description: "The session's state after the command was recorded" });
