import ora from 'ora';
import * as z from 'zod';
import { DeployBodySchema, RestartBodySchema } from '../../../functions/api/start-strategy/schema';
import { HandoffKindSchema, HandoffModeSchema, HandoffPhaseSchema } from '../../../shared/domain/handoff';
import { SessionStatusSchema } from '../../../shared/domain/session';
import type { CommandContext } from '../context';
import { CliError, LaunchFailedError, UsageError } from '../errors';
import { EXIT } from '../exit-codes';
import { formatDuration } from '../format';
import { launchVerdict } from '../launch';
import { SessionViewSchema, StrategyReplySchema } from '../replies';
import { strategyIdOf } from './read';
import { spinnerFits } from './start';

export interface DeployOptions {
  version?: string;
  alias?: string;
  stage?: string;
  handoff?: string;
  waitFlatS?: number;
  reason: string;
}

export interface FollowOptions {
  yes?: boolean;
  wait?: boolean;
  timeout?: number;
  interval?: number;
  /** Once the new run trades: how long its Freqtrade may take to list the trades carried over. */
  carryWait?: number;
}

/** The default of --carry-wait: the new Freqtrade stays paused (takeover guard) until it lists them. */
export const CARRY_WAIT_S = 120;

/** A session as GET /sessions/{runId} shows it, with what a rolled strategy adds (functions/api/shared/views.ts). */
export const HandoffSessionSchema = SessionViewSchema.extend({
  /** The trades of its last report: the predecessor's are what the successor must list. */
  open_trade_ids: z.array(z.number().int()),
  /** Its agent's takeover check: Freqtrade runs again only once each carried trade was found (or accepted). */
  health: z
    .looseObject({
      freqtrade_state: z.string().nullable().optional(),
      missing_trade_ids: z.array(z.number().int()).optional(),
    })
    .nullable()
    .optional(),
  supersedes: z.string().nullable(),
  superseded_by: z.string().nullable(),
  handoff: z
    .looseObject({
      kind: HandoffKindSchema,
      mode: HandoffModeSchema,
      phase: HandoffPhaseSchema,
      from_run_id: z.string(),
      to_run_id: z.string(),
      rollback_of: z.string().nullable(),
    })
    .nullable(),
});
export type HandoffSession = z.infer<typeof HandoffSessionSchema>;

/** 202 of deploy and restart (functions/api/start-strategy/handoff-routes.ts). */
export const HandoffReplySchema = z.looseObject({
  run_id: z.string(),
  strategy_id: z.string(),
  status: SessionStatusSchema,
  supersedes: z.string(),
  handoff: HandoffModeSchema,
});

const usageOf = (issues: readonly z.core.$ZodIssue[]) =>
  new UsageError(
    issues
      .map((issue) => {
        const [head = 'body', ...rest] = issue.path.map(String);
        return `${[`--${head.replace(/_/g, '-')}`, ...rest].join('.')}: ${issue.message}`;
      })
      .join('; '),
  );

/** The deploy body, checked with the API's own schema: a wrong flag is a usage error naming it, nothing sent. */
export const deployBodyOf = (options: DeployOptions) => {
  const candidate = {
    ...(options.version === undefined ? {} : { version: options.version }),
    ...(options.alias === undefined ? {} : { alias: options.alias }),
    ...(options.stage === undefined ? {} : { stage: options.stage }),
    handoff: options.handoff,
    ...(options.waitFlatS === undefined ? {} : { wait_flat_s: options.waitFlatS }),
    reason: options.reason,
  };
  const parsed = DeployBodySchema.safeParse(candidate);
  if (!parsed.success) throw usageOf(parsed.error.issues);
  return parsed.data;
};

export const restartBodyOf = (options: { reason: string }) => {
  const parsed = RestartBodySchema.safeParse({ reason: options.reason });
  if (!parsed.success) throw usageOf(parsed.error.issues);
  return parsed.data;
};

export type HandoffStepPhase =
  | 'requested'
  | 'old_pausing'
  | 'old_flattening'
  | 'old_stopping'
  | 'new_launching'
  /** The new run failed; its launch workflow is still deciding on a rollback. */
  | 'new_failed'
  | 'new_listing_trades'
  /** The new run's agent found carried trades neither open nor closed: entries stay off. */
  | 'new_missing_trades'
  | 'new_running'
  | 'failed';
