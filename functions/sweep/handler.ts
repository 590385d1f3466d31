import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { highLossAlert } from '../../shared/domain/alerts';
import { type Clock, systemClock } from '../../shared/domain/clock';
import type { AlertPublisher, ContainerPlatform } from '../../shared/domain/ports';
import type { Session, SessionStatus } from '../../shared/domain/session';
import type { SessionStore } from '../../shared/domain/session-store';
import { heartbeatAgeSeconds, isHeartbeatStale, secondsInStatus } from '../../shared/domain/staleness';
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

/** Statuses the sweep looks at, each one GSI query (never a Scan). */
export const SWEPT_STATUSES = ['running', 'paused', 'stale', 'launching', 'pending', 'stopping'] as const;

export interface SweepReport {
  /** Sessions read per status through the status GSI. */
  read: Record<string, number>;
  markedStale: string[];
  launchTimedOut: string[];
  forcedStops: string[];
  autoPaused: string[];
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
const emitFleetMetrics = (metrics: Metrics, fleet: Fleet) => {
  if (fleet.maxHeartbeatAgeS !== undefined) {
    metrics.addMetric('HeartbeatAgeSeconds', MetricUnit.Seconds, Math.round(fleet.maxHeartbeatAgeS));
  }
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

/** What the sweep owes one session; every write is conditional on the status it read. */
const sweepSession = async (deps: SweepDeps, session: Session, report: SweepReport, fleet: Fleet) => {
  const { store, platform, alerts, ledger, clock, logger, metrics, timings } = deps;
  const nowMs = clock.now();
  const runId = session.run_id;
  switch (session.status) {
    case 'running':
    case 'paused':
    case 'stale': {
      emitSessionMetrics(metrics, session, nowMs, fleet);
      if (session.status !== 'stale' && isHeartbeatStale(session, nowMs, timings.staleAfterS)) {
        const age = Math.round(heartbeatAgeSeconds(session, nowMs) ?? 0);
        const moved = await store.transition(runId, 'stale', {
          from: [session.status],
          patch: { status_reason: `no heartbeat for ${age} s (threshold ${timings.staleAfterS} s)` },
        });
        if (moved.ok) report.markedStale.push(runId);
        return;
      }
      const pnl = session.metrics?.pnl_today;
      if (
        session.status === 'running' &&
        session.desired_state === 'running' &&
        pnl !== undefined &&
        pnl < -timings.highLossPause
      ) {
        const alert = highLossAlert(session, timings.highLossPause, nowMs, [
          'desired state set to paused: the agent stops new entries',
        ]);
        await once(ledger, `alert:${alert.dedup_id}`, async () => {
          const paused = await store.setDesiredState(runId, 'paused');
          if (!paused.ok) return;
          report.autoPaused.push(runId);
          await alerts.publish(alert);
        });
      }
      return;
    }
    case 'launching':
    case 'pending': {
      const limit = timings.launchTimeoutS + LAUNCH_SWEEP_MARGIN_S;
      const waited = secondsInStatus(session, nowMs);
      if (waited <= limit) return;
      const moved = await store.transition(runId, 'failed', {
        from: [session.status],
        patch: {
          status_reason: `launch timed out: ${session.status} for ${Math.round(waited)} s without a first heartbeat (limit ${limit} s)`,
          launch_token: null,
        },
      });
      // The stream processor pages, tears down, frees the lock and fails the workflow's token.
      if (moved.ok) report.launchTimedOut.push(runId);
      return;
    }
    case 'stopping': {
      const waited = secondsInStatus(session, nowMs);
      if (waited <= timings.stopGraceS) return;
      const reason = `forced stop: the agent did not confirm the stop within ${timings.stopGraceS} s`;
      if (session.container !== null) await platform.stopSession(session.container, reason);
      const moved = await store.transition(runId, 'stopped', {
        from: ['stopping'],
        patch: { status_reason: reason, launch_token: null },
      });
      if (moved.ok) {
        report.forcedStops.push(runId);
        logger.warn('forced stop', { run_id: runId, waited_s: Math.round(waited) });
      }
      return;
    }
    default:
      return;
  }
};

export const runSweep = async (deps: SweepDeps): Promise<SweepReport> => {
  const report: SweepReport = {
    read: {},
    markedStale: [],
    launchTimedOut: [],
    forcedStops: [],
    autoPaused: [],
    errors: [],
  };
  const fleet: Fleet = {};
  for (const status of SWEPT_STATUSES satisfies readonly SessionStatus[]) {
    let cursor: string | undefined;
    report.read[status] = 0;
    do {
      const page = await deps.store.listByStatus(status, { limit: deps.pageSize ?? 500, cursor });
      report.read[status] += page.items.length;
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
  emitFleetMetrics(deps.metrics, fleet);
  deps.logger.info('sweep done', {
    read: report.read,
    marked_stale: report.markedStale.length,
    launch_timed_out: report.launchTimedOut.length,
    forced_stops: report.forcedStops.length,
    auto_paused: report.autoPaused.length,
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
