import * as z from 'zod';
import { AlertSeveritySchema } from '../../../shared/domain/ports';
import { IsoTimestampSchema, RunIdSchema, StrategyIdSchema } from '../../../shared/domain/session';

/** Query string values arrive as strings. */
const LimitSchema = z
  .string()
  .regex(/^\d{1,4}$/, 'must be a whole number from 1 to 1000')
  .transform(Number)
  .pipe(z.number().int().min(1, 'must be at least 1').max(1000, 'must be at most 1000'));

/** `GET /strategies/{strategyId}/pnl/history`. Without `run_id`: the strategy's current (or last) session. */
export const HistoryQuerySchema = z
  .strictObject({
    from: IsoTimestampSchema.optional(),
    to: IsoTimestampSchema.optional(),
    limit: LimitSchema.optional(),
    cursor: z.string().min(1).max(4096).optional(),
    run_id: RunIdSchema.optional(),
  })
  .refine((query) => query.from === undefined || query.to === undefined || query.from <= query.to, {
    message: 'must not be after `to`',
    path: ['from'],
  });

/** `GET /strategies/{strategyId}/alerts`: newest first. */
export const StrategyAlertsQuerySchema = z.strictObject({
  since: IsoTimestampSchema.optional(),
  severity: AlertSeveritySchema.optional(),
  limit: LimitSchema.optional(),
  cursor: z.string().min(1).max(4096).optional(),
});

/** `GET /alerts`: the fleet's alerts, newest first. */
export const AlertsQuerySchema = StrategyAlertsQuerySchema.extend({
  strategy_id: StrategyIdSchema.optional(),
});

/** `GET /strategies/{strategyId}/audit`: the operator commands on a strategy, newest first. */
export const AuditQuerySchema = z.strictObject({
  limit: LimitSchema.optional(),
  cursor: z.string().min(1).max(4096).optional(),
});
