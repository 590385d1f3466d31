import * as z from 'zod';
import { StopOutcomeSchema } from './agent-report';
import { BacktestSummarySchema } from './backtest-summary';
import { LockAlertSchema } from './fleet';
import { HandoffSchema } from './handoff';
import type { AgentClaim, Beat, Heartbeat, HistoryEntry, LivenessBeat } from './heartbeat';
import {
  AccountIdSchema,
  ContainerRefSchema,
  type DesiredState,
  DesiredStateSchema,
  IsoTimestampSchema,
  type NewSession,
  type Session,
  type SessionStatus,
} from './session';
import type { ScopedResumeResult, ScopeRef, TradingScope } from './trading-scope';

/** The strategy lock item: at most one active session per strategy, ever. */
/** The sparse GSI key every lock item carries, so strategies are listed without a Scan. */
export const LOCK_SCOPE = 'strategy';

export const StrategyLockSchema = z.object({
  item_type: z.literal('strategy_lock'),
  lock_scope: z.literal(LOCK_SCOPE),
  run_id: z.string().startsWith('strategy#'),
  strategy_id: z.string(),
  active_run_id: z.string().nullable(),
  last_run_id: z.string(),
  locked_at: IsoTimestampSchema.nullable(),
  released_at: IsoTimestampSchema.nullable(),
  /** The strategy's newest alert (the alert recorder's conditional write), so GET /fleet reads it with the lock. */
  last_alert: LockAlertSchema.optional(),
});
export type StrategyLock = z.infer<typeof StrategyLockSchema>;

export const lockKeyOf = (strategyId: string): string => `strategy#${strategyId}`;

/**
 * One writer per (exchange account, pair), ever: a live session leases each pair it trades in the same
 * transaction as its claim. Leases sit in the sessions table beside the locks; with no `status` and no
 * `lock_scope` they stay out of every GSI, and the stream filter (item_type = session) keeps them from
 * the stream processor. A released lease keeps its last holder with `holder_run_id` null.
 */
export const AccountLeaseSchema = z.object({
  item_type: z.literal('account_lease'),
  run_id: z.string().startsWith('lease#'),
  account_id: AccountIdSchema,
  pair: z.string().min(1).max(64),
  holder_run_id: z.string().nullable(),
  holder_strategy_id: z.string().nullable(),
  last_run_id: z.string(),
  leased_at: IsoTimestampSchema.nullable(),
  released_at: IsoTimestampSchema.nullable(),
});
export type AccountLease = z.infer<typeof AccountLeaseSchema>;

export const leaseKeyOf = (accountId: string, pair: string): string => `lease#${accountId}#${pair}`;

/**
 * DynamoDB's TransactWriteItems takes at most 100 actions: the session update, its beat, the account's
 * scope check and one per pair.
 */
export const MAX_LEASED_PAIRS = 97;

/** A successor's claim also checks the lock, the (up to two) runs it takes over from and its account's scope. */
export const MAX_LEASED_PAIRS_ON_HANDOFF = MAX_LEASED_PAIRS - 4;

/** Fields a transition or patch may set beside the status; `null` clears a field. */
export const SessionPatchSchema = z.strictObject({
  status_reason: z.string().max(1024).nullable().optional(),
  desired_state: DesiredStateSchema.optional(),
  container: ContainerRefSchema.nullable().optional(),
  launch_token: z.string().min(1).max(2048).nullable().optional(),
  started_at: IsoTimestampSchema.nullable().optional(),
  completed_at: IsoTimestampSchema.nullable().optional(),
  result_s3_path: z.string().max(1024).nullable().optional(),
  flatten_on_stop: z.boolean().optional(),
  stop_outcome: StopOutcomeSchema.nullable().optional(),
  backtest_summary: BacktestSummarySchema.nullable().optional(),
  scope_cause: z.string().max(128).nullable().optional(),
  handoff: HandoffSchema.nullable().optional(),
});
export type SessionPatch = z.infer<typeof SessionPatchSchema>;

export interface Page<T> {
  items: T[];
  /** Opaque; pass back to read the next page. Absent on the last page. */
  cursor?: string;
  /** Items of the page that failed their schema: left out of `items`, so one bad item never hides the rest. */
  corrupt?: CorruptItem[];
}

