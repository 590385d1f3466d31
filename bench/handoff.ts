/**
 * The zero-container window of a deploy (issue 13 item 2), measured on the local cloud: one live strategy
 * with open trades is rolled back and forth between versions 3 and 4 (carry_positions), and each handoff
 * reports
 * - window: the old Freqtrade's exit to the new one's API and loop up (order log: process_exiting to
 *   process_ready): no bot manages the positions in between (the zero-container window);
 * - session_gap: the old session's stop (written by its agent once its Freqtrade stopped) to the new
 *   session's first heartbeat (markRunning's started_at), as the control plane sees it;
 * - total: the deploy request to the new session trading its carried trades.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readOrderLog } from '../local/freqtrade-sim/order-log';
import { handoffWindowMs } from '../shared/domain/deploy';
import type { Session } from '../shared/domain/session';
import { apiOf, FAST, LIVE_TRADER, sessionWhere, startBody, startFastCloud } from '../tests/e2e/support';
import { percentile } from './stats';

const summary = (values: number[]) => ({
  p50_ms: Math.round(percentile(values, 50)),
  p99_ms: Math.round(percentile(values, 99)),
  max_ms: Math.round(Math.max(...values)),
});

const TWO_OPEN_TRADES = {
  max_open_trades: 2,
  sim: { tick_ms: 200, open_trades_at_start: 0, entry_probability: 1, volatility: 0, drift: 0 },
};
const LIVE_LIMITS = {
  max_drawdown_pct: 50,
  max_daily_loss: 100_000,
  max_open_trades: 5,
  max_leverage: 2,
  max_monitor_failures: 5,
};

export const runHandoffBench = async (options: { handoffs: number }): Promise<Record<string, unknown>> => {
  const dataDir = await mkdtemp(join(tmpdir(), 'tradai-bench-handoff-'));
  const orderLog = join(dataDir, 'orders.jsonl');
  const cloud = await startFastCloud({
    dataDir,
    containerEnvironment: { ...FAST.containerEnvironment, FREQTRADE_SIM_ORDER_LOG: orderLog },
    functionEnvironment: { ...FAST.functionEnvironment, STALE_AFTER_S: '60', STOP_GRACE_S: '20' },
  });
  const api = apiOf(cloud);
  const trading = (runId: string) =>
    sessionWhere(
      cloud,
      runId,
      (s: Session) =>
        s.status === 'running' && s.health?.freqtrade_state === 'running' && s.open_trades.length === 2,
      'trading with its two trades',
      120_000,
    );
  try {
    const started = await api('POST', '/strategies/bench-handoff/start', {
      body: startBody(TWO_OPEN_TRADES, { mode: 'live', risk_limits: LIVE_LIMITS }),
      ...LIVE_TRADER,
    });
    if (started.status !== 202) throw new Error(`start: ${started.status} ${JSON.stringify(started.body)}`);
    let current = String(started.body.run_id);
    await trading(current);
    const windows: number[] = [];
    const gaps: number[] = [];
    const totals: number[] = [];
    for (let index = 0; index < options.handoffs; index += 1) {
      const requestedAt = Date.now();
      const answer = await api('POST', '/strategies/bench-handoff/deploy', {
        body: { version: index % 2 === 0 ? '4' : '3', handoff: 'carry_positions', reason: 'bench' },
        ...LIVE_TRADER,
      });
      if (answer.status !== 202) throw new Error(`deploy: ${answer.status} ${JSON.stringify(answer.body)}`);
      const next = String(answer.body.run_id);
      const successor = await trading(next);
      totals.push(Date.now() - requestedAt);
      const predecessor = (await cloud.store.get(current)) as Session;
      const sessionGap = handoffWindowMs(predecessor, successor);
      if (sessionGap !== undefined) gaps.push(sessionGap);
      const log = readOrderLog(orderLog);
      const exited = log.filter((line) => line.run_id === current && line.event === 'process_exiting');
      const ready = log.filter((line) => line.run_id === next && line.event === 'process_ready');
      if (exited.length > 0 && ready.length > 0)
        windows.push(
          Math.min(...ready.map((line) => line.at_ms)) - Math.max(...exited.map((line) => line.at_ms)),
        );
      current = next;
    }
    return {
      handoffs: options.handoffs,
      window: summary(windows),
      session_gap: summary(gaps),
      total: summary(totals),
      note: 'local cloud, FAST intervals (control poll 0.25 s, handoff poll 1 s); in AWS add Fargate task start',
    };
  } finally {
    await cloud.close();
    await rm(dataDir, { recursive: true, force: true });
  }
};
