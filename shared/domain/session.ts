import * as z from 'zod';
import {
  EntriesHeldSchema,
  FailClosedReportSchema,
  MissingTradesReportSchema,
  StartFailureReportSchema,
  StopOutcomeSchema,
} from './agent-report';
import { BacktestSummarySchema } from './backtest-summary';
import { HandoffSchema } from './handoff';
import { RiskLimitsSchema, RiskStateSchema } from './risk';

export const TRADING_MODES = ['backtest', 'hyperopt', 'dry-run', 'live', 'train'] as const;
export const TradingModeSchema = z.enum(TRADING_MODES);
export type TradingMode = z.infer<typeof TradingModeSchema>;

/** Modes that run as a long-lived ECS service; the others are one-shot tasks that complete. */
export const SERVICE_MODES: readonly TradingMode[] = ['dry-run', 'live'];
export const isServiceMode = (mode: TradingMode): boolean => SERVICE_MODES.includes(mode);

export const SESSION_STATUSES = [
  'pending',
  'launching',
  'running',
  'paused',
  'stale',
  'stopping',
  'stopped',
  'failed',
  'completed',
] as const;
export const SessionStatusSchema = z.enum(SESSION_STATUSES);
export type SessionStatus = z.infer<typeof SessionStatusSchema>;

export const TERMINAL_STATUSES: readonly SessionStatus[] = ['stopped', 'failed', 'completed'];
export const ACTIVE_STATUSES: readonly SessionStatus[] = SESSION_STATUSES.filter(
  (status) => !TERMINAL_STATUSES.includes(status),
);
export const isTerminal = (status: SessionStatus): boolean => TERMINAL_STATUSES.includes(status);

/** The operator's intent; the agent reconciles Freqtrade to it. */
export const DesiredStateSchema = z.enum(['running', 'paused', 'stopped']);
export type DesiredState = z.infer<typeof DesiredStateSchema>;

/** Used in ECS service names and Step Functions execution names, so kept short and plain. */
/** Path words of the HTTP API (`GET /strategies/pnl`) cannot be strategy ids: the route would shadow them. */
export const RESERVED_STRATEGY_IDS: readonly string[] = ['pnl'];

export const StrategyIdSchema = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/, 'must be 1-40 lowercase letters, digits or inner hyphens')
  .refine((id) => !RESERVED_STRATEGY_IDS.includes(id), 'is reserved by the API (GET /strategies/pnl)');
export type StrategyId = z.infer<typeof StrategyIdSchema>;

/** Step Functions execution names are at most 80 characters of [A-Za-z0-9-_]. */
export const RunIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{2,79}$/, 'must be 3-80 lowercase letters, digits or hyphens');
export type RunId = z.infer<typeof RunIdSchema>;

export const IsoTimestampSchema = z.iso.datetime({ offset: false });

/** An exchange account as the control plane knows it: a digest of exchange + API key, never the key. */
export const AccountIdSchema = z.string().regex(/^[a-f0-9]{16,64}$/, 'must be 16-64 lowercase hex digits');
export type AccountId = z.infer<typeof AccountIdSchema>;

/** Seed §6 `metrics`, plus the figures the dashboards need. */
export const SessionMetricsSchema = z.object({
  total_trades: z.number().int().nonnegative(),
  win_rate: z.number().min(0).max(1),
  pnl_today: z.number(),
  pnl_total: z.number(),
  open_trade_count: z.number().int().nonnegative().optional(),
  equity: z.number().optional(),
  stake_currency: z.string().max(16).optional(),
});
export type SessionMetrics = z.infer<typeof SessionMetricsSchema>;

export const FreqtradeStateSchema = z.enum(['running', 'paused', 'stopped', 'unknown']);
export type FreqtradeState = z.infer<typeof FreqtradeStateSchema>;

