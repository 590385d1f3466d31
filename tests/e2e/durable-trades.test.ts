import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '../../local/cloud/cloud';
import type { Session } from '../../shared/domain/session';
import {
  agentPidOf,
  alertsFor,
  apiOf,
  childPidsOf,
  FAST,
  sessionWhere,
  startBody,
  startFastCloud,
  TWO_OPEN_TRADES,
} from './support';

const LIVE_LIMITS = {
  max_drawdown_pct: 20,
  max_daily_loss: 1_000,
  max_open_trades: 10,
  max_leverage: 3,
  max_monitor_failures: 3,
};

/** A trade as the database knows it: a fresh database that re-enters the same pair has another open date. */
const tradesOf = (session: Session) =>
  session.open_trades
    .map((trade) => ({ trade_id: trade.trade_id, pair: trade.pair, open_date: trade.open_date }))
    .sort((a, b) => a.trade_id - b.trade_id);

describe('Local cloud: durable trade state across replacement tasks', () => {
  let dataDir: string;
  let cloud: LocalCloud;
  let api: ReturnType<typeof apiOf>;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tradai-e2e-trades-'));
    // The replacement comes up well inside the stale threshold, so a lost-heartbeat page does not hide
    // (or stand in for) a page about the trades: only the container's own restart notice is expected.
    cloud = await startFastCloud({
      dataDir,
      restartDelayMs: () => 200,
      functionEnvironment: { ...FAST.functionEnvironment, STALE_AFTER_S: '60' },
    });
    api = apiOf(cloud);
  }, 60_000);
  afterAll(async () => {
    await cloud?.close();
    await rm(dataDir, { recursive: true, force: true });
  }, 60_000);

  const tradeStoreOf = (strategyId: string) => join(dataDir, 'trade-store', strategyId);

  /** Starts a session and waits for its two trades; returns them with the agent that holds them. */
  const startWithOpenTrades = async (strategyId: string, mode: 'dry-run' | 'live' = 'dry-run') => {
    const answer = await api('POST', `/strategies/${strategyId}/start`, {
      body: startBody(TWO_OPEN_TRADES, mode === 'live' ? { mode, risk_limits: LIVE_LIMITS } : {}),
      scopes: ['strategies:read', 'strategies:write', ...(mode === 'live' ? ['strategies:live'] : [])],
      ...(mode === 'live' ? { groups: ['tradai-live'] } : {}),
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    const runId = String(answer.body.run_id);
    const session = await sessionWhere(
      cloud,
      runId,
      (s) => s.status === 'running' && s.open_trades.length === 2,
      'running with two open trades',
      60_000,
    );
    return { runId, agentId: session.agent_id, trades: tradesOf(session) };
  };

  /**
   * SIGKILL of the task's main process: the whole container goes and ECS starts a replacement. The
   * replacement's claim keeps the old agent's last snapshot on the session, so only heartbeats sent after
   * the claim (a higher heartbeat_seq) tell what the replacement's Freqtrade reports.
   */
  const killTaskAndAwaitReplacement = async (
    runId: string,
    previousAgent: string | null,
    reported: (session: Session) => boolean,
  ) => {
    const pid = agentPidOf(cloud, runId);
    expect(pid).toBeDefined();
    process.kill(pid as number, 'SIGKILL');
    const claimed = await sessionWhere(
      cloud,
      runId,
      (s) => s.agent_id !== previousAgent,
      'the replacement task to claim the session',
      90_000,
    );
    return sessionWhere(
      cloud,
      runId,
      (s) =>
        s.agent_id === claimed.agent_id &&
        s.heartbeat_seq > claimed.heartbeat_seq &&
        s.health?.freqtrade_state !== undefined &&
        s.health.freqtrade_state !== 'unknown' &&
        reported(s),
      'a heartbeat from the replacement task',
      60_000,
    );
  };

  it.each([
    ['dry-run', 'e2e-durable'],
    ['live', 'e2e-durable-live'],
  ] as const)(
    'lets the replacement of a %s task killed with SIGKILL find its open trades, same ids and open dates, with no page beyond the container restart notice (a fresh task disk had lost them)',
    async (mode, strategyId) => {
      const { runId, agentId, trades } = await startWithOpenTrades(strategyId, mode);
      expect(existsSync(join(tradeStoreOf(strategyId), `tradesv3.${mode}.sqlite`))).toBe(true);

      const pagesBefore = alertsFor(cloud, runId).length;

      const replaced = await killTaskAndAwaitReplacement(runId, agentId, (s) => s.open_trades.length > 0);
      await cloud.streamsDrained();

      expect(tradesOf(replaced)).toEqual(trades);
      const pagesAfterKill = alertsFor(cloud, runId).slice(pagesBefore);
      expect(pagesAfterKill.map((alert) => [alert.kind, alert.severity])).toEqual([
        ['container.restarting', 'WARNING'],
      ]);
    },
    180_000,
  );

  it('gives a replacement task none of the open trades when the trade store was lost between tasks', async () => {
    const { runId, agentId, trades } = await startWithOpenTrades('e2e-store-lost');

    await rm(tradeStoreOf('e2e-store-lost'), { recursive: true, force: true });
    const replaced = await killTaskAndAwaitReplacement(runId, agentId, () => true);
    await cloud.streamsDrained();

    const known = new Set(trades.map((trade) => JSON.stringify(trade)));
    expect(tradesOf(replaced).filter((trade) => known.has(JSON.stringify(trade)))).toEqual([]);
  }, 180_000);

  it('keeps entries paused and pages one CRITICAL naming the missing trades and the account when the trade store was lost', async () => {
    const { runId, agentId, trades } = await startWithOpenTrades('e2e-store-lost-page');
    const pagesBefore = alertsFor(cloud, runId).length;

    await rm(tradeStoreOf('e2e-store-lost-page'), { recursive: true, force: true });
    const replaced = await killTaskAndAwaitReplacement(
      runId,
      agentId,
      (s) => s.health?.missing_trades !== null && s.health?.missing_trades !== undefined,
    );
    await cloud.streamsDrained();

    expect(replaced.health?.freqtrade_state).toBe('paused');
    const pages = alertsFor(cloud, runId).slice(pagesBefore);
    const critical = pages.filter((alert) => alert.severity === 'CRITICAL');
    expect(critical.map((alert) => alert.kind)).toEqual(['takeover.missing_trades']);
    for (const trade of trades) expect(critical[0]?.message).toContain(`#${trade.trade_id}`);
    expect(critical[0]?.message).toContain('tradai/exchange/binance');
    expect(pages.map((alert) => alert.kind).sort()).toEqual([
      'container.restarting',
      'takeover.missing_trades',
    ]);
  }, 180_000);

  it('keeps the trade history when Freqtrade itself crashes (kill -9; trade ids restarted at 1 and PnL dropped to 0)', async () => {
    // prepare: every iteration exits the open trade (ROI below the fees) and enters a new one
    const answer = await api('POST', '/strategies/e2e-ft-crash/start', {
      body: startBody({ ...TWO_OPEN_TRADES, max_open_trades: 1, minimal_roi: { '0': -0.01 } }),
    });
    const runId = String(answer.body.run_id);
    const before = await sessionWhere(
      cloud,
      runId,
      (s) => s.status === 'running' && (s.metrics?.total_trades ?? 0) >= 5 && s.open_trades.length > 0,
      'a few closed trades',
      60_000,
    );
    const agent = agentPidOf(cloud, runId) as number;
    // The agent's child that runs `freqtrade trade` (not a short-lived helper it may also spawn).
    const freqtrade = childPidsOf(agent).find((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('freqtrade');
      } catch {
        return false;
      }
    });
    expect(freqtrade).toBeDefined();
    const highestId = Math.max(...before.open_trades.map((trade) => trade.trade_id));

    // act
    process.kill(freqtrade as number, 'SIGKILL');
    const restarted = await sessionWhere(
      cloud,
      runId,
      (s) => (s.health?.freqtrade_restarts ?? 0) >= 1,
      'Freqtrade restarted',
    );
    const after = await sessionWhere(
      cloud,
      runId,
      (s) =>
        s.heartbeat_seq > restarted.heartbeat_seq + 2 &&
        s.health?.freqtrade_state === 'running' &&
        s.open_trades.length > 0,
      'heartbeats from the restarted Freqtrade',
    );

    // assess
    expect(after.metrics?.total_trades).toBeGreaterThanOrEqual(before.metrics?.total_trades ?? 0);
    expect(after.metrics?.pnl_total).toBeLessThanOrEqual((before.metrics?.pnl_total ?? 0) + 1e-6);
    // The trade open at the crash may still be open; no id starts again from 1.
    expect(Math.min(...after.open_trades.map((trade) => trade.trade_id))).toBeGreaterThanOrEqual(highestId);
  }, 180_000);
});
