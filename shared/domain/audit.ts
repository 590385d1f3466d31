import * as z from 'zod';
import { RiskLimitsSchema } from './risk';
import {
  DesiredStateSchema,
  IsoTimestampSchema,
  SessionStatusSchema,
  StrategyIdSchema,
  TradingModeSchema,
} from './session';
import type { Page, PageRequest } from './session-store';
import { ScopeKeySchema, TradingStateSchema } from './trading-scope';

/** The operator commands that change a strategy's state; each one leaves an audit record. */
/** `halt` and `scope_resume` change a trading scope (the fleet or an account), not one strategy. */
export const AuditActionSchema = z.enum([
  'start',
  'pause',
  'resume',
  'stop',
  'promote',
  'halt',
  'scope_resume',
  'deploy',
  'restart',
  'budget',
]);
export type AuditAction = z.infer<typeof AuditActionSchema>;

/** accepted: state changed; refused: a business rule said no (nothing changed); failed: a fault. */
export const AuditOutcomeSchema = z.enum(['accepted', 'refused', 'failed']);
export type AuditOutcome = z.infer<typeof AuditOutcomeSchema>;

/** The part of a session an operator command reads or changes; null where there was no session. */
export const AuditStateSchema = z
  .object({
    status: SessionStatusSchema,
    desired_state: DesiredStateSchema,
  })
  .nullable();
export type AuditState = z.infer<typeof AuditStateSchema>;

/** Stands in for a run id where the command found no session to act on. */
export const NO_RUN = 'none';

export const AuditEntrySchema = z.strictObject({
  /** The strategy, or the scope key (`scope#fleet`, `scope#account#<id>`) of a halt or scope resume. */
  strategy_id: z.union([StrategyIdSchema, ScopeKeySchema]),
  /** The session the command acted on, or `none`. */
  run_id: z.string().min(1).max(80),
  at: IsoTimestampSchema,
  action: AuditActionSchema,
  outcome: AuditOutcomeSchema,
  /** The token's subject: who asked. */
  actor: z.string().min(1).max(256),
  reason: z.string().max(1024).nullable(),
  trading_mode: TradingModeSchema.nullable(),
  state_before: AuditStateSchema,
  state_after: AuditStateSchema,
  /** Why a command was refused or failed, as the caller was told. */
  detail: z.string().max(1024).nullable(),
  /** The API request id, which is also the correlation id in the logs. */
  request_id: z.string().min(1).max(128),
  /**
   * A start's Freqtrade overrides and risk limits as the session got them (only allow-listed keys reach
   * here); absent on other commands and on records written before they were kept.
   */
  overrides: z.record(z.string(), z.unknown()).optional(),
  risk_limits: RiskLimitsSchema.optional(),
  /** A halt's or scope resume's trading state before and after; absent on strategy commands. */
  scope_state_before: TradingStateSchema.optional(),
  scope_state_after: TradingStateSchema.optional(),
  /** A promotion's registry change: which version went where, and what held the target before. */
  promotion: z
    .strictObject({
      model: z.string().min(1).max(128),
      version: z.string().min(1).max(16),
      to: z.string().min(1).max(128),
      stage_before: z.string().max(64).nullable(),
      stage_after: z.string().max(64).nullable(),
      /** The backtest whose summary passed the floors, where the target is gated. */
      backtest_run_id: z.string().max(128).nullable(),
    })
    .optional(),
});
export type AuditEntry = z.infer<typeof AuditEntrySchema>;

/**
 * Sort key: time first, so a strategy's records read in order; the request id keeps two commands in the
 * same millisecond from overwriting each other.
 */
export const auditKeyOf = (entry: Pick<AuditEntry, 'at' | 'run_id' | 'request_id'>): string =>
  `${entry.at}#${entry.run_id}#${entry.request_id}`;

export const AuditRecordSchema = AuditEntrySchema.extend({ at_run_id: z.string().min(1) });
export type AuditRecord = z.infer<typeof AuditRecordSchema>;

/** Append-only record of operator commands (who, what, why, state before and after). */
export interface AuditLog {
  /** Never overwrites an existing record. */
  record(entry: AuditEntry): Promise<void>;
  /** Oldest first, unless `newestFirst` (a console shows the latest commands). */
  listByStrategy(
    strategyId: string,
    page?: PageRequest,
    options?: { newestFirst?: boolean },
  ): Promise<Page<AuditRecord>>;
}
