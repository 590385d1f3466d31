import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { DynamoChainLease } from '../../shared/adapters/dynamodb/sweep-chain-lease';
import { SqsPassScheduler } from '../../shared/adapters/sqs/pass-scheduler';
import { corruptItemAlert, highLossAlert } from '../../shared/domain/alerts';
import { type Clock, systemClock } from '../../shared/domain/clock';
import { type LivenessBeat, withBeat, withLiveness } from '../../shared/domain/heartbeat';
import type { AlertPublisher, ContainerPlatform } from '../../shared/domain/ports';
import { isTerminal, type Session, type SessionStatus } from '../../shared/domain/session';
import type { CorruptItem, SessionStore } from '../../shared/domain/session-store';
import { heartbeatAgeSeconds, isHeartbeatStale, secondsInStatus } from '../../shared/domain/staleness';
import {
  decideLockBackstop,
  decideSweep,
  IN_FLIGHT_STATUSES,
  type SilentSessionFinder,
  SWEPT_STATUSES,
  type SweepPolicy,
  suspectCutoffOf,
} from '../../shared/domain/sweep';
import {
  type ChainLeaseStore,
  type ChainLink,
  ChainLinkSchema,
  type ChainLoss,
  type ChainPolicy,
  type ChainSituation,
  type ChainTrigger,
  chainLossOf,
  chainPolicyOf,
  decideChainStep,
  type PassScheduler,
} from '../../shared/domain/sweep-chain';
import type { TradingScopeStore } from '../../shared/domain/trading-scope';
import { releaseLockIfContainerGone } from '../../shared/runtime/container-release';
import { parseEnv, secondsVar, TablesEnvSchema } from '../../shared/runtime/env';
import { type DedupLedger, once } from '../../shared/runtime/events-dedup';
import { applyScopeToSessions } from '../../shared/runtime/scope-fanout';
import { alertsFromEnv } from '../../shared/runtime/workflow-alerts';
import {
  LIVE_TRADING_NAMESPACE,
  lazyHandler,
  loggerFor,
  metricsFor,
  storeFromEnv,
  timingsFromEnv,
  type WorkflowTimings,
} from '../../shared/runtime/workflow-deps';
import { platformFromEnv } from '../../shared/runtime/workflow-platform';

/** The chain of suspects passes (shared/domain/sweep-chain.ts): its lease, its queue and its interval. */
export interface SweepChain {
  lease: ChainLeaseStore;
  scheduler: PassScheduler;
  policy: ChainPolicy;
}

export interface SweepDeps {
  /** The trading scopes too: a non-active scope is re-applied to its sessions once a minute (sweepScopes). */
  store: SessionStore & SilentSessionFinder & TradingScopeStore;
  platform: ContainerPlatform;
  alerts: AlertPublisher;
  ledger: DedupLedger;
  clock: Clock;
  logger: Logger;
  /** Namespace TradAI/LiveTrading: the seed §8 alarms read HeartbeatAgeSeconds, ExchangeConnected, PnLDaily. */
  metrics: Metrics;
  timings: WorkflowTimings;
  /** GSI page size. */
  pageSize?: number;
  /** Sessions handled at once within a page. */
  concurrency?: number;
  /** Absent: one full pass per scheduled invocation, no suspects passes in between. */
  chain?: SweepChain;
}

/** The sweep is the backstop for the launch workflow's own timeout, so it waits a little longer. */
export const LAUNCH_SWEEP_MARGIN_S = 60;

export { SWEPT_STATUSES };

export interface SweepReport {
  /** Passes this report covers (the first one full, the others suspects only). */
  passes: number;
  /** Sessions read per status through the status GSI; `suspects`: through the heartbeat index. */
  read: Record<string, number>;
  markedStale: string[];
  launchTimedOut: string[];
  forcedStops: string[];
  autoPaused: string[];
  /** Finished sessions whose lock (and account leases) the sweep freed once their container was gone. */
  locksReleased: string[];
  /** Keys of items in the status index that fail the session schema (paged once per item per day). */
  corrupt: string[];
  errors: { run_id: string; error: string }[];
}

interface Fleet {
  maxHeartbeatAgeS?: number;
  minExchangeConnected?: number;
  minPnlDaily?: number;
}

