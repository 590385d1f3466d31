import * as z from 'zod';
import { AlertSeveritySchema } from './ports';
import { IsoTimestampSchema, SessionSchema, StrategyIdSchema } from './session';

/**
 * The fleet read (GET /fleet): each strategy's current session, as far as a fleet row needs it. The sparse
 * `fleet-index` GSI on the sessions table projects exactly these attributes (serverless.yml lists them in
 * its INCLUDE projection; a test holds the two lists equal), so the whole fleet is one Query of small items.
 */
export const FleetSessionSchema = SessionSchema.pick({
  run_id: true,
  strategy_id: true,
  strategy_name: true,
  strategy_version: true,
  trading_mode: true,
  status: true,
  status_reason: true,
  desired_state: true,
  status_changed_at: true,
  started_at: true,
  last_heartbeat: true,
  metrics: true,
  risk_limits: true,
  risk: true,
});
export type FleetSession = z.infer<typeof FleetSessionSchema>;

/** Only a strategy's current session carries the index key (`fleet_row`), so the index stays one row per strategy. */
export const FLEET_ROW = 'current';

/**
 * A strategy's newest alert, kept on its strategy lock item (overwritten only by a newer alert), so the
 * fleet's last alerts come with the lock index Query the fleet read makes anyway.
 */
export const LockAlertSchema = z.object({
  at: IsoTimestampSchema,
  severity: AlertSeveritySchema,
  kind: z.string().min(1).max(64),
  run_id: z.string().min(1),
  subject: z.string().min(1).max(100),
});
export const LatestAlertSchema = LockAlertSchema.extend({ strategy_id: StrategyIdSchema });
export type LatestAlert = z.infer<typeof LatestAlertSchema>;

export interface FleetRead {
  /** One per strategy: its active session, or its last one; sorted by strategy id. */
  sessions: FleetSession[];
  /** Each strategy's newest alert, from its lock item (strategies with none have no entry). */
  latestAlerts: LatestAlert[];
  /** True when the fleet had more strategies than one read returns. */
  truncated: boolean;
}

/** The fleet read: sessions and last alerts. */
export interface FleetReader {
  readFleet(): Promise<FleetRead>;
}
