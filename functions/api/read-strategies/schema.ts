import * as z from 'zod';
import { AlertViewSchema } from '../../../shared/domain/alert-history';
import { AuditEntrySchema } from '../../../shared/domain/audit';
import { AlertSeveritySchema } from '../../../shared/domain/ports';
import {
  DesiredStateSchema,
  IsoTimestampSchema,
  RunIdSchema,
  SessionStatusSchema,
  StrategyIdSchema,
  TradingModeSchema,
} from '../../../shared/domain/session';

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

/**
 * `GET /fleet`: one row per strategy (its current session, or its last one when none is active) and the
 * fleet's totals. Shared by the handler, the OpenAPI document, the `tradai` CLI and the dashboard.
 *
 * Ages are as of `as_of`: the ETag covers the fleet's state, not the clock, so a client holding a 304 ages
 * each row itself from `last_heartbeat` (or `heartbeat_age_s` + the time since `as_of`).
 */
export const FleetAlertSchema = z.strictObject({
  at: IsoTimestampSchema,
  severity: AlertSeveritySchema,
  kind: z.string(),
  run_id: z.string(),
  subject: z.string(),
});
export type FleetAlert = z.infer<typeof FleetAlertSchema>;

export const FleetStrategySchema = z.strictObject({
  strategy_id: z.string(),
  run_id: z.string(),
  strategy_name: z.string(),
  strategy_version: z.string().nullable(),
  trading_mode: TradingModeSchema,
  status: SessionStatusSchema,
  status_reason: z.string().nullable(),
  desired_state: DesiredStateSchema,
  /** False for stopped, failed and completed sessions. */
  active: z.boolean(),
  status_changed_at: IsoTimestampSchema,
  last_heartbeat: IsoTimestampSchema.nullable(),
  /** Seconds since the last heartbeat (or the start, before the first) at `as_of`; null before either. */
  heartbeat_age_s: z.number().nonnegative().nullable(),
  /** The sweep marks the session stale past this age (STALE_AFTER_S). */
  stale_after_s: z.number().positive(),
  stake_currency: z.string().nullable(),
  equity: z.number().nullable(),
  pnl_today: z.number().nullable(),
  pnl_total: z.number().nullable(),
  /** From the drawdown baseline, percent; null before the first risk snapshot. */
  drawdown_pct: z.number().nullable(),
  max_drawdown_pct: z.number(),
  open_trade_count: z.number().int().nonnegative().nullable(),
  risk_state: z.enum(['ok', 'breached']).nullable(),
  /** The rules breached at the last assessment, e.g. `drawdown`, `daily_loss`. */
  risk_breaches: z.array(z.string()),
  /** The newest alert recorded for this strategy (any run); null when none is kept (90 days). */
  last_alert: FleetAlertSchema.nullable(),
  /** The newest alert is a WARNING or CRITICAL of this (active) session, with no alert after it. */
  alert_open: z.boolean(),
});
export type FleetStrategy = z.infer<typeof FleetStrategySchema>;

/** Money is added up only within one trading mode and stake currency (dry-run never with live). */
export const FleetMoneyTotalSchema = z.strictObject({
  trading_mode: TradingModeSchema,
  stake_currency: z.string().nullable(),
  /** Active sessions that reported figures in this mode and currency. */
  strategies: z.number().int().nonnegative(),
  equity: z.number(),
  pnl_today: z.number(),
  pnl_total: z.number(),
});
export type FleetMoneyTotal = z.infer<typeof FleetMoneyTotalSchema>;

export const FleetTotalsSchema = z.strictObject({
  strategies: z.number().int().nonnegative(),
  /** Every status, zero included. */
  by_status: z.record(SessionStatusSchema, z.number().int().nonnegative()),
  money: z.array(FleetMoneyTotalSchema),
  /** Strategies whose alert is open (see `alert_open`), by severity. */
  open_alerts: z.strictObject({
    WARNING: z.number().int().nonnegative(),
    CRITICAL: z.number().int().nonnegative(),
  }),
});
export type FleetTotals = z.infer<typeof FleetTotalsSchema>;

export const FleetViewSchema = z.strictObject({
  as_of: IsoTimestampSchema,
  stale_after_s: z.number().positive(),
  /** Sorted by strategy id. */
  strategies: z.array(FleetStrategySchema),
  totals: FleetTotalsSchema,
  /** True when the fleet was larger than one read returns (10,000 strategies). */
  truncated: z.boolean(),
});
export type FleetView = z.infer<typeof FleetViewSchema>;

/**
 * Pages of the alert history and the audit trail, as the handlers answer them and the OpenAPI document
 * (functions/api/openapi.ts) and the console page parse them.
 */
const CursorSchema = z
  .string()
  .optional()
  .meta({ description: 'Pass back as `cursor` for the next page; absent on the last' });

/** One page of the alert history: allow-listed fields only (alertViewOf), newest first. */
export const AlertsPageSchema = z
  .strictObject({
    strategy_id: z.string().optional().meta({ description: 'On /strategies/{strategyId}/alerts' }),
    items: z.array(AlertViewSchema.meta({ id: 'Alert' })),
    cursor: CursorSchema,
  })
  .meta({ id: 'AlertsPage' });

/** One page of a strategy's audit trail, newest first: who did what, why, and the state before and after. */
export const AuditPageSchema = z
  .strictObject({
    strategy_id: z.string(),
    items: z.array(AuditEntrySchema.meta({ id: 'AuditEntry' })),
    cursor: CursorSchema,
  })
  .meta({ id: 'AuditPage' });