/** A stored item that does not parse, named so an operator can find and repair it. */
export interface CorruptItem {
  /** The item's key (`run_id`), or `(no key)`. */
  key: string;
  /** Its strategy, when that much could be read. */
  strategy_id: string | null;
  /** The failed fields, one `field: message` each. */
  issues: string[];
}

export interface PageRequest {
  limit?: number;
  cursor?: string;
}

export type CreateSessionResult =
  | { ok: true; session: Session }
  | { ok: false; reason: 'strategy_busy'; activeRunId: string; message: string }
  | { ok: false; reason: 'duplicate_run_id'; message: string }
  /** The fleet is not `active`: no service-mode session starts (checked in the creating transaction). */
  | { ok: false; reason: 'scope_not_active'; scope: TradingScope; message: string };

/** A run the successor replaces: marked superseded by it in the same transaction that creates it. */
export interface SupersededRun {
  run_id: string;
  /** Its statuses the handoff may start from (a deploy: running or paused). */
  statuses: readonly SessionStatus[];
  /** Its `superseded_by` as it must be now: null for a first handoff, the failed successor for a rollback. */
  supersededBy: string | null;
}

export interface SuccessorRequest {
  /** The run that holds the strategy lock now (checked in the transaction; the lock itself moves later). */
  lockHolder: string;
  /** The successor's intent: a paused predecessor's successor starts paused. */
  desiredState?: 'running' | 'paused';
  /** The first is the successor's predecessor (`supersedes`): lock, leases and open trades pass from it. */
  superseded: readonly SupersededRun[];
  handoff: z.input<typeof HandoffSchema>;
}

export type PassLockResult = { ok: true } | { ok: false; reason: 'handoff_not_ready'; message: string };

export type CreateSuccessorResult =
  | { ok: true; session: Session }
  | { ok: false; reason: 'duplicate_run_id'; message: string }
  /** A superseded run moved on (stopped, or another handoff started) or the lock moved: nothing written. */
  | { ok: false; reason: 'handoff_refused'; message: string };

export type HeartbeatResult =
  | { ok: true; desiredState: DesiredState; session: Session }
  | {
      ok: false;
      reason: 'not_found' | 'terminal' | 'superseded' | 'out_of_order';
      status?: SessionStatus;
      message: string;
    };

/** A beat carries no session: the agent learns the intent from its control poll and its snapshots. */
export type BeatResult =
  | { ok: true }
  | {
      ok: false;
      /** not_found: no beat (never claimed, or the session is over and the sweep removed it). */
      reason: 'not_found' | 'superseded' | 'out_of_order';
      /** The beat's seq now, when it is the agent's own (out_of_order): the next beat goes past it. */
      currentSeq?: number;
      message: string;
    };

export type ClaimResult =
  | { ok: true; session: Session }
  | { ok: false; reason: 'not_found' | 'terminal'; status?: SessionStatus; message: string }
  /** A successor whose predecessor is not over yet, or whose strategy lock another run holds: it must not trade. */
  | { ok: false; reason: 'handoff_not_ready'; message: string }
  /** Another live run holds a pair of this account: this run must not trade (it is failed by its agent). */
  | {
      ok: false;
      reason: 'account_busy';
      holderRunId: string;
      accountId: string;
      pair: string;
      message: string;
    }
  /** A new live session's account is not `active`: it must not start trading (failed by its agent). */
  | { ok: false; reason: 'scope_not_active'; scope: TradingScope; message: string };

export type TransitionResult =
  | { ok: true; session: Session; previous: SessionStatus }
  | { ok: false; reason: 'not_found' | 'not_allowed'; current?: SessionStatus; message: string };

export type UpdateResult =
  | { ok: true; session: Session }
  | { ok: false; reason: 'not_found' | 'not_allowed'; current?: SessionStatus; message: string };

export type ReleaseLockResult =
  | { ok: true }
  | { ok: false; reason: 'not_held'; activeRunId: string | null; message: string }
  /** The run is superseded by a successor still under way: lock and leases wait for its claim. */
  | { ok: false; reason: 'handing_off'; successorRunId: string | null; message: string };

export interface TransitionOptions {
  /** Narrows the predecessors the transition table allows, e.g. only `launching` for launch success. */
  from?: readonly SessionStatus[];
  patch?: SessionPatch;
  /** Only while this agent holds the session: a fenced-off agent cannot write its final status. */
  heldBy?: string;
}

