import * as z from 'zod';
import type { FieldIssue } from './errors';
import type { TradingMode } from './session';

/** The steps an agent may take on a breach, mildest first. */
export const RiskActionSchema = z.enum(['pause', 'flatten', 'stop']);
export type RiskAction = z.infer<typeof RiskActionSchema>;

export const RiskLimitsSchema = z.strictObject({
  /** Equity drawdown from its peak, unrealized PnL included, in percent. */
  max_drawdown_pct: z.number().gt(0).max(100),
  /** Today's loss in the quote currency (a positive number: 500 means "stop at -500"). */
  max_daily_loss: z.number().positive(),
  max_open_trades: z.number().int().nonnegative(),
  max_leverage: z.number().min(1),
  /** Consecutive failed polls of Freqtrade counted as a breach: blind is not safe (fail-closed). */
  max_monitor_failures: z.number().int().min(1),
  /** The escalation ladder, taken one step per grace period while exposure has not fallen. */
  breach_ladder: z
    .array(RiskActionSchema)
    .min(1)
    .max(3)
    .refine((ladder) => ladder[0] === 'pause', 'must start with pause')
    .refine((ladder) => new Set(ladder).size === ladder.length, 'must not repeat a step')
    .default(['pause']),
  escalation_grace_s: z.number().int().min(0).max(86_400).default(120),
  /**
   * The capital the session started with, in the stake currency: drawdown is measured from the higher of
   * this and the session's peak equity. Without it, Freqtrade's own `/balance` `starting_capital` is used.
   * Optional: limits stored before it existed still parse.
   */
  starting_capital: z.number().positive().optional(),
  /**
   * Take the next ladder step when the grace period is over even if the latest assessment is clean
   * (exposure alone has not fallen). Off by default: a breach that has cleared does not escalate.
   */
  escalate_when_clear: z.boolean().optional(),
});
export type RiskLimits = z.infer<typeof RiskLimitsSchema>;

/** Used where the operator gave no limits and the mode does not require them (never live). */
export const DEFAULT_RISK_LIMITS: RiskLimits = {
  max_drawdown_pct: 20,
  max_daily_loss: 1_000,
  max_open_trades: 10,
  max_leverage: 3,
  max_monitor_failures: 3,
  breach_ladder: ['pause'],
  escalation_grace_s: 120,
};

/** Hard ceilings no session may be deployed beyond, whatever the operator asks. */
export const DEPLOYMENT_BOUNDS = {
  max_drawdown_pct: 50,
  max_open_trades: 50,
  max_leverage: 10,
  max_monitor_failures: 10,
} as const;

export type DeploymentCheck = { ok: true; limits: RiskLimits } | { ok: false; violations: FieldIssue[] };

/** The limits a live start must give: RiskLimitsSchema's fields without a default. */
const REQUIRED_LIMITS = Object.entries(RiskLimitsSchema.shape)
  .filter(([, schema]) => !schema.safeParse(undefined).success)
  .map(([field]) => field);

/**
 * The bounds a deployment breaks, read from limits that may not have parsed: a start refused for a missing
 * field also names the limits beyond the bounds, so one answer lists everything to fix.
 */
export const deploymentBoundIssues = (limits: unknown, mode: unknown): FieldIssue[] => {
  if (limits === undefined || limits === null) {
    return mode === 'live'
      ? [
          {
            field: 'risk_limits',
            message: `live mode requires explicit risk limits (${REQUIRED_LIMITS.join(', ')})`,
          },
        ]
      : [];
  }
  if (typeof limits !== 'object' || Array.isArray(limits)) return [];
  const given = limits as Record<string, unknown>;
  const violations: FieldIssue[] = [];
  for (const [field, ceiling] of Object.entries(DEPLOYMENT_BOUNDS)) {
    const value = given[field];
    if (typeof value === 'number' && value > ceiling) {
      violations.push({
        field: `risk_limits.${field}`,
        message: `must be at most ${ceiling} (deployment bound)`,
      });
    }
  }
  if (mode === 'live' && given.max_open_trades === 0) {
    violations.push({
      field: 'risk_limits.max_open_trades',
      message: 'a live session must allow at least one trade',
    });
  }
  return violations;
};