/**
 * Folds a session's figures into the fleet's. No series per strategy: at $0.30 a series a month, three per
 * strategy were the largest line of the bill, and the alarms watch only the fleet's worst.
 */
const foldSessionMetrics = (session: Session, nowMs: number, fleet: Fleet) => {
  const age = heartbeatAgeSeconds(session, nowMs);
  if (age !== undefined) fleet.maxHeartbeatAgeS = Math.max(fleet.maxHeartbeatAgeS ?? 0, age);
  // A stale session's last report says nothing about now: only the heartbeat age is meaningful.
  if (session.status !== 'stale' && session.health !== null) {
    const connected = session.health.exchange_connected ? 1 : 0;
    fleet.minExchangeConnected = Math.min(fleet.minExchangeConnected ?? 1, connected);
  }
  if (session.metrics !== null) {
    fleet.minPnlDaily = Math.min(fleet.minPnlDaily ?? Number.POSITIVE_INFINITY, session.metrics.pnl_today);
  }
};

/** One figure per metric across all strategies (service dimension only): what the alarms watch. */
const emitFleetMetrics = (metrics: Metrics, fleet: Fleet, report: SweepReport) => {
  // Emitted on every sweep, 0 when nothing reports: the heartbeat-stale alarm treats missing data as
  // breaching, so a sweep that stops running (or publishing) pages instead of looking like a quiet fleet.
  metrics.addMetric('HeartbeatAgeSeconds', MetricUnit.Seconds, Math.round(fleet.maxHeartbeatAgeS ?? 0));
  // Only when there is one (each is paged CRITICAL too): a 0 every sweep would be a series billed all month.
  if (report.corrupt.length > 0)
    metrics.addMetric('CorruptSessionItems', MetricUnit.Count, report.corrupt.length);
  if (fleet.minExchangeConnected !== undefined) {
    metrics.addMetric('ExchangeConnected', MetricUnit.Count, fleet.minExchangeConnected);
  }
  if (fleet.minPnlDaily !== undefined) metrics.addMetric('PnLDaily', MetricUnit.NoUnit, fleet.minPnlDaily);
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
};

const inPool = async <T>(items: readonly T[], size: number, work: (item: T) => Promise<void>) => {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
};

export const policyOf = (timings: WorkflowTimings): SweepPolicy => ({
  staleAfterS: timings.staleAfterS,
  launchLimitS: timings.launchTimeoutS + LAUNCH_SWEEP_MARGIN_S,
  stopGraceS: timings.stopGraceS,
  taskStopTimeoutS: timings.taskStopTimeoutS,
  highLossPause: timings.highLossPause,
});

/** Executes what decideSweep says one session is owed; every write is conditional on the status it read. */
const sweepSession = async (deps: SweepDeps, session: Session, report: SweepReport, fleet: Fleet) => {
  const { store, platform, alerts, ledger, clock, logger, timings } = deps;
  const nowMs = clock.now();
  const runId = session.run_id;
  for (const action of decideSweep(session, nowMs, policyOf(timings))) {
    switch (action.type) {
      case 'emit_metrics':
        foldSessionMetrics(session, nowMs, fleet);
        break;
      case 'mark_stale': {
        const moved = await store.transition(runId, 'stale', {
          from: [action.from],
          patch: { status_reason: action.reason },
        });
        if (moved.ok) report.markedStale.push(runId);
        break;
      }
      case 'high_loss_pause': {
        const alert = {
          ...highLossAlert(session, action.floor, nowMs, [
            'desired state set to paused: the agent stops new entries',
          ]),
          dedup_id: action.incident,
        };
        await once(ledger, `alert:${alert.dedup_id}`, async () => {
          const paused = await store.setDesiredState(runId, 'paused');
          if (!paused.ok) return;
          report.autoPaused.push(runId);
          await alerts.publish(alert);
        });
        break;
      }
      case 'fail_launch': {
        const moved = await store.transition(runId, 'failed', {
          from: [action.from],
          patch: { status_reason: action.reason, launch_token: null },
        });
        // The stream processor pages, tears down, frees the lock and fails the workflow's token.
        if (moved.ok) report.launchTimedOut.push(runId);
        break;
      }
      case 'force_stop': {
        // The stop is asked for first; the lock waits until the container is confirmed gone.
        if (session.container !== null) await platform.stopSession(session.container, action.reason);
        const moved = await store.transition(runId, 'stopped', {
          from: ['stopping'],
          patch: { status_reason: action.reason, launch_token: null },
        });
        if (moved.ok) {
          report.forcedStops.push(runId);
          logger.warn('forced stop', {
            run_id: runId,
            waited_s: Math.round(secondsInStatus(session, nowMs)),
          });
        }
        break;
      }
    }
  }
};

