import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '../../local/cloud/cloud';
import {
  alertsFor,
  apiOf,
  eventually,
  FAST,
  LIVE_LIMITS,
  sessionWhere,
  startBody,
  startFastCloud,
} from './support';

/** Two open trades at the first loop iteration; then the bot loop stops, so exit orders never fill. */
const TRADES_THEN_STUCK = {
  max_open_trades: 2,
  sim: {
    tick_ms: 200,
    open_trades_at_start: 0,
    entry_probability: 1,
    volatility: 0,
    drift: 0,
    scenario: { name: 'stuck_loop', at_s: 5 },
  },
};

const LIVE_SCOPES = ['strategies:read', 'strategies:write', 'strategies:live'];
describe('Local cloud: a live stop whose flatten fails', () => {
  let cloud: LocalCloud;
  beforeAll(async () => {
    // The agent's flatten waits FLATTEN_TIMEOUT_S for the exits; the sweep must not force the stop before.
    cloud = await startFastCloud({
      containerEnvironment: { ...FAST.containerEnvironment, FLATTEN_TIMEOUT_S: '5' },
      functionEnvironment: { ...FAST.functionEnvironment, STOP_GRACE_S: '120' },
    });
  }, 60_000);
  afterAll(async () => {
    await cloud?.close();
  }, 60_000);

  it('ends stopped with one CRITICAL page naming the trades still open (a failed flatten paged INFO)', async () => {
    // prepare: two open trades, and a bot loop that no longer runs (exit orders are placed, never filled)
    const api = apiOf(cloud);
    const started = await api('POST', '/strategies/e2e-flatten-fails/start', {
      scopes: LIVE_SCOPES,
      groups: ['tradai-live'],
      body: startBody(TRADES_THEN_STUCK, { mode: 'live', risk_limits: LIVE_LIMITS }),
    });
    const runId = String(started.body.run_id);
    const stuck = await sessionWhere(
      cloud,
      runId,
      (s) =>
        s.status === 'running' &&
        s.open_trades.length === 2 &&
        s.health?.last_process_at !== null &&
        s.health?.last_process_at !== undefined &&
        Date.now() - Date.parse(s.health.last_process_at) > 3_000,
      'two open trades and a stuck loop',
      60_000,
    );

    // act
    const stop = await api('POST', '/strategies/e2e-flatten-fails/stop', {
      scopes: LIVE_SCOPES,
      body: { flatten: true, reason: 'e2e flatten' },
    });
    const stopped = await sessionWhere(cloud, runId, (s) => s.status === 'stopped', 'stopped', 90_000);
    // The stopped write reaches the stream processor after the read that saw it.
    await eventually(
      async () => alertsFor(cloud, runId, { kind: 'status.stopped' }).length > 0,
      'the stop page',
    );
    await cloud.streamsDrained();

    // assess
    expect(stop.status).toBe(202);
    expect(stopped.stop_outcome?.positions).toBe('flatten_failed');
    const pages = alertsFor(cloud, runId, { kind: 'status.stopped' });
    expect(pages.map((page) => page.severity)).toEqual(['CRITICAL']);
    for (const trade of stuck.open_trades)
      expect(pages[0]?.message).toContain(`#${trade.trade_id} ${trade.pair}`);
    expect(pages[0]?.message).toContain('FLATTEN FAILED');
  });
});
