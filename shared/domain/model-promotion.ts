import * as z from 'zod';
import { type BacktestSummary, BacktestSummarySchema } from './backtest-summary';
import { TradaiError } from './errors';
import { IsoTimestampSchema, type Session, type TradingMode } from './session';

/**
 * Promoting a model version in the registry (MLflow): to a stage (`Staging`, `Production`, the Model
 * Registry's classic workflow, deprecated but still served by MLflow 3.x) or to an alias (`champion`,
 * MLflow >= 2.3's replacement). The caller chooses the shape by the target's name; both reach the agent the
 * same way, since a session selects its version by alias or by stage (container/agent/config).
 */
export const PROMOTION_STAGES = ['Staging', 'Production'] as const;
export type PromotionStage = (typeof PROMOTION_STAGES)[number];

export type PromotionTarget = { kind: 'stage'; stage: PromotionStage } | { kind: 'alias'; alias: string };

/** MLflow refuses aliases named `latest` or `v<digits>` (they would shadow version URIs). */
const RESERVED_ALIAS = /^(latest|v\d+)$/i;

/** `Staging`/`Production` in any case are stages (MLflow matches stage names case-insensitively); the rest are aliases. */
export const PromotionTargetSchema = z
  .string()
  .trim()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'must be Staging, Production or an alias (letters, digits, - or _)')
  .refine(
    (to) => !RESERVED_ALIAS.test(to),
    'is reserved by MLflow (latest, v<number>) and cannot be an alias',
  )
  .transform((to): PromotionTarget => {
    const stage = PROMOTION_STAGES.find((candidate) => candidate.toLowerCase() === to.toLowerCase());
    return stage === undefined ? { kind: 'alias', alias: to } : { kind: 'stage', stage };
  });

export const describeTarget = (target: PromotionTarget): string =>
  target.kind === 'stage' ? `stage ${target.stage}` : `alias @${target.alias}`;

/** MLflow numbers versions 1, 2, 3...; sent as a decimal string. */
export const ModelVersionNumberSchema = z.string().regex(/^[1-9]\d{0,8}$/, 'must be a version number like 3');

/** A registered model version as the promotion needs it. */
export interface RegistryModelVersion {
  name: string;
  version: string;
  /** `None`, `Staging`, `Production`, `Archived`; null where the registry has no stages. */
  stage: string | null;
  aliases: string[];
  tags: Record<string, string>;
}

/**
 * Why the registry could not do what was asked (faults, not business refusals):
 * `not_found` (no such model or version), `refused` (the registry rejected the request as invalid),
 * `unauthorized`, `unavailable` (unreachable, timed out, 5xx), `bad_reply` (not the registry's API).
 */
export type RegistryFailure = 'not_found' | 'refused' | 'unauthorized' | 'unavailable' | 'bad_reply';

export class ModelRegistryError extends TradaiError {
  readonly reason: RegistryFailure;

  constructor(reason: RegistryFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ModelRegistryError';
    this.reason = reason;
  }
}

/** The registry's writes a promotion needs; one adapter per registry (MLflow's REST API, the local file). */
export interface ModelPromotionRegistry {
  /** Undefined when the model or the version does not exist. */
  getVersion(name: string, version: string): Promise<RegistryModelVersion | undefined>;
  /**
   * Moves the version to the target and answers it as it is afterwards. A stage promotion archives the
   * versions that held the stage, so a stage names one version, as the agent's selection assumes.
   */
  promote(name: string, version: string, target: PromotionTarget): Promise<RegistryModelVersion>;
}

export { type BacktestSummary, BacktestSummarySchema } from './backtest-summary';

/**
 * The floors a version's backtest must pass before it may be promoted to a gated target (by default only
 * `Production`). Each floor is optional; an absent floor is not checked.
 */
export const PromotionFloorsSchema = z.strictObject({
  min_trades: z.number().int().nonnegative().optional(),
  min_profit_pct: z.number().optional(),
  max_drawdown_pct: z.number().nonnegative().optional(),
  min_win_rate: z.number().min(0).max(1).optional(),
  min_sharpe: z.number().optional(),
  /** Targets the gate applies to: stage names and aliases (e.g. `["Production", "champion"]`). */
  applies_to: z.array(z.string().min(1).max(128)).min(1).default(['Production']),
});
export type PromotionFloors = z.infer<typeof PromotionFloorsSchema>;
export type PromotionFloor = Exclude<keyof PromotionFloors, 'applies_to'>;

/** A completed backtest as the gate reads it from the unified table. */
export interface BacktestEvidence {
  run_id: string;
  /** The `strategy_version` tag the backtest ran with (seed §6's record carries it). */
  strategy_version: string | null;
  /** The registry version number it ran, where recorded. */
  model_version: string | null;
  completed_at: string | null;
  summary: BacktestSummary | null;
}