/** Pages an item the sweep cannot read, once per item per UTC day (the dedup id carries the day). */
const reportCorrupt = async (deps: SweepDeps, status: string, item: CorruptItem, report: SweepReport) => {
  report.corrupt.push(item.key);
  deps.logger.error('corrupt session item skipped by the sweep', {
    key: item.key,
    status,
    issues: item.issues,
  });
  const alert = corruptItemAlert(item, status, deps.clock.now());
  await once(deps.ledger, `alert:${alert.dedup_id}`, () => deps.alerts.publish(alert));
};

/** Frees locks still held by sessions that are over, once their containers are gone (the ECS event's backstop). */
const sweepLocks = async (deps: SweepDeps, report: SweepReport) => {
  let cursor: string | undefined;
  do {
    const page = await deps.store.listStrategies({
      limit: deps.pageSize ?? 500,
      ...(cursor === undefined ? {} : { cursor }),
    });
    const held = page.items.filter((lock) => lock.active_run_id !== null);
    await inPool(held, deps.concurrency ?? 16, async (lock) => {
      const runId = lock.active_run_id as string;
      try {
        const session = await deps.store.get(runId);
        if (decideLockBackstop(lock, session) !== 'release_if_gone') return;
        const outcome = await releaseLockIfContainerGone(deps.store, deps.platform, {
          strategy_id: lock.strategy_id,
          run_id: runId,
          container: session?.container ?? null,
        });
        if (outcome === 'released') {
          report.locksReleased.push(runId);
          deps.logger.warn('lock of a finished session released by the sweep', { run_id: runId });
        }
      } catch (error) {
        report.errors.push({ run_id: runId, error: error instanceof Error ? error.message : String(error) });
        deps.logger.error('lock backstop failed', { run_id: runId, error });
      }
    });
    cursor = page.cursor;
  } while (cursor !== undefined);
};

/** The statuses whose sessions are judged by their heartbeat's age. */
const HEARTBEAT_JUDGED: readonly SessionStatus[] = ['running', 'paused', 'stale'];

/**
 * The sessions with their beats (withLiveness). When the beats cannot be read, the sessions judged by their
 * heartbeat wait for the next pass: their own last_heartbeat is the last snapshot's, up to a minute old,
 * and would mark a healthy session stale.
 */
const withBeats = async (
  deps: SweepDeps,
  sessions: readonly Session[],
  report: SweepReport,
): Promise<Session[]> => {
  try {
    return await withLiveness((runIds) => deps.store.beatsOf(runIds), sessions);
  } catch (error) {
    report.errors.push({ run_id: '(beats)', error: error instanceof Error ? error.message : String(error) });
    deps.logger.error('beats could not be read: their sessions wait for the next pass', { error });
    return sessions.filter((session) => !HEARTBEAT_JUDGED.includes(session.status));
  }
};

/** Runs decideSweep's actions on each session not seen yet this pass, with its beat already joined. */
const sweepJoined = async (
  deps: SweepDeps,
  sessions: readonly Session[],
  report: SweepReport,
  fleet: Fleet,
  seen: Set<string>,
) => {
  const fresh = sessions.filter((session) => !seen.has(session.run_id));
  for (const session of fresh) seen.add(session.run_id);
  await inPool(fresh, deps.concurrency ?? 16, async (session) => {
    try {
      await sweepSession(deps, session, report, fleet);
    } catch (error) {
      // One bad session must not hide the others: report it and go on.
      report.errors.push({
        run_id: session.run_id,
        error: error instanceof Error ? error.message : String(error),
      });
      deps.logger.error('sweep of a session failed', { run_id: session.run_id, error });
    }
  });
};

const sweepEach = async (
  deps: SweepDeps,
  sessions: readonly Session[],
  report: SweepReport,
  fleet: Fleet,
  seen: Set<string>,
) =>
  sweepJoined(
    deps,
    await withBeats(
      deps,
      sessions.filter((session) => !seen.has(session.run_id)),
      report,
    ),
    report,
    fleet,
    seen,
  );

