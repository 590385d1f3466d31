/**
 * Failure and market scenarios the simulator plays, so the container agent's supervision paths
 * (staleness, retries, risk breaches, restarts) can be exercised without a real Freqtrade.
 *
 * `at_s` counts from the moment the scenario became active: process start for `sim.scenario` and
 * FREQTRADE_SIM_SCENARIO, the request time for POST /sim/scenario.
 */
import * as z from 'zod';
import type { Clock } from '../../shared/domain/clock';

const AtSeconds = z.number().min(0).max(86_400).default(0);

export const SteadyScenarioSchema = z.strictObject({ name: z.literal('steady') });

/** Prices of held positions move against them until equity is `depth_pct` below its peak. */
export const DrawdownScenarioSchema = z.strictObject({
  name: z.literal('drawdown'),
  at_s: AtSeconds,
  depth_pct: z.number().gt(0).lt(100),
});

/** The process exits with `exit_code`, without closing anything (a crash, not a shutdown). */
export const CrashScenarioSchema = z.strictObject({
  name: z.literal('crash'),
  at_s: AtSeconds,
  exit_code: z.number().int().min(1).max(255).default(1),
});

/** The API accepts connections but never answers, and the bot loop stops. */
export const HangScenarioSchema = z.strictObject({ name: z.literal('hang'), at_s: AtSeconds });

/** Every /api/v1 route answers `status`. The bot loop goes on. */
export const ErrorsScenarioSchema = z.strictObject({
  name: z.literal('errors'),
  at_s: AtSeconds,
  status: z.union([z.literal(500), z.literal(503)]),
});

/** Every /api/v1 answer is delayed by `delay_ms`. */
export const SlowScenarioSchema = z.strictObject({
  name: z.literal('slow'),
  at_s: AtSeconds,
  delay_ms: z.number().int().min(0).max(600_000),
});

/** The API keeps answering but the bot loop stops: `last_process_ts` freezes. */
export const StuckLoopScenarioSchema = z.strictObject({ name: z.literal('stuck_loop'), at_s: AtSeconds });

export const ScenarioSchema = z.discriminatedUnion('name', [
  SteadyScenarioSchema,
  DrawdownScenarioSchema,
  CrashScenarioSchema,
  HangScenarioSchema,
  ErrorsScenarioSchema,
  SlowScenarioSchema,
  StuckLoopScenarioSchema,
]);
export type Scenario = z.infer<typeof ScenarioSchema>;
/** What callers may write: defaults (`at_s`, `exit_code`) may be left out. */
export type ScenarioInput = z.input<typeof ScenarioSchema>;

export const STEADY: Scenario = Object.freeze({ name: 'steady' });

/** How the API must treat a request right now. */
export type ApiEffect =
  | { kind: 'normal' }
  | { kind: 'hang' }
  | { kind: 'error'; status: 500 | 503 }
  | { kind: 'delay'; ms: number };

/** The active scenario and the time it became active; every effect is derived from these two. */
export class ScenarioControl {
  readonly #clock: Clock;
  #scenario: Scenario;
  #activatedAt: number;
  #drawdownDone = false;

  constructor(clock: Clock, initial: Scenario) {
    this.#clock = clock;
    this.#scenario = initial;
    this.#activatedAt = clock.now();
  }

  get current(): Scenario {
    return this.#scenario;
  }

  get activatedAt(): number {
    return this.#activatedAt;
  }

  set(scenario: Scenario): void {
    this.#scenario = scenario;
    this.#activatedAt = this.#clock.now();
    this.#drawdownDone = false;
  }

  /** Whether the scenario's `at_s` has passed. */
  triggered(): boolean {
    const scenario = this.#scenario;
    if (scenario.name === 'steady') return true;
    return this.#clock.now() - this.#activatedAt >= scenario.at_s * 1000;
  }

  apiEffect(): ApiEffect {
    const scenario = this.#scenario;
    if (!this.triggered()) return { kind: 'normal' };
    switch (scenario.name) {
      case 'hang':
        return { kind: 'hang' };
      case 'errors':
        return { kind: 'error', status: scenario.status };
      case 'slow':
        return { kind: 'delay', ms: scenario.delay_ms };
      default:
        return { kind: 'normal' };
    }
  }

  /** A hung process and a stuck loop both stop running the bot (and its heartbeat). */
  loopFrozen(): boolean {
    const name = this.#scenario.name;
    return (name === 'hang' || name === 'stuck_loop') && this.triggered();
  }

  /** The exit code to crash with now, or null. */
  crashCode(): number | null {
    const scenario = this.#scenario;
    return scenario.name === 'crash' && this.triggered() ? scenario.exit_code : null;
  }

  /** The drawdown still to produce, or null once produced (or when none is due). */
  pendingDrawdownPct(): number | null {
    const scenario = this.#scenario;
    if (scenario.name !== 'drawdown' || this.#drawdownDone || !this.triggered()) return null;
    return scenario.depth_pct;
  }

  markDrawdownDone(): void {
    this.#drawdownDone = true;
  }
}
