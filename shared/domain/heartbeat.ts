import * as z from 'zod';
import { RiskStateSchema } from './risk';
import {
  AccountIdSchema,
  IsoTimestampSchema,
  MAX_OPEN_TRADES_SNAPSHOT,
  OpenTradeSchema,
  RunIdSchema,
  SessionHealthSchema,
  SessionMetricsSchema,
} from './session';

export const AgentIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9._:/-]{1,128}$/, 'must be 1-128 URL-safe characters');

/** One agent report. `seq` is monotonic per session, so a delayed write can never overwrite a newer one. */
export const HeartbeatSchema = z.strictObject({
  run_id: RunIdSchema,
  agent_id: AgentIdSchema,
  seq: z.number().int().positive(),
  at: IsoTimestampSchema,
  metrics: SessionMetricsSchema,
  health: SessionHealthSchema,
  risk: RiskStateSchema,
  open_trades: z.array(OpenTradeSchema).max(MAX_OPEN_TRADES_SNAPSHOT),
});
export type Heartbeat = z.infer<typeof HeartbeatSchema>;

/** What the agent learned when it loaded the strategy's config; written once when it claims the session. */
export const AgentClaimSchema = z.strictObject({
  run_id: RunIdSchema,
  agent_id: AgentIdSchema,
  strategy_version: z.string().min(1).max(64).nullable(),
  exchange: z.string().min(1).max(64).nullable(),
  pairs: z.array(z.string().min(1).max(64)).max(500),
  /**
   * The exchange account's identity (a digest of exchange + API key, never the key itself). A live
   * session leases (account, pair) with its claim, so two sessions never trade one pair of one account.
   */
  account_id: AccountIdSchema.optional(),
});
export type AgentClaim = z.infer<typeof AgentClaimSchema>;

/** A point of PnL history, kept in the metrics table so the session item stays small. */
export const HistoryEntrySchema = z.object({
  run_id: RunIdSchema,
  recorded_at: IsoTimestampSchema,
  strategy_id: z.string().max(64),
  seq: z.number().int().nonnegative(),
  pnl_today: z.number(),
  pnl_total: z.number(),
  total_trades: z.number().int().nonnegative(),
  open_trade_count: z.number().int().nonnegative(),
  equity: z.number().nullable(),
  drawdown_pct: z.number().nullable(),
});
export type HistoryEntry = z.infer<typeof HistoryEntrySchema>;

export const historyEntryOf = (strategyId: string, heartbeat: Heartbeat): HistoryEntry => ({
  run_id: heartbeat.run_id,
  recorded_at: heartbeat.at,
  strategy_id: strategyId,
  seq: heartbeat.seq,
  pnl_today: heartbeat.metrics.pnl_today,
  pnl_total: heartbeat.metrics.pnl_total,
  total_trades: heartbeat.metrics.total_trades,
  open_trade_count: heartbeat.open_trades.length,
  equity: heartbeat.risk.snapshot?.equity ?? null,
  drawdown_pct: heartbeat.risk.snapshot?.drawdown_pct ?? null,
});