export type HandoffVerdict =
  | { kind: 'waiting' }
  /** The new run trades but its Freqtrade does not list these carried trades (yet). */
  | { kind: 'listing_trades'; missing: number[] }
  /** The new run's agent reports these carried trades missing (its takeover guard holds entries). */
  | { kind: 'trades_missing'; missing: number[] }
  | { kind: 'live' }
  | { kind: 'failed'; reason: string; rollbackRunId: string | null };
export interface HandoffStep {
  phase: HandoffStepPhase;
  /** `<what>: <detail>`, one line for the operator. */
  line: string;
  verdict: HandoffVerdict;
}

const trades = (count: number) => `${count} open trade${count === 1 ? '' : 's'}`;
const tradeIds = (ids: readonly number[]) => `trade${ids.length === 1 ? '' : 's'} ${ids.join(', ')}`;

/** The predecessor's last reported open trades that the successor's report does not list. */
export const missingCarriedTrades = (old: HandoffSession, next: HandoffSession): number[] => {
  const listed = new Set(next.open_trade_ids);
  return old.open_trade_ids.filter((id) => !listed.has(id));
};

/** The new run is up but carried trades are unaccounted for: never exit 0 on them. */
const carriedTradesNotComplete = (failed: {
  id: string;
  kind: string;
  line: string;
  missing: number[];
  old: HandoffSession;
  next: HandoffSession;
}) =>
  new LaunchFailedError(
    `${failed.id}: ${failed.kind} not complete: ${failed.line}; check those positions on the exchange and the new run's Freqtrade (tradai show ${failed.id})`,
    {
      run_id: failed.next.run_id,
      status: failed.next.status,
      supersedes: failed.old.run_id,
      missing_trade_ids: failed.missing,
      listed_trade_ids: failed.next.open_trade_ids,
    },
  );

const ROLLBACK_UNDECIDED = 'its launch workflow has not yet recorded whether a rollback started';

/** A failed handoff with no rollback, as the old run stands: trading on (never retired) or not. */
const withoutRollback = (old: HandoffSession): string => {
  if (old.active && old.desired_state !== 'stopped')
    return old.status === 'running'
      ? `no rollback needed: ${old.run_id} still trading`
      : `no rollback needed: ${old.run_id} was not retired (${old.status})`;
  if (old.active) return `no rollback started: ${old.run_id} is ${old.status}, asked to stop for the handoff`;
  return `no rollback started: ${old.run_id} is ${old.status}, the strategy is not trading`;
};

/**
 * Where a handoff stands from one read of each session. The successor's status says whether it came up;
 * when it did not, its handoff record (superseded_by, phase) says how that ended, once its launch workflow
 * wrote it. The predecessor's status says how far its retirement got.
 */
