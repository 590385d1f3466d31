import type { StopOutcome } from '../../shared/domain/agent-report';
import type { FreqtradeState } from '../../shared/domain/session';
import { type KnownTrades, positionsOutcome, type StopPlan } from './lifecycle';

/** Resolves with `fallback` when `promise` has not settled within `ms`. */
export const within = <T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((done) => {
      timer = setTimeout(() => done(fallback), Math.max(0, ms));
    }),
  ]);
};

export type ProcessStopResult = 'stopped' | 'killed' | 'still_running' | 'not_running' | 'not_supervised';

export interface CommandReport {
  ok: boolean;
  /** The failure, or what confirmed it. */
  detail: string;
}

/** What a stop plan acts on; the service and one-shot runs each provide them. */
export interface StopPorts {
  now(): number;
  /** False in one-shot runs and before Freqtrade runs: there is no trading API to pause, flatten or stop. */
  trades: boolean;
  freqtradeState(): FreqtradeState;
  /**
   * The one command that turns entries off before the agent goes (control.ts shutdownCommandFor): never
   * /pause to a bot that is, or must stay, stopped (since 2025.4 /pause starts a stopped bot paused);
   * null when entries are already off. Absent: /pause unless Freqtrade shows stopped.
   */
  entriesOffCommand?(): 'pause' | 'stop' | null;
  /** Open trade ids from the latest poll, null when the latest poll could not see them. */
  openTradeIds(): KnownTrades;
  /** One more poll of Freqtrade, so what follows sees the truth. */
  refresh(): Promise<void>;
  command(action: 'pause' | 'stop', why: string): Promise<CommandReport>;
  /** forceexit all, then wait until no trade is open or `untilMs`; the ids still open (null: unknown). */
  flatten(untilMs: number): Promise<KnownTrades>;
  stopProcess(timeoutMs: number): Promise<ProcessStopResult>;
  killOneShot(): void;
  heartbeat(kind: 'final' | 'shutdown' | 'report', outcome: StopOutcome): Promise<void>;
  /** Writes the plan's final status with the outcome (only called when the plan has one). */
  writeFinal(outcome: StopOutcome, status: 'stopped' | 'failed' | 'result'): Promise<void>;
}

export interface StopBudget {
  /** STOP_TIMEOUT_S in ms: a bounded plan finishes within it; the process gets what is left. */
  stopTimeoutMs: number;
  /** How long a flatten may take before what is left counts as flatten_failed. */
  flattenTimeoutMs: number;
  /** wait_flat's bound: how long an awaitFlat plan waits for the trades to close (0: not at all). */
  awaitFlatMs?: number;
  /** Between two looks at the open trades while waiting for them to close. */
  awaitFlatPollMs?: number;
}

/**
 * Executes one stop plan, step by step, and returns what happened to the open positions. Every step's
 * failure is recorded and the next step still runs: a failed pause never keeps the process alive.
 */
