import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertsFor, apiOf, sessionWhere } from '../e2e/support';
import { type RealCloud, realFreqtradeAvailable, realStartBody, startRealCloud } from './support';

/**
 * A price crash on the local exchange reaches the agent only through real Freqtrade: its /status and
 * /balance mark the positions to the crashed order book, the agent's drawdown crosses the limit, and the
 * agent pauses Freqtrade (2026.9 /pause) within its risk poll.
 */
describe.skipIf(!realFreqtradeAvailable())(
  'Real Freqtrade: a price crash on the exchange breaches the drawdown limit',
  () => {
    let real: RealCloud;
    let api: ReturnType<typeof apiOf>;

    beforeAll(async () => {
      real = await startRealCloud();
      api = apiOf(real.cloud);
    }, 60_000);
    afterAll(async () => {
      await real?.close();
    }, 60_000);

    it('pauses Freqtrade on the breach and pages exactly once, CRITICAL', async () => {
      const answer = await api('POST', '/strategies/real-crash/start', {
        body: realStartBody(
          {},
          {
            // Two stakes of 100 on 990: a 30 % crash of both positions is a ~6 % equity drawdown.
            risk_limits: {
              max_drawdown_pct: 4,
              max_daily_loss: 100_000,
              max_open_trades: 10,
              max_leverage: 3,
              max_monitor_failures: 5,
            },
          },
        ),
      });
      expect(answer.status, JSON.stringify(answer.body)).toBe(202);
      const runId = String(answer.body.run_id);
      const before = await sessionWhere(
        real.cloud,
        runId,
        (s) =>
          s.status === 'running' && s.open_trades.length === 2 && s.open_trades.every((t) => t.amount > 0),
        'running with both entries filled',
        90_000,
      );

      real.exchange.setScenario({ crash_pct: 30 });
      const breached = await sessionWhere(
        real.cloud,
        runId,
        // The agent pauses Freqtrade itself; the stream processor then writes the paused intent.
        (s) =>
          s.risk?.state === 'breached' &&
          s.health?.freqtrade_state === 'paused' &&
          s.desired_state === 'paused',
        'breach, Freqtrade paused and the intent paused',
        60_000,
      );
      const seq = breached.heartbeat_seq;
      await sessionWhere(
        real.cloud,
        runId,
        (s) => s.heartbeat_seq >= seq + 3,
        'more heartbeats while breached',
      );
      await real.cloud.streamsDrained();

      expect(before.risk?.state, JSON.stringify(before.risk)).toBe('ok');
      expect(breached.risk?.breaches.map((breach) => breach.rule)).toContain('drawdown');
      expect(breached.risk?.snapshot?.drawdown_pct).toBeGreaterThan(4);
      // Paused, not flattened: the positions stay open, marked to the crashed market.
      for (const trade of breached.open_trades) {
        expect(trade.current_rate).not.toBeNull();
        expect((trade.current_rate as number) / trade.open_rate).toBeLessThan(0.75);
      }
      const critical = alertsFor(real.cloud, runId, { severity: 'CRITICAL' });
      expect(critical.map((alert) => alert.kind)).toEqual(['risk.breach']);
    });
  },
);