/**
 * Pre-flight check (seed §8 C3 `validate_deployment_bounds`). Live money needs explicit limits, inside the
 * hard ceilings; other modes fall back to defaults but still respect the ceilings.
 */
export const validateDeploymentBounds = (limits: unknown, mode: TradingMode): DeploymentCheck => {
  if (limits === undefined || limits === null) {
    const missing = deploymentBoundIssues(limits, mode);
    return missing.length > 0
      ? { ok: false, violations: missing }
      : { ok: true, limits: DEFAULT_RISK_LIMITS };
  }
  const parsed = RiskLimitsSchema.safeParse(limits);
  if (!parsed.success) {
    return {
      ok: false,
      violations: parsed.error.issues.map((issue) => ({
        field: ['risk_limits', ...issue.path.map(String)].join('.'),
        message: issue.message,
      })),
    };
  }
  const violations = deploymentBoundIssues(parsed.data, mode);
  return violations.length === 0 ? { ok: true, limits: parsed.data } : { ok: false, violations };
};

/** What the agent measured at one poll; the control plane re-evaluates the same numbers. */
export const RiskSnapshotSchema = z.object({
  equity: z.number(),
  /** The highest equity seen in the session (since the operator last acknowledged losses, if ever). */
  peak_equity: z.number(),
  /** From the drawdown baseline: the higher of `peak_equity` and `starting_capital` (see drawdownBaseline). */
  drawdown_pct: z.number().min(0).max(100),
  /**
   * The capital the session started with (risk_limits.starting_capital, else Freqtrade's /balance
   * `starting_capital`); null while unknown. Optional: snapshots of older agents lack it.
   */
  starting_capital: z.number().nonnegative().nullable().optional(),
  /**
   * When an operator's resume after a breach accepted the losses so far: from then on drawdown counts from
   * the equity at that resume (peak_equity), no longer from the starting capital.
   */
  losses_acknowledged_at: z.iso.datetime({ offset: false }).nullable().optional(),
  daily_pnl: z.number(),
  open_trades: z.number().int().nonnegative(),
  max_leverage: z.number().nonnegative(),
  /** Stake in open positions: the ladder escalates while this has not fallen. */
  exposure: z.number().nonnegative(),
  monitor_failures: z.number().int().nonnegative(),
});
export type RiskSnapshot = z.infer<typeof RiskSnapshotSchema>;

export const RiskRuleSchema = z.enum([
  'drawdown',
  'daily_loss',
  'open_trades',
  'leverage',
  'monitor_failures',
]);
export type RiskRule = z.infer<typeof RiskRuleSchema>;

export const BreachSchema = z.object({
  rule: RiskRuleSchema,
  limit: z.number(),
  observed: z.number(),
  message: z.string().max(512),
});
export type Breach = z.infer<typeof BreachSchema>;

export interface RiskAssessment {
  breached: boolean;
  breaches: Breach[];
}

/** Equity drawdown from the peak, in percent; zero while equity is at or above its peak. */
export const drawdownPct = (peakEquity: number, equity: number): number => {
  if (peakEquity <= 0 || equity >= peakEquity) return 0;
  return Math.min(100, ((peakEquity - equity) / peakEquity) * 100);
};

const round = (value: number): number => Math.round(value * 1e4) / 1e4;

/**
 * The equity drawdown is measured from: the higher of the session's peak equity and the capital it started
 * with, so a bot that is already below its starting capital at start or attach is not measured from its
 * first (already reduced) equity. After the operator acknowledged losses (a resume past a breach) only the
 * peak since then counts, or the resume would be undone at the next poll.
 */