export const handoffProgress = (old: HandoffSession, next: HandoffSession): HandoffStep => {
  const verdict = launchVerdict(next);
  const phase = next.handoff?.phase ?? 'requested';
  if (verdict.kind === 'failed') {
    // Its agent, ECS or the sweep may fail the successor before the launch workflow's compensation decided
    // on a rollback: only superseded_by (the rollback) or the handoff phase `failed` is the outcome.
    const rollbackRunId = next.superseded_by ?? null;
    if (rollbackRunId === null && next.handoff !== null && next.handoff.phase !== 'failed')
      return {
        phase: 'new_failed',
        line: `new run failed: ${next.run_id} did not come up: ${verdict.reason}; ${ROLLBACK_UNDECIDED}`,
        verdict: { kind: 'waiting' },
      };
    const rollback =
      rollbackRunId !== null
        ? `rollback ${rollbackRunId} started on ${old.strategy_version ?? 'the previous version'}`
        : withoutRollback(old);
    return {
      phase: 'failed',
      line: `handoff failed: ${next.run_id} did not come up: ${verdict.reason}; ${rollback}`,
      verdict: { kind: 'failed', reason: verdict.reason, rollbackRunId },
    };
  }
  if (verdict.kind === 'launched') {
    const reported = next.health?.missing_trade_ids ?? [];
    if (reported.length > 0)
      return {
        phase: 'new_missing_trades',
        line: `new run does not find the carried trades: ${next.run_id} reports ${tradeIds(reported)} of ${old.run_id} neither open nor closed; its entries stay paused`,
        verdict: { kind: 'trades_missing', missing: reported },
      };
    // The first heartbeat may come before the new Freqtrade lists the trades: live only once it does, or
    // once its Freqtrade runs again, which its takeover guard allows only when each unlisted trade was
    // found closed since the report (or an operator resumed past the missing ones).
    const missing = missingCarriedTrades(old, next);
    const guardCleared = next.health?.freqtrade_state === 'running';
    if (missing.length > 0 && !guardCleared)
      return {
        phase: 'new_listing_trades',
        line: `new run listing the carried trades: ${next.run_id} runs; ${tradeIds(missing)} of ${old.run_id} not listed yet`,
        verdict: { kind: 'listing_trades', missing },
      };
    const carried = old.open_trade_ids.length === 0 ? '' : ` (${old.open_trade_ids.join(', ')})`;
    const closedSince = missing.length === 0 ? '' : `; ${tradeIds(missing)} closed since the handoff`;
    return {
      phase: 'new_running',
      line: `new run running: ${next.run_id} (version ${next.strategy_version ?? 'unknown'}; ${old.run_id} superseded, ${trades(old.open_trade_ids.length)} carried${carried}${closedSince})`,
      verdict: { kind: 'live' },
    };
  }
  const waiting = { kind: 'waiting' } as const;
  if (!old.active || phase === 'predecessor_gone')
    return {
      phase: 'new_launching',
      line: `old run stopped: ${old.run_id} is ${old.status} (${trades(old.open_trade_count)} carried); new run ${next.run_id} ${next.status}`,
      verdict: waiting,
    };
  if (old.status === 'stopping')
    return {
      phase: 'old_stopping',
      line: `old run stopping: ${old.run_id} (${trades(old.open_trade_count)} to carry)`,
      verdict: waiting,
    };
  if (phase === 'retiring') {
    if (next.handoff?.mode === 'wait_flat' && old.open_trade_count > 0)
      return {
        phase: 'old_flattening',
        line: `old run closing its trades: ${old.run_id} has ${trades(old.open_trade_count)}, entries off`,
        verdict: waiting,
      };
    return {
      phase: 'old_pausing',
      line: `old run pausing entries: ${old.run_id} (${old.status})`,
      verdict: waiting,
    };
  }
  return {
    phase: 'requested',
    line: `handoff requested: ${next.run_id} takes over from ${old.run_id} (${next.handoff?.kind ?? 'deploy'}, ${next.handoff?.mode ?? 'carry_positions'}); ${old.run_id} still trading`,
    verdict: waiting,
  };
};

/**
 * Deploy (another version) and restart (the same version, fresh credentials) both roll the strategy's
 * active session through a handoff. A live one is confirmed by typing its strategy id (or --yes). Then the
 * old and the new session are followed until the new one runs (exit 0) or fails (exit 4, naming the
 * rollback if one was started).
 */
