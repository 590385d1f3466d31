/**
 * Time is injected everywhere staleness, risk windows or launch timeouts are decided, so tests and
 * benchmarks can run the same code under a simulated clock.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export class ManualClock implements Clock {
  #nowMs: number;

  constructor(start: number | string = '2026-01-01T00:00:00.000Z') {
    this.#nowMs = typeof start === 'number' ? start : Date.parse(start);
  }

  now(): number {
    return this.#nowMs;
  }

  advance(ms: number): void {
    this.#nowMs += ms;
  }

  set(at: number | string): void {
    this.#nowMs = typeof at === 'number' ? at : Date.parse(at);
  }
}

export const isoAt = (clock: Clock): string => new Date(clock.now()).toISOString();