/** Seed §6 `health`, plus what the agent learns about Freqtrade itself. */
export const SessionHealthSchema = z.object({
  cpu_percent: z.number().nonnegative(),
  memory_mb: z.number().nonnegative(),
  exchange_connected: z.boolean(),
  last_trade_at: IsoTimestampSchema.nullable(),
  freqtrade_state: FreqtradeStateSchema.optional(),
  loop_alive: z.boolean().optional(),
  last_process_at: IsoTimestampSchema.nullable().optional(),
  freqtrade_restarts: z.number().int().nonnegative().optional(),
  /** Restarts of a Freqtrade that had reached a live trading loop (a crash while trading); absent before this field. */
  freqtrade_crashes: z.number().int().nonnegative().optional(),
  monitor_failures: z.number().int().nonnegative().optional(),
  /** Freqtrade restarts within the start-failure window (container/agent: N restarts in M minutes). */
  restarts_in_window: z.number().int().nonnegative().optional(),
  /** How the last Freqtrade process ended (`code 1`, `signal SIGKILL`); null while none has exited. */
  last_exit: z.string().max(128).nullable().optional(),
  /** A pause/forceexit/stop Freqtrade failed or did not confirm, and what the agent did instead. */
  fail_closed: FailClosedReportSchema.nullable().optional(),
  /** Freqtrade never came up with a live loop: restarts stopped, entries off. */
  start_failure: StartFailureReportSchema.nullable().optional(),
  /** A replacement task's Freqtrade does not show trades its predecessor reported open: entries paused. */
  missing_trades: MissingTradesReportSchema.nullable().optional(),
  /**
   * Why the agent itself holds entries back (see EntriesHeldSchema); optional: older agents lack it.
   * Read it through `entriesHeldOf`, which also understands `draining`.
   */
  entries_held: EntriesHeldSchema.nullable().optional(),
  /**
   * Before `entries_held`: true while the agent paused entries for a SIGTERM handover or a takeover.
   * Still written beside `entries_held` (a stream processor of the previous release reads only this) and
   * still read (items written before `entries_held` existed).
   */
  draining: z.boolean().optional(),
});
export type SessionHealth = z.infer<typeof SessionHealthSchema>;

export const OpenTradeSchema = z.object({
  trade_id: z.number().int(),
  pair: z.string().max(64),
  is_short: z.boolean(),
  amount: z.number(),
  open_rate: z.number(),
  current_rate: z.number().nullable(),
  stake_amount: z.number(),
  leverage: z.number(),
  profit_abs: z.number(),
  profit_ratio: z.number(),
  open_date: IsoTimestampSchema,
});
export type OpenTrade = z.infer<typeof OpenTradeSchema>;

/** The latest open-trades snapshot lives on the item; bounded so the item stays far below 400 KB. */
export const MAX_OPEN_TRADES_SNAPSHOT = 50;

export const ContainerRefSchema = z.object({
  platform: z.enum(['ecs', 'local']),
  launch_type: z.enum(['service', 'task']),
  cluster: z.string().max(512),
  service_arn: z.string().max(1024).optional(),
  task_arn: z.string().max(1024).optional(),
});
export type ContainerRef = z.infer<typeof ContainerRefSchema>;

const OverridesSchema = z.record(z.string(), z.unknown());

/** A live (or dry-run, or one-shot) session: seed §6's live-session record plus the control plane's fields. */
export const SessionSchema = z.object({
  item_type: z.literal('session'),
  run_id: RunIdSchema,
  workflow_type: TradingModeSchema,
  strategy_id: StrategyIdSchema,
  strategy_name: z.string().min(1).max(128),
  strategy_version: z.string().max(64).nullable(),
  status: SessionStatusSchema,
  status_reason: z.string().max(1024).nullable(),
  status_changed_at: IsoTimestampSchema,
  /** Set by every transition from the item as it was, so readers see where the session came from. */
  previous_status: SessionStatusSchema.nullable().optional(),
  trading_mode: TradingModeSchema,
  desired_state: DesiredStateSchema,
  /** When the operator's intent last changed: the agent's resume-after-breach rule compares it to the breach. */
  desired_state_changed_at: IsoTimestampSchema.nullable().optional(),
  created_at: IsoTimestampSchema,
  updated_at: IsoTimestampSchema,
  started_at: IsoTimestampSchema.nullable(),
  completed_at: IsoTimestampSchema.nullable().optional(),
  last_heartbeat: IsoTimestampSchema.nullable(),
  heartbeat_seq: z.number().int().nonnegative(),
  agent_id: z.string().max(128).nullable(),
  exchange: z.string().max(64).nullable(),
  /** Set by a live claim: the account whose (account, pair) leases this run holds. Absent on older items. */
  account_id: AccountIdSchema.nullable().optional(),
  pairs: z.array(z.string().max(64)).max(500),
  metrics: SessionMetricsSchema.nullable(),
  health: SessionHealthSchema.nullable(),
  risk_limits: RiskLimitsSchema,
  risk: RiskStateSchema.nullable(),
  open_trades: z.array(OpenTradeSchema).max(MAX_OPEN_TRADES_SNAPSHOT),
  container: ContainerRefSchema.nullable(),
  launch_token: z.string().max(2048).nullable(),
  alias: z.string().max(128).nullable(),
  stage: z.string().max(64).nullable(),
  /** An exact registry version (deploy by version); absent on older items and on alias/stage sessions. */
  model_version: z.string().max(16).nullable().optional(),
  /** A rolled strategy's successor: the run it takes over from (lock, leases, open trades). */
  supersedes: z.string().max(80).nullable().optional(),
  /** A rolled strategy's predecessor: the run that took (or is taking) over. */
  superseded_by: z.string().max(80).nullable().optional(),
  /** The handoff this session is part of (deploy, restart, rollback), on successor and predecessor. */
  handoff: HandoffSchema.nullable().optional(),
  overrides: OverridesSchema,
  requested_by: z.string().max(256),
  trace_id: z.string().max(128),
  flatten_on_stop: z.boolean(),
  config_s3_path: z.string().max(1024).nullable().optional(),
  result_s3_path: z.string().max(1024).nullable().optional(),
  /** Written with the agent's final status: what its stop did to the open positions. Absent on older items. */
  stop_outcome: StopOutcomeSchema.nullable().optional(),
  /** A completed backtest's result summary (the promotion gate's evidence). Absent on other sessions and older items. */
  backtest_summary: BacktestSummarySchema.nullable().optional(),
  /**
   * The trading scopes (shared/domain/trading-scope.ts keys) whose `reducing` paused this session: only
   * their resume resumes it, and only once none is left. Absent on older items and on sessions no scope holds.
   */
  scope_holds: z.array(z.string().max(128)).max(64).optional(),
  /** The scope whose change last moved this session's intent: that change's one page covers its transitions. */
  scope_cause: z.string().max(128).nullable().optional(),
  /** Only one-shot modes expire; live sessions never do (seed §6). */
  ttl: z.number().int().positive().optional(),
  version: z.number().int().positive(),
});
export type Session = z.infer<typeof SessionSchema>;

