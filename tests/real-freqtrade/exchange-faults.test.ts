import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertsFor, apiOf, sessionWhere } from '../e2e/support';
import { REAL, type RealCloud, realFreqtradeAvailable, realStartBody, startRealCloud } from './support';

/**
 * The exchange, not Freqtrade, goes wrong: a stall holds every market request, so Freqtrade's loop
 * blocks in ccxt (its REST API still answers), and /health's last_process stops moving. The agent must
 * see a stuck loop as blindness and pause entries (fail-closed), not report a healthy bot.
 */
describe.skipIf(!realFreqtradeAvailable())('Real Freqtrade: exchange faults (5xx burst, stall)', () => {
  let real: RealCloud;
  let api: ReturnType<typeof apiOf>;

  beforeAll(async () => {
    // A loop older than 4 s is stuck (Freqtrade loops every second here); production's floor is 30 s.
    real = await startRealCloud({
      containerEnvironment: { ...REAL.containerEnvironment, LOOP_STALE_AFTER_S: '4' },
    });
    api = apiOf(real.cloud);
  }, 60_000);
  afterAll(async () => {
    await real?.close();
  }, 60_000);

  it('rides out a burst of HTTP 503 from the exchange (ccxt ExchangeNotAvailable, retried by Freqtrade): no breach, no page', async () => {
    const answer = await api('POST', '/strategies/real-burst/start', { body: realStartBody() });
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    const runId = String(answer.body.run_id);
    await sessionWhere(
      real.cloud,
      runId,
      (s) => s.status === 'running' && s.open_trades.length === 2 && s.open_trades.every((t) => t.amount > 0),
      'running with both entries filled',
      90_000,
    );

    real.exchange.setScenario({ error_5xx_burst: 3 });
    await sessionWhere(
      real.cloud,
      runId,
      () => real.exchange.scenario().error_5xx_remaining === 0,
      'the burst served',
    );
    const after = await real.cloud.store.get(runId);
    const later = await sessionWhere(
      real.cloud,
      runId,
      (s) => s.heartbeat_seq >= (after?.heartbeat_seq ?? 0) + 5 && s.health?.loop_alive === true,
      'five heartbeats after the burst with a live loop',
    );
    await api('POST', '/strategies/real-burst/stop', { body: { reason: 'e2e real' } });
    await real.cloud.streamsDrained();

    expect(later.risk?.state).toBe('ok');
    expect(later.health?.freqtrade_state).toBe('running');
    expect(later.health?.freqtrade_restarts).toBe(0);
    expect(alertsFor(real.cloud, runId).filter((alert) => alert.severity !== 'INFO')).toEqual([]);
  });

  it('pauses entries when Freqtrade’s loop is stuck on a stalled exchange, and pages it once, CRITICAL', async () => {
    const answer = await api('POST', '/strategies/real-stall/start', {
      body: realStartBody(
        {},
        {
          risk_limits: {
            max_drawdown_pct: 20,
            max_daily_loss: 100_000,
            max_open_trades: 10,
            max_leverage: 3,
            max_monitor_failures: 3,
          },
        },
      ),
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    const runId = String(answer.body.run_id);
    await sessionWhere(
      real.cloud,
      runId,
      (s) => s.status === 'running' && s.open_trades.length === 2 && s.open_trades.every((t) => t.amount > 0),
      'running with both entries filled',
      90_000,
    );

    real.exchange.setScenario({ stall_ms: 60_000 });
    const blind = await sessionWhere(
      real.cloud,
      runId,
      (s) =>
        s.health?.loop_alive === false &&
        s.health?.freqtrade_state === 'paused' &&
        s.desired_state === 'paused',
      'a stuck loop seen, entries paused',
      60_000,
    );
    real.exchange.setScenario({ stall_ms: 0 });
    await real.cloud.streamsDrained();

    expect(blind.risk?.breaches.map((breach) => breach.rule)).toContain('monitor_failures');
    const critical = alertsFor(real.cloud, runId, { severity: 'CRITICAL' });
    expect(critical.map((alert) => alert.kind)).toEqual(['risk.breach']);
  }, 150_000);
});
