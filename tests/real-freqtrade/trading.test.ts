import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Session } from '../../shared/domain/session';
import { alertsFor, apiOf, sessionWhere } from '../e2e/support';
import {
  type RealCloud,
  realFreqtradeAvailable,
  realStartBody,
  startRealCloud,
  tradesInStore,
} from './support';

/**
 * Real `freqtrade trade` 2026.9 under the agent, dry-run against the local exchange: one cloud for the
 * file, one strategy id per test. TradaiDemo enters both pairs at its first loop (entry "always"), and
 * no ROI or stoploss exit closes them, so what happens to the positions is what the test does.
 */
describe.skipIf(!realFreqtradeAvailable())(
  'Real Freqtrade: launch, pause and resume, stop with flatten',
  () => {
    let dataDir: string;
    let real: RealCloud;
    let api: ReturnType<typeof apiOf>;

    beforeAll(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'tradai-real-'));
      real = await startRealCloud({ dataDir });
      api = apiOf(real.cloud);
    }, 60_000);
    afterAll(async () => {
      await real?.close();
      await rm(dataDir, { recursive: true, force: true });
    }, 60_000);

    const start = async (strategyId: string) => {
      const answer = await api('POST', `/strategies/${strategyId}/start`, { body: realStartBody() });
      expect(answer.status, JSON.stringify(answer.body)).toBe(202);
      return String(answer.body.run_id);
    };
    /** Both entries filled: two open trades with their amounts (an unfilled entry has amount 0). */
    const tradingBothPairs = (runId: string) =>
      sessionWhere(
        real.cloud,
        runId,
        (s) =>
          s.status === 'running' && s.open_trades.length === 2 && s.open_trades.every((t) => t.amount > 0),
        'running with both entries filled',
        90_000,
      );
    const stopAndWait = async (strategyId: string, runId: string, flatten: boolean) => {
      const answer = await api('POST', `/strategies/${strategyId}/stop`, {
        body: { reason: 'e2e real', flatten },
      });
      expect(answer.status, JSON.stringify(answer.body)).toBe(202);
      return sessionWhere(real.cloud, runId, (s) => s.status === 'stopped', 'stopped', 60_000);
    };

    it('launches to running with heartbeats carrying real /profit, /balance, /status and /health figures', async () => {
      const runId = await start('real-launch');

      const session: Session = await tradingBothPairs(runId);

      // /status: the two entries, priced by the local exchange's market.
      expect(session.open_trades.map((trade) => trade.pair).sort()).toEqual(['BTC/USDT', 'ETH/USDT']);
      for (const trade of session.open_trades) {
        const market = real.exchange.market.price(trade.pair.replace('/', ''), Date.parse(trade.open_date));
        expect(Math.abs(trade.open_rate - market) / market).toBeLessThan(0.01);
        expect(trade.stake_amount).toBeGreaterThan(90);
        expect(trade.current_rate).not.toBeNull();
      }
      // /balance: the 1000 dry-run wallet, 99 % of it tradable, fees paid; no false drawdown at entry.
      expect(session.risk?.snapshot?.starting_capital).toBe(990);
      expect(session.metrics?.equity).toBeGreaterThan(980);
      expect(session.metrics?.equity).toBeLessThan(1000);
      expect(session.risk?.state).toBe('ok');
      // /profit: two trades, none closed; /health and /show_config: a live loop in state running.
      expect(session.metrics).toMatchObject({ total_trades: 2, open_trade_count: 2, stake_currency: 'USDT' });
      expect(session.health).toMatchObject({
        freqtrade_state: 'running',
        loop_alive: true,
        exchange_connected: true,
      });
      expect(Date.parse(session.health?.last_process_at ?? '')).toBeGreaterThan(
        Date.parse(session.started_at ?? ''),
      );
      // Freqtrade asked the local exchange only for what it serves (no futures, margin or wallet routes).
      expect(
        Object.keys(real.exchange.requests()).filter((key) => !real.exchange.servedRoutes.includes(key)),
      ).toEqual([]);
      await stopAndWait('real-launch', runId, false);
    });

    it('pauses (Freqtrade 2026.9 /pause: state paused, positions kept) and resumes (/start: running again)', async () => {
      const runId = await start('real-pause');
      const before = await tradingBothPairs(runId);

      const paused = await api('POST', '/strategies/real-pause/pause', {
        body: { reason: 'e2e real pause' },
      });
      const whilePaused = await sessionWhere(
        real.cloud,
        runId,
        (s) => s.status === 'paused',
        'status paused',
      );
      const resumed = await api('POST', '/strategies/real-pause/resume', {
        body: { reason: 'e2e real resume' },
      });
      const back = await sessionWhere(
        real.cloud,
        runId,
        (s) => s.status === 'running' && s.health?.freqtrade_state === 'running',
        'running again',
      );

      expect(paused.status).toBe(202);
      expect(resumed.status).toBe(202);
      expect(whilePaused.health?.freqtrade_state).toBe('paused');
      expect(whilePaused.health?.loop_alive).toBe(true);
      const idsOf = (s: Session) => s.open_trades.map((trade) => trade.trade_id).sort();
      expect(idsOf(whilePaused)).toEqual(idsOf(before));
      expect(idsOf(back)).toEqual(idsOf(before));
      await stopAndWait('real-pause', runId, false);
    });

    it('stops with flatten: Freqtrade force-exits every position before it stops', async () => {
      const runId = await start('real-flatten');
      await tradingBothPairs(runId);

      const stopped = await stopAndWait('real-flatten', runId, true);
      await real.cloud.streamsDrained();

      const trades = await tradesInStore(dataDir, 'real-flatten');
      expect(trades).toHaveLength(2);
      expect(trades.map((trade) => [trade.is_open, trade.exit_reason])).toEqual([
        [false, 'force_exit'],
        [false, 'force_exit'],
      ]);
      expect(stopped.open_trades).toEqual([]);
      expect(alertsFor(real.cloud, runId, { severity: 'CRITICAL' })).toEqual([]);
    });

    it('keeps positions open on a stop without flatten, and the stop page names each of them', async () => {
      const runId = await start('real-keep');
      await tradingBothPairs(runId);

      await stopAndWait('real-keep', runId, false);
      await real.cloud.streamsDrained();

      const trades = await tradesInStore(dataDir, 'real-keep');
      expect(trades.map((trade) => trade.is_open)).toEqual([true, true]);
      const [page] = alertsFor(real.cloud, runId, { kind: 'status.stopped' });
      expect(page?.subject).toContain('stopped with 2 open position(s)');
      for (const trade of trades) expect(page?.message).toContain(`#${trade.id} ${trade.pair} long`);
    });
  },
);