/**
 * The runs whose beat the heartbeat index lists as silent: their beats first (one consistent BatchGetItem;
 * the index lags the table), then, one by one, the sessions of those still silent. A run that beat since
 * (the index had not caught up, or its last heartbeat was a snapshot) costs one read, not two.
 */
const sweepSuspects = async (deps: SweepDeps, report: SweepReport, fleet: Fleet, seen: Set<string>) => {
  const nowMs = deps.clock.now();
  const { staleAfterS } = deps.timings;
  const runIds = await deps.store.listSilentSince(suspectCutoffOf(nowMs, staleAfterS));
  report.read.suspects = (report.read.suspects ?? 0) + runIds.length;
  if (runIds.length === 0) return;
  let beats: Map<string, LivenessBeat>;
  try {
    beats = await deps.store.beatsOf(runIds);
  } catch (error) {
    report.errors.push({ run_id: '(beats)', error: error instanceof Error ? error.message : String(error) });
    deps.logger.error('beats could not be read: the suspects wait for the next pass', { error });
    return;
  }
  const silent = runIds.filter((runId) => {
    const at = beats.get(runId)?.last_heartbeat;
    return at === undefined || isHeartbeatStale({ last_heartbeat: at, started_at: null }, nowMs, staleAfterS);
  });
  const sessions: Session[] = [];
  await inPool(silent, deps.concurrency ?? 16, async (runId) => {
    try {
      const session = await deps.store.get(runId);
      // A session that is over (or gone) keeps its beat in the index until here: no sweep needs it again.
      if (session === undefined || isTerminal(session.status)) await deps.store.forgetBeat(runId);
      else sessions.push(withBeat(session, beats.get(runId)));
    } catch (error) {
      report.errors.push({ run_id: runId, error: error instanceof Error ? error.message : String(error) });
    }
  });
  await sweepJoined(deps, sessions, report, fleet, seen);
};

/**
 * The halt's backstop: every scope that is not active is applied to its sessions again, so a halt whose
 * Lambda ended mid-fan-out, or a session its listing missed, is held within a minute. When every scope is
 * active this costs one Query of the scope items (a handful) per full pass; the fan-out itself writes only
 * to sessions the scope does not hold yet.
 */
const sweepScopes = async (deps: SweepDeps, report: SweepReport) => {
  for (const scope of await deps.store.listTradingScopes()) {
    if (scope.state === 'active') continue;
    const fanOut = await applyScopeToSessions(deps, scope);
    for (const failed of fanOut.failed) report.errors.push({ run_id: failed.run_id, error: failed.error });
    if (fanOut.acted.length === 0) continue;
    deps.metrics.addMetric('ScopeHoldsRepaired', MetricUnit.Count, fanOut.acted.length);
    deps.logger.warn('trading scope re-applied to sessions it had not reached', {
      scope: scope.run_id,
      state: scope.state,
      run_ids: fanOut.acted.map((item) => item.run_id),
    });
  }
};

const summaryOf = (report: SweepReport) => ({
  read: report.read,
  marked_stale: report.markedStale.length,
  launch_timed_out: report.launchTimedOut.length,
  forced_stops: report.forcedStops.length,
  auto_paused: report.autoPaused.length,
  locks_released: report.locksReleased.length,
  corrupt: report.corrupt.length,
  errors: report.errors.length,
});

/**
 * One pass. A full one reads every swept status through the status index and backs up the lock release;
 * the others read the suspects through the heartbeat index and the launches and stops in flight.
 */
