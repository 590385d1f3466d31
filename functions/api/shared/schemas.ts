import * as z from 'zod';
import { RunIdSchema, StrategyIdSchema } from '../../../shared/domain/session';

export const StrategyParamsSchema = z.strictObject({ strategyId: StrategyIdSchema });
export const SessionParamsSchema = z.strictObject({ runId: RunIdSchema });

/** Free text an operator gives for a command; it lands in the audit log and the session's status reason. */
export const ReasonSchema = z.string().trim().min(1).max(1024);
