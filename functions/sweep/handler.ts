import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { corruptItemAlert, highLossAlert } from '../../shared/domain/alerts';
import { type Clock, systemClock } from '../../shared/domain/clock';
import type { AlertPublisher, ContainerPlatform } from '../../shared/domain/ports';
import type { Session } from '../../shared/domain/session';
import type { CorruptItem, SessionStore } from '../../shared/domain/session-store';
import { heartbeatAgeSeconds, secondsInStatus } from '../../shared/domain/staleness';
import { decideLockBackstop, decideSweep, SWEPT_STATUSES, type SweepPolicy } from '../../shared/domain/sweep';
import { releaseLockIfContainerGone } from '../../shared/runtime/container-release';
import { type DedupLedger, once } from '../../shared/runtime/events-dedup';
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

export interface SweepDeps {
  store: SessionStore;
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
}

/** The sweep is the backstop for the launch workflow's own timeout, so it waits a little longer. */
export const LAUNCH_SWEEP_MARGIN_S = 60;

export { SWEPT_STATUSES };

export interface SweepReport {
  /** Sessions read per status through the status GSI. */
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

const emitSessionMetrics = (metrics: Metrics, session: Session, nowMs: number, fleet: Fleet) => {
  const age = heartbeatAgeSeconds(session, nowMs);
  let any = false;
  if (age !== undefined) {
    metrics.addMetric('HeartbeatAgeSeconds', MetricUnit.Seconds, Math.round(age));
    fleet.maxHeartbeatAgeS = Math.max(fleet.maxHeartbeatAgeS ?? 0, age);
    any = true;
  }
  // A stale session's last report says nothing about now: only the heartbeat age is meaningful.
  if (session.status !== 'stale' && session.health !== null) {
    const connected = session.health.exchange_connected ? 1 : 0;
    metrics.addMetric('ExchangeConnected', MetricUnit.Count, connected);
    fleet.minExchangeConnected = Math.min(fleet.minExchangeConnected ?? 1, connected);
    any = true;
  }
  if (session.metrics !== null) {
    metrics.addMetric('PnLDaily', MetricUnit.NoUnit, session.metrics.pnl_today);
    fleet.minPnlDaily = Math.min(fleet.minPnlDaily ?? Number.POSITIVE_INFINITY, session.metrics.pnl_today);
    any = true;
  }
  if (any) {
    metrics.addDimension('strategy_id', session.strategy_id);
    metrics.publishStoredMetrics();
  }
};

/** One figure per metric across all strategies (service dimension only): what the alarms watch. */
const emitFleetMetrics = (metrics: Metrics, fleet: Fleet, report: SweepReport) => {
  // Emitted on every sweep, 0 when nothing reports: the heartbeat-stale alarm treats missing data as
  // breaching, so a sweep that stops running (or publishing) pages instead of looking like a quiet fleet.
  metrics.addMetric('HeartbeatAgeSeconds', MetricUnit.Seconds, Math.round(fleet.maxHeartbeatAgeS ?? 0));
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
  highLossPause: timings.highLossPause,
});

/** Executes what decideSweep says one session is owed; every write is conditional on the status it read. */
const sweepSession = async (deps: SweepDeps, session: Session, report: SweepReport, fleet: Fleet) => {
  const { store, platform, alerts, ledger, clock, logger, metrics, timings } = deps;
  const nowMs = clock.now();
  const runId = session.run_id;
  for (const action of decideSweep(session, nowMs, policyOf(timings))) {
    switch (action.type) {
      case 'emit_metrics':
        emitSessionMetrics(metrics, session, nowMs, fleet);
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

export const runSweep = async (deps: SweepDeps): Promise<SweepReport> => {
  const report: SweepReport = {
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
  for (const status of SWEPT_STATUSES) {
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
      await inPool(page.items, deps.concurrency ?? 16, async (session) => {
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
      cursor = page.cursor;
    } while (cursor !== undefined);
  }
  try {
    await sweepLocks(deps, report);
  } catch (error) {
    report.errors.push({ run_id: '(locks)', error: error instanceof Error ? error.message : String(error) });
    deps.logger.error('lock backstop could not list strategies', { error });
  }
  emitFleetMetrics(deps.metrics, fleet, report);
  deps.logger.info('sweep done', {
    read: report.read,
    marked_stale: report.markedStale.length,
    launch_timed_out: report.launchTimedOut.length,
    forced_stops: report.forcedStops.length,
    auto_paused: report.autoPaused.length,
    locks_released: report.locksReleased.length,
    corrupt: report.corrupt.length,
    errors: report.errors.length,
  });
  return report;
};

export const createHandler = (deps: SweepDeps) =>
  middy(async (_event: unknown, _context: Context) => {
    const report = await runSweep(deps);
    return {
      read: report.read,
      marked_stale: report.markedStale.length,
      launch_timed_out: report.launchTimedOut.length,
      forced_stops: report.forcedStops.length,
      auto_paused: report.autoPaused.length,
      locks_released: report.locksReleased.length,
      corrupt: report.corrupt.length,
      errors: report.errors.length,
    };
  }).use(injectLambdaContext(deps.logger, { resetKeys: true }));

export const defaultDeps = (): SweepDeps => {
  const { store, ledger } = storeFromEnv();
  return {
    store,
    ledger,
    platform: platformFromEnv(),
    alerts: alertsFromEnv(),
    clock: systemClock,
    logger: loggerFor(),
    metrics: metricsFor(LIVE_TRADING_NAMESPACE),
    timings: timingsFromEnv(),
  };
};

/** Built from the environment on the first invocation, never at import. */
export const handler = lazyHandler(() => createHandler(defaultDeps()));