export const runSweep = async (deps: SweepDeps, options: { full?: boolean } = {}): Promise<SweepReport> => {
  const full = options.full ?? true;
  const report: SweepReport = {
    passes: 1,
    read: {},
    markedStale: [],
    launchTimedOut: [],
    forcedStops: [],
    autoPaused: [],
    locksReleased: [],
    corrupt: [],
    errors: [],
  };
  const fleet: Fleet = {};
  const seen = new Set<string>();
  if (!full) {
    try {
      await sweepSuspects(deps, report, fleet, seen);
    } catch (error) {
      report.errors.push({
        run_id: '(suspects)',
        error: error instanceof Error ? error.message : String(error),
      });
      deps.logger.error('the heartbeat index could not be read', { error });
    }
  }
  for (const status of full ? SWEPT_STATUSES : IN_FLIGHT_STATUSES) {
    let cursor: string | undefined;
    report.read[status] = 0;
    do {
      const page = await deps.store.listByStatus(status, { limit: deps.pageSize ?? 500, cursor });
      report.read[status] += page.items.length;
      for (const item of page.corrupt ?? []) {
        try {
          await reportCorrupt(deps, status, item, report);
        } catch (error) {
          report.errors.push({
            run_id: item.key,
            error: error instanceof Error ? error.message : String(error),
          });
        }
      }
      await sweepEach(deps, page.items, report, fleet, seen);
      cursor = page.cursor;
    } while (cursor !== undefined);
  }
  if (full) {
    try {
      await sweepLocks(deps, report);
    } catch (error) {
      report.errors.push({
        run_id: '(locks)',
        error: error instanceof Error ? error.message : String(error),
      });
      deps.logger.error('lock backstop could not list strategies', { error });
    }
  }
  if (full) {
    try {
      await sweepScopes(deps, report);
    } catch (error) {
      report.errors.push({
        run_id: '(scopes)',
        error: error instanceof Error ? error.message : String(error),
      });
      deps.logger.error('trading scopes could not be re-applied', { error });
    }
  }
  emitFleetMetrics(deps.metrics, fleet, report);
  deps.logger.info(full ? 'sweep done' : 'suspect pass done', summaryOf(report));
  return report;
};

export interface ChainReport {
  /** What the invocation found (link_received, no_chain, chain_alive, chain_dead). */
  situation: ChainSituation | 'no_chain_configured';
  /** Whether its lease write won; a loser sends nothing and runs no pass. */
  outcome: 'won' | 'lost' | 'nothing_to_do';
  loss?: ChainLoss;
  /** The link sent (by a winner): the next pass, or the first of a new chain. */
  sent?: ChainLink;
  sendError?: string;
}

/**
 * Executes decideChainStep: the conditional lease write, then (winner only) the next link, sent before the
 * pass so the cadence does not stretch with the pass and a pass that fails does not end the chain.
 */
const stepChain = async (deps: SweepDeps, chain: SweepChain, trigger: ChainTrigger): Promise<ChainReport> => {
  const step = decideChainStep(trigger, deps.clock.now(), chain.policy);
  if (step.type === 'none') return { situation: step.situation, outcome: 'nothing_to_do' };
  const written = await chain.lease.write(step.expect, step.lease);
  if (!written.won) {
    const report: ChainReport = { situation: step.situation, outcome: 'lost' };
    if (trigger.type === 'link') report.loss = chainLossOf(trigger.link, written.current);
    // Losing is how a duplicate delivery or a second chain ends itself: expected, not an error.
    deps.logger.info('pass chain link stopped: its lease condition failed', { ...report, link: step.expect });
    return report;
  }
  const report: ChainReport = { situation: step.situation, outcome: 'won' };
  try {
    await chain.scheduler.schedule(step.send.link, step.send.delayS);
    report.sent = step.send.link;
  } catch (error) {
    // The chain ends here; the schedule re-seeds it once the lease is older than deadAfterS.
    report.sendError = error instanceof Error ? error.message : String(error);
    deps.logger.error('the next pass could not be scheduled: the chain waits for its re-seed', { error });
  }
  if (step.situation === 'no_chain' || step.situation === 'chain_dead') {
    deps.logger.warn('pass chain seeded', {
      situation: step.situation,
      link: step.send.link,
      ...(trigger.type === 'schedule' && trigger.lease !== undefined
        ? { silent_s: Math.round((deps.clock.now() - trigger.lease.advancedAtMs) / 1000) }
        : {}),
    });
    deps.metrics.addMetric('SweepChainSeeded', MetricUnit.Count, 1);
  }
  return report;
};

/** One link of the chain (an SQS message): advance the lease, send the next link, run a suspects pass. */
export const runChainLink = async (
  deps: SweepDeps,
  link: ChainLink,
): Promise<{ chain: ChainReport; sweep?: SweepReport }> => {
  if (deps.chain === undefined) throw new Error('a pass link arrived but the sweep has no chain configured');
  const chain = await stepChain(deps, deps.chain, { type: 'link', link });
  if (chain.outcome !== 'won') return { chain };
  return { chain, sweep: await runSweep(deps, { full: false }) };
};