export const rollCommand = async (
  ctx: CommandContext,
  kind: 'deploy' | 'restart',
  strategy: string,
  body: Record<string, unknown>,
  options: FollowOptions,
): Promise<void> => {
  const id = strategyIdOf(strategy);
  const api = await ctx.api();
  const { session } = await api.get(`/strategies/${id}`, StrategyReplySchema);
  if (session.trading_mode === 'live' && session.active && options.yes !== true) {
    await ctx.confirm(
      `${kind} the LIVE strategy ${id} (run ${session.run_id}, ${session.status})? Type ${id} to confirm: `,
      id,
      `${id} is a live session: ${kind} needs --yes when there is no terminal to confirm on; nothing was sent`,
    );
  }
  const accepted = await api.post(`/strategies/${id}/${kind}`, body, HandoffReplySchema);
  if (options.wait === false) {
    if (ctx.json) ctx.printJson(accepted);
    else
      ctx.print(
        `${kind} accepted: ${id} run ${accepted.run_id} takes over from ${accepted.supersedes} (${accepted.handoff}); tradai show ${id}`,
      );
    return;
  }

  const timeoutS = options.timeout ?? 600;
  const began = Date.now();
  const spinner = spinnerFits(ctx.io.stderr)
    ? ora({ stream: ctx.io.stderr, text: `${id} ${kind} requested`, discardStdin: false }).start()
    : undefined;
  const progress = (line: string) => {
    if (spinner === undefined) ctx.note(line);
    else spinner.text = line;
  };
  let shown = '';
  let old: HandoffSession | undefined;
  let next: HandoffSession | undefined;
  /** When the new run was first seen trading without every carried trade listed. */
  let listingSince: number | undefined;
  try {
    while (!ctx.io.signal.aborted) {
      next = await api.get(`/sessions/${accepted.run_id}`, HandoffSessionSchema);
      old = await api.get(`/sessions/${accepted.supersedes}`, HandoffSessionSchema);
      const step = handoffProgress(old, next);
      // A wait_flat countdown is worth a line per trade closed; anything else, a line per phase.
      const key = `${step.phase}:${step.phase === 'old_flattening' ? old.open_trade_count : ''}`;
      const elapsed = formatDuration((Date.now() - began) / 1000);
      if (step.verdict.kind === 'live') {
        if (spinner === undefined) ctx.note(`${step.line} after ${elapsed}`);
        else spinner.succeed(`${step.line} after ${elapsed}`);
        break;
      }
      if (step.verdict.kind === 'failed') {
        spinner?.fail(step.line);
        throw new LaunchFailedError(`${id}: ${step.line.replace(/^handoff failed: /, `${kind} failed: `)}`, {
          run_id: next.run_id,
          status: next.status,
          status_reason: next.status_reason,
          supersedes: old.run_id,
          rollback_run_id: step.verdict.rollbackRunId,
          handoff_phase: next.handoff?.phase ?? null,
        });
      }
      if (step.verdict.kind === 'trades_missing') {
        spinner?.fail(step.line);
        throw carriedTradesNotComplete({
          id,
          kind,
          line: step.line,
          missing: step.verdict.missing,
          old,
          next,
        });
      }
      if (key !== shown) progress(step.line);
      shown = key;
      if (step.verdict.kind === 'listing_trades') {
        listingSince ??= Date.now();
        const carryWaitS = options.carryWait ?? CARRY_WAIT_S;
        // A carried trade the new bot does not manage is a position nobody watches: never exit 0 on it.
        if (Date.now() - listingSince > carryWaitS * 1000) {
          const missing = step.verdict.missing;
          const line = `${next.run_id} runs but does not list ${missing.length} carried trade${missing.length === 1 ? '' : 's'} of ${old.run_id} (${tradeIds(missing)}) after ${carryWaitS}s`;
          spinner?.fail(line);
          throw carriedTradesNotComplete({ id, kind, line, missing, old, next });
        }
      }
      if (Date.now() - began > timeoutS * 1000 && step.phase === 'new_failed') {
        const line = `${next.run_id} did not come up: ${next.status_reason ?? 'no reason recorded'}; ${ROLLBACK_UNDECIDED} after ${timeoutS}s`;
        spinner?.fail(line);
        throw new LaunchFailedError(`${id}: ${kind} failed: ${line} (tradai show ${id})`, {
          run_id: next.run_id,
          status: next.status,
          status_reason: next.status_reason,
          supersedes: old.run_id,
          rollback_run_id: null,
          handoff_phase: next.handoff?.phase ?? null,
        });
      }
      if (Date.now() - began > timeoutS * 1000) {
        spinner?.fail(`${id} ${kind} still at "${step.phase}" after ${timeoutS}s`);
        throw new CliError(
          `${id} ${kind} (run ${next.run_id}) is still at "${step.phase}" after ${timeoutS}s: it may yet run or fail (tradai show ${id})`,
          EXIT.error,
          { run_id: next.run_id, status: next.status, supersedes: old.run_id },
        );
      }
      await ctx.sleep((options.interval ?? 1) * 1000);
    }
  } finally {
    if (spinner?.isSpinning === true) spinner.stop();
  }
  if (ctx.json && old !== undefined && next !== undefined)
    ctx.printJson({ outcome: 'live', rollback_run_id: null, accepted, from: old, to: next });
};