export const drawdownBaseline = (
  limits: Pick<RiskLimits, 'starting_capital'>,
  snapshot: Pick<RiskSnapshot, 'peak_equity' | 'starting_capital' | 'losses_acknowledged_at'>,
): number => {
  if (snapshot.losses_acknowledged_at) return snapshot.peak_equity;
  return Math.max(snapshot.peak_equity, snapshot.starting_capital ?? 0, limits.starting_capital ?? 0);
};

/**
 * The drawdown the rules judge: the agent's figure, or the one derived from the snapshot's own equity and
 * baseline when that is higher. The stream processor (second line) thus sees a bot below its starting
 * capital even when the agent that reported it measured only from its peak (an older agent).
 */
export const assessedDrawdownPct = (limits: RiskLimits, snapshot: RiskSnapshot): number =>
  Math.max(snapshot.drawdown_pct, drawdownPct(drawdownBaseline(limits, snapshot), snapshot.equity));

/** Pure and shared: the agent acts on it first, the stream processor re-checks every heartbeat with it. */
export const evaluateRisk = (limits: RiskLimits, snapshot: RiskSnapshot): RiskAssessment => {
  const breaches: Breach[] = [];
  const check = (rule: RiskRule, breached: boolean, limit: number, observed: number, message: string) => {
    if (breached) breaches.push({ rule, limit, observed: round(observed), message });
  };
  const drawdown = assessedDrawdownPct(limits, snapshot);
  check(
    'drawdown',
    drawdown >= limits.max_drawdown_pct,
    limits.max_drawdown_pct,
    drawdown,
    `equity drawdown ${round(drawdown)}% reached the ${limits.max_drawdown_pct}% limit`,
  );
  check(
    'daily_loss',
    -snapshot.daily_pnl >= limits.max_daily_loss,
    limits.max_daily_loss,
    -snapshot.daily_pnl,
    `today's loss ${round(-snapshot.daily_pnl)} reached the ${limits.max_daily_loss} limit`,
  );
  check(
    'open_trades',
    snapshot.open_trades > limits.max_open_trades,
    limits.max_open_trades,
    snapshot.open_trades,
    `${snapshot.open_trades} open trades exceed the limit of ${limits.max_open_trades}`,
  );
  check(
    'leverage',
    snapshot.max_leverage > limits.max_leverage,
    limits.max_leverage,
    snapshot.max_leverage,
    `leverage ${snapshot.max_leverage}x exceeds the ${limits.max_leverage}x limit`,
  );
  check(
    'monitor_failures',
    snapshot.monitor_failures >= limits.max_monitor_failures,
    limits.max_monitor_failures,
    snapshot.monitor_failures,
    `${snapshot.monitor_failures} consecutive failed polls of Freqtrade (limit ${limits.max_monitor_failures}): trading blind`,
  );
  return { breached: breaches.length > 0, breaches };
};

/** The latched response to a breach: which ladder step was taken, when, and the exposure at that moment. */
export const RiskResponseSchema = z.object({
  step: RiskActionSchema,
  at: z.iso.datetime({ offset: false }),
  exposure_at_step: z.number().nonnegative(),
});
export type RiskResponse = z.infer<typeof RiskResponseSchema>;

/** An operator's resume as the agent saw it, with the snapshot's daily PnL at its next poll. */
export const ResumeRecordSchema = z.object({
  at: z.iso.datetime({ offset: false }),
  daily_pnl: z.number(),
});
export type ResumeRecord = z.infer<typeof ResumeRecordSchema>;

/** Risk as reported on the session item by each heartbeat. */
export const RiskStateSchema = z.object({
  state: z.enum(['ok', 'breached']),
  snapshot: RiskSnapshotSchema.nullable(),
  breaches: z.array(BreachSchema).max(10),
  response: RiskResponseSchema.nullable(),
  breached_at: z.iso.datetime({ offset: false }).nullable(),
  /** The latest operator resume (desired_state back to running). Optional: older agents lack it. */
  resumed: ResumeRecordSchema.nullable().optional(),
});
export type RiskState = z.infer<typeof RiskStateSchema>;