/** Seed §6's backtest workflow record, as other TradAI services write it into the same table. */
export const WorkflowRecordSchema = z.object({
  run_id: z.string().min(1),
  workflow_type: z.enum(['backtest', 'hyperopt', 'train']),
  strategy_name: z.string().min(1),
  strategy_version: z.string(),
  status: z.string(),
  created_at: IsoTimestampSchema,
  started_at: IsoTimestampSchema.optional(),
  completed_at: IsoTimestampSchema.optional(),
  config_s3_path: z.string().optional(),
  result_s3_path: z.string().optional(),
  ttl: z.number().int().positive(),
});
export type WorkflowRecord = z.infer<typeof WorkflowRecordSchema>;

/** What a caller supplies to create a session; everything else starts from fixed values. */
export const NewSessionSchema = z.strictObject({
  run_id: RunIdSchema,
  strategy_id: StrategyIdSchema,
  strategy_name: z.string().min(1).max(128),
  trading_mode: TradingModeSchema,
  risk_limits: RiskLimitsSchema,
  alias: z.string().min(1).max(128).nullable().default(null),
  stage: z.string().min(1).max(64).nullable().default(null),
  model_version: z
    .string()
    .regex(/^\d{1,10}$/)
    .nullable()
    .default(null),
  overrides: OverridesSchema.default({}),
  requested_by: z.string().min(1).max(256),
  trace_id: z.string().min(1).max(128),
  reason: z.string().max(1024).nullable().default(null),
});
export type NewSession = z.input<typeof NewSessionSchema>;

/** Retention of one-shot records (seed §6: 7 days). */
export const ONE_SHOT_TTL_DAYS = 7;

export const buildSession = (input: z.output<typeof NewSessionSchema>, nowMs: number): Session => {
  const now = new Date(nowMs).toISOString();
  const oneShot = !isServiceMode(input.trading_mode);
  return {
    item_type: 'session',
    run_id: input.run_id,
    workflow_type: input.trading_mode,
    strategy_id: input.strategy_id,
    strategy_name: input.strategy_name,
    strategy_version: null,
    status: 'pending',
    status_reason: input.reason,
    status_changed_at: now,
    trading_mode: input.trading_mode,
    desired_state: 'running',
    desired_state_changed_at: now,
    created_at: now,
    updated_at: now,
    started_at: null,
    last_heartbeat: null,
    heartbeat_seq: 0,
    agent_id: null,
    exchange: null,
    pairs: [],
    metrics: null,
    health: null,
    risk_limits: input.risk_limits,
    risk: null,
    open_trades: [],
    container: null,
    launch_token: null,
    alias: input.alias,
    stage: input.stage,
    ...(input.model_version === null ? {} : { model_version: input.model_version }),
    overrides: input.overrides,
    requested_by: input.requested_by,
    trace_id: input.trace_id,
    flatten_on_stop: false,
    ...(oneShot ? { ttl: Math.floor(nowMs / 1000) + ONE_SHOT_TTL_DAYS * 86_400 } : {}),
    version: 1,
  };
};

/** run ids sort by time within a strategy and stay valid execution names. */
export const newRunId = (mode: TradingMode, strategyId: StrategyId, nowMs: number, random: string): RunId => {
  const stamp = new Date(nowMs)
    .toISOString()
    .replace(/[-:T.Z]/g, '')
    .slice(0, 14);
  return `${mode}-${strategyId}-${stamp}-${random
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
    .slice(0, 8)}`;
};