export type GateDecision =
  | { ok: true; gated: false }
  | { ok: true; gated: true; run_id: string }
  | { ok: false; reason: 'backtest_required'; message: string }
  | {
      ok: false;
      reason: 'below_floor';
      floor: PromotionFloor;
      required: number;
      actual: number | null;
      run_id: string;
      message: string;
    };

const targetName = (target: PromotionTarget) => (target.kind === 'stage' ? target.stage : target.alias);

export const isGated = (floors: PromotionFloors | null, target: PromotionTarget): boolean =>
  floors?.applies_to.some((name) => name.toLowerCase() === targetName(target).toLowerCase()) ?? false;

const CHECKS: readonly {
  floor: PromotionFloor;
  actual: (summary: BacktestSummary) => number | null;
  passes: (actual: number, required: number) => boolean;
  words: string;
}[] = [
  { floor: 'min_trades', actual: (s) => s.total_trades, passes: (a, r) => a >= r, words: 'trades, at least' },
  {
    floor: 'min_profit_pct',
    actual: (s) => s.profit_total_pct,
    passes: (a, r) => a >= r,
    words: '% total profit, at least',
  },
  {
    floor: 'max_drawdown_pct',
    actual: (s) => s.max_drawdown_pct,
    passes: (a, r) => a <= r,
    words: '% max drawdown, at most',
  },
  { floor: 'min_win_rate', actual: (s) => s.win_rate, passes: (a, r) => a >= r, words: 'win rate, at least' },
  {
    floor: 'min_sharpe',
    actual: (s) => s.sharpe ?? null,
    passes: (a, r) => a >= r,
    words: 'Sharpe, at least',
  },
];

/**
 * The optional gate: a promotion to a gated target needs the newest completed backtest of that version
 * (matched by registry version where the record has it, else by its `strategy_version` tag) to pass every
 * configured floor. Pure: the handler reads the records and the version, this decides.
 */
export const decidePromotionGate = (input: {
  floors: PromotionFloors | null;
  target: PromotionTarget;
  version: { name: string; version: string; strategyVersion: string | null };
  backtests: readonly BacktestEvidence[];
}): GateDecision => {
  const { floors, target, version } = input;
  if (floors === null || !isGated(floors, target)) return { ok: true, gated: false };
  const matching = input.backtests
    .filter((record) =>
      record.model_version !== null
        ? record.model_version === version.version
        : version.strategyVersion !== null && record.strategy_version === version.strategyVersion,
    )
    .sort((a, b) => (b.completed_at ?? '').localeCompare(a.completed_at ?? ''));
  const newest = matching[0];
  const label = `${version.name} v${version.version}`;
  if (newest === undefined) {
    return {
      ok: false,
      reason: 'backtest_required',
      message: `${describeTarget(target)} needs a completed backtest of ${label}${version.strategyVersion === null ? '' : ` (strategy_version ${version.strategyVersion})`}: none found`,
    };
  }
  for (const check of CHECKS) {
    const required = floors[check.floor];
    if (required === undefined) continue;
    const actual = newest.summary === null ? null : check.actual(newest.summary);
    if (actual === null || !check.passes(actual, required)) {
      return {
        ok: false,
        reason: 'below_floor',
        floor: check.floor,
        required,
        actual,
        run_id: newest.run_id,
        message: `backtest ${newest.run_id} of ${label} fails the floor ${check.floor}: ${actual === null ? 'not recorded' : actual} ${check.words} ${required}`,
      };
    }
  }
  return { ok: true, gated: true, run_id: newest.run_id };
};

/**
 * Whether a promotion changes what a running live session trades at its next (re)start: the session
 * selects its version by the same alias, or by the same stage (no alias and no stage means Production,
 * the agent's default), and is not pinned to an exact version. Such a promotion is a live change and
 * needs the live permission.
 */
export const touchesLiveSession = (
  target: PromotionTarget,
  active: Pick<Session, 'trading_mode' | 'alias' | 'stage' | 'model_version'> | undefined,
  defaultStage = 'Production',
): boolean => {
  if (active === undefined || (active.trading_mode as TradingMode) !== 'live') return false;
  // Pinned to an exact version (a deploy by version): no stage or alias moves what it runs.
  if (active.model_version !== undefined && active.model_version !== null) return false;
  if (active.alias !== null) return target.kind === 'alias' && target.alias === active.alias;
  const stage = active.stage ?? defaultStage;
  return target.kind === 'stage' && target.stage.toLowerCase() === stage.toLowerCase();
};

/** The backtest evidence of a session item, where it recorded any (schema-parsed, never cast). */
export const BacktestRecordFieldsSchema = z.object({
  run_id: z.string().min(1),
  strategy_version: z.string().nullable().optional(),
  model_version: z.string().nullable().optional(),
  completed_at: IsoTimestampSchema.nullable().optional(),
  backtest_summary: BacktestSummarySchema.nullable().optional(),
});

/** Completed backtests of a registered model, newest first (the unified table's backtest records). */
export interface BacktestEvidenceSource {
  completedBacktests(strategyName: string): Promise<BacktestEvidence[]>;
}
