import type { SweepDeps } from '../../../functions/sweep/handler';
import type { ManualClock } from '../../../shared/domain/clock';
import { InMemoryDedupLedger } from '../../../shared/runtime/events-dedup';
import { type awsAdapters, capturedMetrics, silentLogger } from '../../adapters/support/workflow-fixtures';

/** The sweep suites' start instant, and `at(s)`: the ISO time `s` seconds after it. */
export const T0 = Date.parse('2026-03-02T10:00:00.000Z');
export const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

/** The sweep's timings in its suites: 60 s launch timeout, 180 s stale threshold, 120 s stop grace, 500 high-loss floor. */
export const SWEEP_TIMINGS: SweepDeps['timings'] = {
  launchTimeoutS: 60,
  staleAfterS: 180,
  stopGraceS: 120,
  taskStopTimeoutS: 120,
  highLossPause: 500,
};

/** The sweep's dependencies on the embedded DynamoDB, the AWS adapters (SDK-mocked) and a manual clock. */
export const sweepDepsOf = (
  store: SweepDeps['store'],
  clock: ManualClock,
  adapters: ReturnType<typeof awsAdapters>,
  extra: Partial<SweepDeps> = {},
): SweepDeps => ({
  store,
  platform: adapters.platform,
  alerts: adapters.alerts,
  ledger: new InMemoryDedupLedger(),
  clock,
  logger: silentLogger(),
  metrics: capturedMetrics().metrics,
  timings: SWEEP_TIMINGS,
  ...extra,
});