export interface HistoryQuery extends PageRequest {
  from?: string;
  to?: string;
}

/**
 * The port every handler and the agent use to read and change session state. Business refusals come
 * back as typed results naming the reason; invalid input throws InvalidInputError and writes nothing.
 */
export interface SessionStore {
  /** Creates a pending session and takes the strategy lock in one all-or-nothing write. */
  createSession(input: NewSession): Promise<CreateSessionResult>;
  /**
   * Creates a pending successor of a running strategy and marks the runs it supersedes, all or nothing:
   * refused when one of them moved on or the lock is not held by `lockHolder`.
   */
  createSuccessor(input: NewSession, request: SuccessorRequest): Promise<CreateSuccessorResult>;
  /**
   * Moves the strategy lock from a superseded run (or the run before it) to its successor, only once those
   * runs are over: the launch workflow calls it when the predecessor's container is gone.
   */
  passLock(strategyId: string, fromRunId: string, toRunId: string): Promise<PassLockResult>;
  /**
   * A (re)started agent takes over the session; any older agent's heartbeats are refused from then on.
   * A live session with an `account_id` also leases each of its pairs on that account in the same
   * transaction: refused as `account_busy` (naming the holder) when another run holds one of them.
   * A successor (`supersedes`) takes its predecessor's leases in that transaction, only once the
   * predecessor is over and the lock was passed to it (`handoff_not_ready` otherwise).
   */
  claimSession(claim: AgentClaim): Promise<ClaimResult>;
  /**
   * The snapshot: the session's figures, risk, health and open trades, and its liveness. Fenced: refused
   * when the session is terminal, claimed by another agent, or the seq is not newer.
   */
  recordHeartbeat(heartbeat: Heartbeat): Promise<HeartbeatResult>;
  /**
   * Liveness only, on the run's beat item (the heartbeats between snapshots). Fenced on the beat the claim
   * wrote: refused when another agent claimed since, or the seq is not newer.
   */
  recordBeat(beat: Beat): Promise<BeatResult>;
  /** The beats of these runs (consistent reads), by run id: join them with `withBeat` to judge silence. */
  beatsOf(runIds: readonly string[]): Promise<Map<string, LivenessBeat>>;
  /** Deletes the beat of a session that is over, so it leaves the heartbeat index (the sweep's cleanup). */
  forgetBeat(runId: string): Promise<void>;
  transition(runId: string, to: SessionStatus, options?: TransitionOptions): Promise<TransitionResult>;
  /** Changes fields without changing the status, only while the status is one of `whenStatus`. */
  update(runId: string, patch: SessionPatch, whenStatus: readonly SessionStatus[]): Promise<UpdateResult>;
  /** The operator's intent; refused once the session is stopping or over. */
  setDesiredState(runId: string, desired: DesiredState, reason?: string | null): Promise<UpdateResult>;
  /**
   * An operator's resume, in one transaction with a check that each trading scope is active: a halt that
   * commits first refuses it (`scope_not_active`), one that commits after finds it running in its fan-out.
   */
  resumeIfScopesActive(
    runId: string,
    reason: string | null,
    scopes: readonly ScopeRef[],
  ): Promise<ScopedResumeResult>;
  get(runId: string): Promise<Session | undefined>;
  getLock(strategyId: string): Promise<StrategyLock | undefined>;
  /** The active session of a strategy, or its last one when none is active. */
  currentSessionOf(strategyId: string): Promise<Session | undefined>;
  /** Parses item by item: items that fail the schema come back in `corrupt`, never as a thrown error. */
  listByStatus(status: SessionStatus, page?: PageRequest): Promise<Page<Session>>;
  /** Every strategy that ever had a session (its lock item), by strategy id, through the lock GSI. */
  listStrategies(page?: PageRequest): Promise<Page<StrategyLock>>;
  /**
   * Frees the run's account leases, then the strategy lock; only what this run holds is freed. A run
   * superseded by a successor still under way keeps both for the successor's claim (`handing_off`).
   */
  releaseLock(strategyId: string, runId: string): Promise<ReleaseLockResult>;
  getAccountLease(accountId: string, pair: string): Promise<AccountLease | undefined>;
  appendHistory(entries: readonly HistoryEntry[]): Promise<void>;
  readHistory(runId: string, query?: HistoryQuery): Promise<Page<HistoryEntry>>;
}
