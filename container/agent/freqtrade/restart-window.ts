/**
 * Freqtrade restarts within a sliding window. Those since the last live trading loop decide start-up:
 * N of them in M minutes means Freqtrade does not come up, and restarting it again only hides that
 * (issue 8 finding 4). All of them are reported, so repeated crashes of a live bot escalate a warning.
 * Pure: the caller passes the times.
 */
export class RestartWindow {
  readonly #windowMs: number;
  readonly #max: number;
  #restarts: number[] = [];
  /** How many of `#restarts` came before the last live loop. */
  #beforeLive = 0;

  constructor(options: { maxRestarts: number; windowMs: number }) {
    this.#max = options.maxRestarts;
    this.#windowMs = options.windowMs;
  }

  get windowMs(): number {
    return this.#windowMs;
  }

  #prune(nowMs: number): void {
    const kept = this.#restarts.filter((at) => nowMs - at < this.#windowMs);
    this.#beforeLive = Math.max(0, this.#beforeLive - (this.#restarts.length - kept.length));
    this.#restarts = kept;
  }

  /** Every restart within the window. */
  count(nowMs: number): number {
    this.#prune(nowMs);
    return this.#restarts.length;
  }

  /** Restarts within the window since the last live trading loop. */
  withoutLiveLoop(nowMs: number): number {
    this.#prune(nowMs);
    return this.#restarts.length - this.#beforeLive;
  }

  /** The first restart since the last live loop, for the report's `since`. */
  since(nowMs: number): number {
    this.#prune(nowMs);
    return this.#restarts[this.#beforeLive] ?? nowMs;
  }

  /** Whether another restart is allowed now; when it is, it is counted. */
  tryRestart(nowMs: number): boolean {
    if (this.withoutLiveLoop(nowMs) >= this.#max) return false;
    this.#restarts.push(nowMs);
    return true;
  }

  /** A live trading loop was seen: the restarts before it no longer count against start-up. */
  live(): void {
    this.#beforeLive = this.#restarts.length;
  }
}