export const executeStopPlan = async (
  stopPlan: StopPlan,
  ports: StopPorts,
  budget: StopBudget,
  why: string,
): Promise<StopOutcome> => {
  const deadline = ports.now() + budget.stopTimeoutMs;
  const left = () => deadline - ports.now();
  /** Bounded plans cap each step; unbounded ones still never wait on a hung call forever. */
  const step = <T>(promise: Promise<T>, capMs: number, fallback: T): Promise<T> =>
    within(
      promise,
      stopPlan.bounded ? Math.min(left(), capMs) : Math.max(capMs, budget.stopTimeoutMs),
      fallback,
    );
  const notes: string[] = [];
  const before = ports.openTradeIds();

  if (stopPlan.killOneShot) ports.killOneShot();
  if (stopPlan.pause && ports.trades) {
    // A flatten needs a trader that runs (Freqtrade refuses forceexit once stopped): entries off by /pause.
    const pauseUnlessStopped = ports.freqtradeState() === 'stopped' ? null : ('pause' as const);
    // So does waiting for Freqtrade's own exits (a stopped trader exits nothing): /pause, never /stop.
    const entriesOff =
      stopPlan.flatten || stopPlan.awaitFlat
        ? pauseUnlessStopped
        : (ports.entriesOffCommand?.() ?? pauseUnlessStopped);
    if (entriesOff === null) notes.push(`entries already off (${ports.freqtradeState()}): no /pause`);
    else {
      const done = await step(ports.command(entriesOff, why), 5000, {
        ok: false,
        detail: `${entriesOff} timed out`,
      });
      if (!done.ok) notes.push(`${entriesOff} failed: ${done.detail}`);
    }
  }
  let after: KnownTrades | undefined;
  const awaitFlatMs = budget.awaitFlatMs ?? 0;
  if (stopPlan.awaitFlat && ports.trades && awaitFlatMs > 0) {
    // Freqtrade's own exits (ROI, stoploss, exit signals) close them while entries are off; nothing is forced.
    const everyMs = budget.awaitFlatPollMs ?? 250;
    const until = ports.now() + awaitFlatMs;
    for (let attempt = 0; ; attempt += 1) {
      await ports.refresh().catch(() => undefined);
      after = ports.openTradeIds();
      if (after !== null && after.length === 0) {
        notes.push('wait_flat: every trade closed');
        break;
      }
      // Counted as well as timed: an injected clock that stands still cannot make this wait forever.
      if (ports.now() >= until || attempt * everyMs >= awaitFlatMs) {
        notes.push(
          `wait_flat: ${after === null ? 'unknown' : after.length} trade(s) still open after ${awaitFlatMs / 1000} s: carried to the successor`,
        );
        break;
      }
      await new Promise<void>((done) => setTimeout(done, everyMs));
    }
  }
  if (stopPlan.flatten && ports.trades) {
    after = await ports.flatten(ports.now() + budget.flattenTimeoutMs);
    if (after === null || after.length > 0)
      notes.push(`flatten left ${after === null ? 'unknown' : after.length} open`);
  }
  if (stopPlan.stopTrader && ports.trades) {
    const stopped = await step(ports.command('stop', why), 5000, { ok: false, detail: 'stop timed out' });
    if (!stopped.ok) notes.push(`stop failed: ${stopped.detail}`);
  }
  if (ports.trades && (stopPlan.pause || stopPlan.stopTrader || stopPlan.flatten)) {
    await step(
      ports.refresh().catch(() => undefined),
      3000,
      undefined,
    );
    after = ports.openTradeIds();
  }
  const outcomeOf = (): StopOutcome => ({
    plan: stopPlan.name,
    ...positionsOutcome(stopPlan, before, after ?? before),
    detail: [why, ...notes].join('; ').slice(0, 512),
    at: new Date(ports.now()).toISOString(),
  });
  // A last heartbeat goes out before the process stop, while the budget still has room for it; a report of
  // an agent that stays up goes after it, so it can say how the process ended.
  const lastHeartbeat = stopPlan.heartbeat === 'report' ? null : stopPlan.heartbeat;
  if (lastHeartbeat !== null) await step(ports.heartbeat(lastHeartbeat, outcomeOf()), 5000, undefined);
  if (stopPlan.stopProcess) {
    const result = await step(
      ports.stopProcess(stopPlan.bounded ? Math.max(0, left() - 500) : budget.stopTimeoutMs),
      budget.stopTimeoutMs + 1000,
      'still_running' as ProcessStopResult,
    );
    if (result !== 'not_running' && result !== 'not_supervised')
      notes.push(`freqtrade process ${result.replace('_', ' ')}`);
  }
  const outcome = outcomeOf();
  if (stopPlan.heartbeat === 'report') await step(ports.heartbeat('report', outcome), 5000, undefined);
  if (stopPlan.finalStatus !== null) await ports.writeFinal(outcome, stopPlan.finalStatus);
  return outcome;
};
