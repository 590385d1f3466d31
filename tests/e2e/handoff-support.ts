import { expect } from 'vitest';
import type { OrderLogLine } from '../../local/freqtrade-sim/order-log';
import type { Session } from '../../shared/domain/session';

/** Every loop exits the open trade (ROI below the fees) and enters again: paused, it goes flat at once. */
export const CHURNING = {
  max_open_trades: 1,
  minimal_roi: { '0': -0.01 },
  sim: { tick_ms: 200, open_trades_at_start: 0, entry_probability: 1, volatility: 0, drift: 0 },
};

export const tradesOf = (session: Session) =>
  session.open_trades
    .map((trade) => ({ trade_id: trade.trade_id, pair: trade.pair, open_date: trade.open_date }))
    .sort((a, b) => a.trade_id - b.trade_id);

/**
 * Never two writers: every order-capable record of the old run's Freqtrade (its process start, each trade
 * change, each /start or /forceexit) comes before the first record of the new run's, process start included.
 * `exit: 'clean'` also asks that the old Freqtrade shut down by itself (a SIGKILLed one writes no end).
 */
export const expectNoOverlap = (
  log: readonly OrderLogLine[],
  oldRun: string,
  newRun: string,
  exit: 'clean' | 'killed' = 'clean',
) => {
  const of = (run: string) => log.filter((line) => line.run_id === run).map((line) => line.at_ms);
  const before = of(oldRun);
  const after = of(newRun);
  expect(before.length).toBeGreaterThan(0);
  expect(after.length).toBeGreaterThan(0);
  expect(Math.max(...before)).toBeLessThan(Math.min(...after));
  expect(log.some((line) => line.run_id === oldRun && line.event === 'process_exiting')).toBe(
    exit === 'clean',
  );
};