/**
 * The minute's schedule: tends the chain first (a full pass may take seconds; a dead chain should not wait
 * for it), then the full pass. A chain that cannot be tended does not cost the full pass.
 */
export const runScheduledSweep = async (
  deps: SweepDeps,
): Promise<{ chain: ChainReport; sweep: SweepReport }> => {
  let chain: ChainReport = { situation: 'no_chain_configured', outcome: 'nothing_to_do' };
  let chainError: string | undefined;
  if (deps.chain !== undefined) {
    try {
      chain = await stepChain(deps, deps.chain, { type: 'schedule', lease: await deps.chain.lease.read() });
    } catch (error) {
      chainError = error instanceof Error ? error.message : String(error);
      deps.logger.error('the pass chain could not be tended', { error });
    }
  }
  const sweep = await runSweep(deps, { full: true });
  // Thrown once the full pass is done: the sweep-errors alarm pages, where a report line paged nobody while
  // the 5 s passes were gone.
  if (chainError !== undefined)
    throw new Error(`the pass chain could not be tended (the full pass ran): ${chainError}`);
  return { chain, sweep };
};

/** The chain's queue delivers SQS events (batch size 1); the schedule delivers anything else. */
const SqsEventSchema = z.object({
  Records: z
    .array(z.object({ eventSource: z.literal('aws:sqs'), body: z.string(), messageId: z.string() }))
    .min(1),
});

const linkOf = (body: string) => {
  try {
    return ChainLinkSchema.safeParse(JSON.parse(body));
  } catch (error) {
    return { success: false as const, error };
  }
};

export const createHandler = (deps: SweepDeps) =>
  middy(async (event: unknown, _context: Context) => {
    const sqs = SqsEventSchema.safeParse(event);
    if (!sqs.success) {
      const { chain, sweep } = await runScheduledSweep(deps);
      return { trigger: 'schedule', chain, ...summaryOf(sweep) };
    }
    const links = [];
    for (const record of sqs.data.Records) {
      const link = linkOf(record.body);
      if (!link.success) {
        // Redelivering it would fail the same way: dropped, and the schedule re-seeds the chain.
        deps.logger.error('pass link refused: its body is not a chain link', {
          message_id: record.messageId,
          body: record.body.slice(0, 200),
        });
        links.push({ chain: { refused: record.messageId } });
        continue;
      }
      const { chain, sweep } = await runChainLink(deps, link.data);
      links.push({ chain, ...(sweep === undefined ? {} : summaryOf(sweep)) });
    }
    return { trigger: 'link', links };
  }).use(injectLambdaContext(deps.logger, { resetKeys: true }));

/**
 * SWEEP_PASS_EVERY_S (default 5): the delay of each link of the chain, at most 60 (a chain is dead after
 * three of them, and the minute's schedule re-seeds it: a longer interval would outlive the schedule).
 */
export const SweepChainEnvSchema = z.object({
  SWEEP_PASS_EVERY_S: secondsVar(5, 1, 20),
  SWEEP_PASS_QUEUE_URL: z.url(),
});

export const chainPolicyFromEnv = (env: NodeJS.ProcessEnv = process.env): ChainPolicy =>
  chainPolicyOf(parseEnv(SweepChainEnvSchema.pick({ SWEEP_PASS_EVERY_S: true }), env).SWEEP_PASS_EVERY_S);

export const defaultDeps = (): SweepDeps => {
  const { store, ledger, doc } = storeFromEnv();
  const env = parseEnv(SweepChainEnvSchema, process.env);
  const { SESSIONS_TABLE } = parseEnv(TablesEnvSchema, process.env);
  return {
    store,
    ledger,
    platform: platformFromEnv(),
    alerts: alertsFromEnv(),
    clock: systemClock,
    logger: loggerFor(),
    metrics: metricsFor(LIVE_TRADING_NAMESPACE),
    timings: timingsFromEnv(),
    chain: {
      lease: new DynamoChainLease(doc, { sessionsTable: SESSIONS_TABLE }),
      scheduler: new SqsPassScheduler(new SQSClient({}), env.SWEEP_PASS_QUEUE_URL),
      policy: chainPolicyOf(env.SWEEP_PASS_EVERY_S),
    },
  };
};

/** Built from the environment on the first invocation, never at import. */
export const handler = lazyHandler(() => createHandler(defaultDeps()));
