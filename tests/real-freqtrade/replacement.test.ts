import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Session } from '../../shared/domain/session';
import { agentPidOf, alertsFor, apiOf, childPidsOf, eventually, FAST, sessionWhere } from '../e2e/support';
import {
  type RealCloud,
  realFreqtradeAvailable,
  realStartBody,
  startRealCloud,
  tradesInStore,
} from './support';

const commandOf = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
};

/** A trade as Freqtrade's database knows it: a fresh database that re-enters the pair has another open date. */
const tradesOf = (session: Session) =>
  session.open_trades
    .map((trade) => ({ trade_id: trade.trade_id, pair: trade.pair, open_date: trade.open_date }))
    .sort((a, b) => a.trade_id - b.trade_id);

/**
 * kill -9 of real Freqtrade, and of the whole task: the open trades live in Freqtrade's database in the
 * durable trade store (TRADE_DB_URL, a per-strategy folder locally), so the restarted Freqtrade and the
 * replacement task's Freqtrade find them again and manage them, instead of starting from an empty
 * database and entering again.
 */
describe.skipIf(!realFreqtradeAvailable())('Real Freqtrade: kill -9 and a replacement task', () => {
  let dataDir: string;
  let real: RealCloud;
  let api: ReturnType<typeof apiOf>;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tradai-real-replace-'));
    real = await startRealCloud({
      dataDir,
      restartDelayMs: () => 200,
      // The replacement comes up within the stale threshold: no stale page stands in for a trades page.
      functionEnvironment: { ...FAST.functionEnvironment, STALE_AFTER_S: '60' },
    });
    api = apiOf(real.cloud);
  }, 60_000);
  afterAll(async () => {
    await real?.close();
    await rm(dataDir, { recursive: true, force: true });
  }, 60_000);

  const startTrading = async (strategyId: string) => {
    const answer = await api('POST', `/strategies/${strategyId}/start`, { body: realStartBody() });
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    const runId = String(answer.body.run_id);
    const session = await sessionWhere(
      real.cloud,
      runId,
      (s) => s.status === 'running' && s.open_trades.length === 2 && s.open_trades.every((t) => t.amount > 0),
      'running with both entries filled',
      90_000,
    );
    return { runId, session };
  };

  it('restarts a Freqtrade killed with SIGKILL, which finds its two open trades again (same ids and open dates)', async () => {
    const { runId, session } = await startTrading('real-ft-kill');
    const agent = agentPidOf(real.cloud, runId) as number;
    // The agent's only `freqtrade trade` child (it also runs short-lived helpers, e.g. for process stats).
    const freqtrade = await eventually(
      async () => childPidsOf(agent).find((pid) => commandOf(pid).includes('freqtrade trade')),
      'the Freqtrade process',
    );

    process.kill(freqtrade, 'SIGKILL');
    const restarted = await sessionWhere(
      real.cloud,
      runId,
      (s) =>
        (s.health?.freqtrade_restarts ?? 0) >= 1 &&
        s.health?.freqtrade_state === 'running' &&
        s.open_trades.length > 0,
      'Freqtrade restarted and reporting trades',
      60_000,
    );

    expect(tradesOf(restarted)).toEqual(tradesOf(session));
    const stored = await tradesInStore(dataDir, 'real-ft-kill');
    expect(stored.filter((trade) => trade.is_open).map((trade) => trade.id)).toEqual([1, 2]);
    expect(stored).toHaveLength(2);
  });

  it('lets the replacement of a task killed with SIGKILL find the open trades in the trade store, with no CRITICAL page', async () => {
    const { runId, session } = await startTrading('real-task-kill');
    const pagesBefore = alertsFor(real.cloud, runId).length;

    process.kill(agentPidOf(real.cloud, runId) as number, 'SIGKILL');
    const claimed = await sessionWhere(
      real.cloud,
      runId,
      (s) => s.agent_id !== session.agent_id,
      'the replacement task to claim the session',
      90_000,
    );
    const replaced = await sessionWhere(
      real.cloud,
      runId,
      (s) =>
        s.agent_id === claimed.agent_id &&
        s.heartbeat_seq > claimed.heartbeat_seq &&
        s.health?.freqtrade_state === 'running' &&
        s.open_trades.length > 0,
      'a heartbeat from the replacement task with trades',
      90_000,
    );
    await real.cloud.streamsDrained();

    expect(tradesOf(replaced)).toEqual(tradesOf(session));
    expect((await tradesInStore(dataDir, 'real-task-kill')).map((trade) => trade.is_open)).toEqual([
      true,
      true,
    ]);
    const pages = alertsFor(real.cloud, runId).slice(pagesBefore);
    expect(pages.filter((alert) => alert.severity === 'CRITICAL')).toEqual([]);
    expect(replaced.health?.missing_trades ?? null).toBeNull();
  });
});