/**
 * The ladder: a breach takes the first step; while the breach response is latched and the breach lasts
 * (the latest assessment still breached), each grace period in which exposure has not fallen takes the
 * next step. A breach that has cleared holds the step taken, unless the limits say `escalate_when_clear`.
 * Returns the response to hold now (unchanged if nothing new is due). Clearing a latched response is the
 * operator's decision (resume), never automatic.
 */
export const decideRiskResponse = (
  limits: RiskLimits,
  assessment: RiskAssessment,
  current: RiskResponse | null,
  exposure: number,
  nowMs: number,
): RiskResponse | null => {
  const at = new Date(nowMs).toISOString();
  if (current === null) {
    return assessment.breached
      ? { step: limits.breach_ladder[0] ?? 'pause', at, exposure_at_step: exposure }
      : null;
  }
  const stepIndex = limits.breach_ladder.indexOf(current.step);
  const next = limits.breach_ladder[stepIndex + 1];
  const graceOver = nowMs - Date.parse(current.at) >= limits.escalation_grace_s * 1000;
  const exposureFell = exposure < current.exposure_at_step;
  const breachLasts = assessment.breached || limits.escalate_when_clear === true;
  if (next !== undefined && breachLasts && graceOver && !exposureFell && exposure > 0) {
    return { step: next, at, exposure_at_step: exposure };
  }
  return current;
};

export interface HighLossInput {
  runId: string;
  /** The platform-wide floor (seed §8 high-loss alarm): a loss beyond it pauses the session. */
  floor: number;
  nowMs: number;
  /** The session's latest risk report: its snapshot's daily PnL and the operator's latest resume. */
  risk: RiskState | null;
  /** `metrics.pnl_today`, used only while the session has no risk snapshot yet. */
  pnlToday?: number;
}

export type HighLossDecision =
  | { pause: false; loss: number }
  /** `incident` keys the page (and the pause) so each incident pages once. */
  | { pause: true; loss: number; incident: string };

const utcDayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * The platform high-loss floor, per session and per resume: the loss counts from the operator's latest
 * resume today (from the daily PnL then, or from 0 if it was in profit), so a session the floor paused
 * and the operator resumed is watched again from there, not left unguarded for the rest of the UTC day,
 * and the resume is not undone at once by the loss the operator has just accepted. Each resume opens a
 * new incident; without one today, the incident is the UTC day.
 */
export const decideHighLossPause = (input: HighLossInput): HighLossDecision => {
  const pnl = input.risk?.snapshot?.daily_pnl ?? input.pnlToday ?? 0;
  const resumedToday = resumedOnDayOf(input.nowMs, input.risk?.resumed ?? null);
  const baseline = resumedToday === null ? 0 : Math.min(0, resumedToday.daily_pnl);
  const loss = round(baseline - pnl);
  if (loss <= input.floor) return { pause: false, loss };
  return {
    pause: true,
    loss,
    incident: highLossIncidentOf(input.runId, input.nowMs, input.risk?.resumed ?? null),
  };
};

const resumedOnDayOf = (atMs: number, resumed: ResumeRecord | null): ResumeRecord | null =>
  resumed !== null && utcDayOf(Date.parse(resumed.at)) === utcDayOf(atMs) ? resumed : null;

/**
 * The high-loss incident open at `atMs`: the UTC day, and the operator's latest resume that day. The sweep's
 * page is keyed by it, so the stream processor can tell the pause it made from an operator's.
 */
export const highLossIncidentOf = (runId: string, atMs: number, resumed: ResumeRecord | null): string => {
  const resumedToday = resumedOnDayOf(atMs, resumed);
  const epoch = resumedToday === null ? '' : `resumed@${resumedToday.at}:`;
  return `${runId}:${utcDayOf(atMs)}:${epoch}risk.high_loss`;
};
