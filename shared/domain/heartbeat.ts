import * as z from 'zod';
import { RiskStateSchema } from './risk';
import {
  AccountIdSchema,
  IsoTimestampSchema,
  isTerminal,
  MAX_OPEN_TRADES_SNAPSHOT,
  OpenTradeSchema,
  RunIdSchema,
  type Session,
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

/**
 * The liveness beat: a small item of its own beside the session (`<run_id>.beat`; run ids have no '.', so
 * no session key ever looks like one). The agent writes it at every heartbeat that carries no snapshot, so
 * a heartbeat costs one write unit instead of rewriting the session item and the fleet index. It carries
 * the heartbeat index's keys (hb_shard, hb_at); `item_type: beat` keeps it away from the stream processor.
 */
export const BEAT_SUFFIX = '.beat';
export const beatKeyOf = (runId: string): string => `${runId}${BEAT_SUFFIX}`;
/** The run a beat's key belongs to; undefined for any other key. */
export const runIdOfBeatKey = (key: string): string | undefined =>
  key.endsWith(BEAT_SUFFIX) ? key.slice(0, -BEAT_SUFFIX.length) : undefined;

export const LivenessBeatSchema = z.object({
  item_type: z.literal('beat'),
  run_id: z.string().endsWith(BEAT_SUFFIX),
  /** Set by the claim (last claim wins, in the claim's transaction): a superseded agent's beat is refused. */
  agent_id: AgentIdSchema,
  /** Absent from a claim until the claiming agent's first beat (a claim removes the previous agent's). */
  heartbeat_seq: z.number().int().positive().optional(),
  last_heartbeat: IsoTimestampSchema.optional(),
});
export type LivenessBeat = z.infer<typeof LivenessBeatSchema>;

/** What a beat writes: the heartbeat's identity and time, no figures. */
export const BeatSchema = HeartbeatSchema.pick({ run_id: true, agent_id: true, seq: true, at: true });
export type Beat = z.infer<typeof BeatSchema>;

/**
 * The session with its liveness: `last_heartbeat` is the newer of its snapshot's and its beat's. Everything
 * that judges silence (the sweep, the API's heartbeat age) reads a session through this.
 */
export const withBeat = <T extends Pick<Session, 'last_heartbeat'>>(
  session: T,
  beat: Pick<LivenessBeat, 'last_heartbeat'> | undefined,
): T => {
  const beatAt = beat?.last_heartbeat;
  if (beatAt === undefined) return session;
  if (session.last_heartbeat !== null && Date.parse(session.last_heartbeat) >= Date.parse(beatAt))
    return session;
  return { ...session, last_heartbeat: beatAt };
};

/**
 * The sessions with their liveness: each one not over is joined with its beat (withBeat). A session's own
 * last_heartbeat is its last snapshot's, up to a minute old; whatever judges or shows a heartbeat's age
 * reads sessions through this. `beatsOf` reads the beats of the runs it is given (SessionStore.beatsOf, or
 * the fleet read's own eventually consistent read).
 */
export const withLiveness = async <T extends Pick<Session, 'run_id' | 'status' | 'last_heartbeat'>>(
  beatsOf: (runIds: readonly string[]) => Promise<Map<string, Pick<LivenessBeat, 'last_heartbeat'>>>,
  sessions: readonly T[],
): Promise<T[]> => {
  const active = sessions.filter((session) => !isTerminal(session.status));
  if (active.length === 0) return [...sessions];
  const beats = await beatsOf(active.map((session) => session.run_id));
  return sessions.map((session) => withBeat(session, beats.get(session.run_id)));
};

/**
 * A snapshot (the session item: figures, risk, health, open trades) is written when something an operator
 * or the stream processor acts on changed, else once a minute; the heartbeats between are beats. A minute
 * bounds how old the API's figures get while nothing happens.
 */
export const SNAPSHOT_EVERY_MS = 60_000;
/**
 * Equity or today's PnL moving by this share of equity (in %) since the last snapshot is a change to
 * report at once: the account budget sums today's PnL across strategies from the snapshots.
 */
export const SNAPSHOT_MOVE_PCT = 0.25;
/** Timers drift: a heartbeat a little early still counts as the minute's. */
const SNAPSHOT_TOLERANCE = 0.9;

/**
 * What must reach the session at once when it changes: states, breaches, trades, Freqtrade's health. Not
 * the figures that move with every poll (CPU, memory, the loop's and the last trade's times): a trade
 * itself shows in the trades and their count.
 */
const significantOf = (heartbeat: Heartbeat) => {
  const {
    cpu_percent: _cpu,
    memory_mb: _memory,
    last_process_at: _process,
    last_trade_at: _trade,
    ...health
  } = heartbeat.health;
  const { snapshot: _figures, ...risk } = heartbeat.risk;
  return JSON.stringify({
    health,
    risk,
    trades: heartbeat.open_trades.map((trade) => [trade.trade_id, trade.pair, trade.amount]),
    total_trades: heartbeat.metrics.total_trades,
    open_trade_count: heartbeat.metrics.open_trade_count,
  });
};

const moneyMoved = (previous: Heartbeat, current: Heartbeat): boolean => {
  const before = previous.risk.snapshot;
  const now = current.risk.snapshot;
  if (before === null || now === null) return previous.metrics.pnl_today !== current.metrics.pnl_today;
  const step = (SNAPSHOT_MOVE_PCT / 100) * Math.abs(before.equity);
  return (
    Math.abs(now.equity - before.equity) >= step ||
    Math.abs(current.metrics.pnl_today - previous.metrics.pnl_today) >= step ||
    Math.abs(now.drawdown_pct - before.drawdown_pct) >= SNAPSHOT_MOVE_PCT
  );
};

/** Every fourth heartbeat, at most a minute apart: fast intervals (tests, demos) keep their figures fresh. */
export const snapshotEveryMsFor = (heartbeatIntervalS: number): number =>
  Math.max(heartbeatIntervalS * 1000, Math.min(SNAPSHOT_EVERY_MS, 4 * heartbeatIntervalS * 1000));

/**
 * How often a quiet agent writes its snapshot at this heartbeat interval: at the first heartbeat its
 * snapshot interval (less the timers' tolerance) after the last one.
 */
export const quietSnapshotEveryS = (heartbeatS: number): number =>
  heartbeatS *
  Math.max(1, Math.ceil((snapshotEveryMsFor(heartbeatS) * SNAPSHOT_TOLERANCE) / (heartbeatS * 1000) - 1e-9));

export interface LastSnapshot {
  atMs: number;
  heartbeat: Heartbeat;
}

/**
 * Whether this heartbeat is written as a snapshot (true) or as a beat. `forced`: the agent has something
 * to report now (a confirmed command, a risk step, its last heartbeat, a stale session to recover).
 */
export const isSnapshotDue = (
  last: LastSnapshot | undefined,
  heartbeat: Heartbeat,
  nowMs: number,
  forced: boolean,
  everyMs: number = SNAPSHOT_EVERY_MS,
): boolean =>
  forced ||
  last === undefined ||
  nowMs - last.atMs >= everyMs * SNAPSHOT_TOLERANCE ||
  significantOf(last.heartbeat) !== significantOf(heartbeat) ||
  moneyMoved(last.heartbeat, heartbeat);
