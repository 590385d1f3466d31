/**
 * A seeded, deterministic spot market: every price is a pure function of (seed, symbol, time), so the
 * same instant always gives the same candle, ticker and book, whoever asks and however often. Real
 * Freqtrade polls on wall-clock time, so the market is anchored to the clock too (candles up to now,
 * never beyond). Scenario events (crashes) are part of the function: a crash at t multiplies every price
 * from t on, so candles before it stay what they were.
 */
import {
  BOOK_LEVEL_QTY,
  DEFAULT_SYMBOLS,
  HALF_SPREAD,
  INTERVAL_MS,
  type Interval,
  type SymbolSpec,
} from './constants';

export interface Crash {
  /** Milliseconds since the epoch from which prices are multiplied by `factor`. */
  at: number;
  factor: number;
}

/** 32-bit mixing of integers into [0, 1): a hash, not a stream, so any instant is reachable directly. */
const mix = (...parts: number[]): number => {
  let h = 0x811c9dc5;
  for (const part of parts) {
    h = Math.imul(h ^ (part | 0), 0x01000193);
    h = Math.imul(h ^ Math.floor(part / 0x1_0000_0000), 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
  }
  return (h >>> 0) / 0x1_0000_0000;
};

const symbolKey = (symbol: string): number => {
  let h = 0;
  for (const char of symbol) h = (Math.imul(h, 31) + char.charCodeAt(0)) | 0;
  return h;
};

/** Candle fields as Binance's klines carry them (numbers here; the route formats them). */
export interface Candle {
  openTime: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  closeTime: number;
  trades: number;
}

export interface MarketOptions {
  seed: number;
  symbols?: readonly SymbolSpec[];
}

export class SeededMarket {
  readonly seed: number;
  readonly symbols: ReadonlyMap<string, SymbolSpec>;
  #crashes: Crash[] = [];

  constructor(options: MarketOptions) {
    this.seed = options.seed;
    this.symbols = new Map((options.symbols ?? DEFAULT_SYMBOLS).map((spec) => [spec.symbol, spec]));
  }

  get crashes(): readonly Crash[] {
    return this.#crashes;
  }

  /** From `at` on, every price of every symbol is `(1 - pct/100)` of what it would have been. */
  crash(pct: number, at: number): void {
    this.#crashes.push({ at, factor: 1 - pct / 100 });
  }

  clearCrashes(): void {
    this.#crashes = [];
  }

  spec(symbol: string): SymbolSpec | undefined {
    return this.symbols.get(symbol);
  }

  /**
   * The last traded price at `t`: two slow waves (periods of 30 and 7 minutes, ±0.8 % and ±0.3 %) so
   * trends cross often, plus per-second noise (±0.05 %) interpolated so the price is continuous.
   */
  price(symbol: string, t: number): number {
    const spec = this.#require(symbol);
    const key = symbolKey(symbol);
    const minutes = t / 60_000;
    const phase = mix(this.seed, key) * 2 * Math.PI;
    const wave =
      0.008 * Math.sin((2 * Math.PI * minutes) / 30 + phase) +
      0.003 * Math.sin((2 * Math.PI * minutes) / 7 + 2 * phase);
    const second = Math.floor(t / 1000);
    const fraction = (t - second * 1000) / 1000;
    const noiseAt = (s: number) => mix(this.seed, key, s) * 2 - 1;
    const noise = noiseAt(second) * (1 - fraction) + noiseAt(second + 1) * fraction;
    let price = spec.basePrice * (1 + wave + 0.0005 * noise);
    for (const crash of this.#crashes) if (t >= crash.at) price *= crash.factor;
    return this.#round(price, spec.tickSize);
  }

  bid(symbol: string, t: number): number {
    const spec = this.#require(symbol);
    return this.#round(this.price(symbol, t) * (1 - HALF_SPREAD), spec.tickSize);
  }

  ask(symbol: string, t: number): number {
    const spec = this.#require(symbol);
    return this.#round(this.price(symbol, t) * (1 + HALF_SPREAD), spec.tickSize);
  }

  /** The candle opening at `openTime` as it stands at `now` (the current candle is still forming). */
  candle(symbol: string, interval: Interval, openTime: number, now: number): Candle {
    const length = INTERVAL_MS[interval];
    const closeTime = openTime + length - 1;
    const last = Math.min(closeTime, now);
    // 60 samples per candle whatever its length: enough for a plausible high/low, cheap for 1d.
    const step = Math.max(1000, Math.floor(length / 60));
    const open = this.price(symbol, openTime);
    const close = this.price(symbol, last);
    let high = Math.max(open, close);
    let low = Math.min(open, close);
    for (let t = openTime + step; t < last; t += step) {
      const p = this.price(symbol, t);
      if (p > high) high = p;
      if (p < low) low = p;
    }
    const spec = this.#require(symbol);
    const fullVolume =
      spec.volumePerMinute * (length / 60_000) * (0.5 + mix(this.seed, symbolKey(symbol), openTime));
    const formed = (last - openTime + 1) / length;
    return {
      openTime,
      open,
      high,
      low,
      close,
      volume: this.#round(fullVolume * formed, spec.stepSize),
      closeTime,
      trades: Math.max(1, Math.round(100 * formed * (0.5 + mix(this.seed, openTime)))),
    };
  }

  /**
   * Binance's klines selection: with `startTime`, the first `limit` candles opening at or after it;
   * otherwise the last `limit` candles opening at or before `endTime` (default now). Never beyond now.
   */
  klines(
    symbol: string,
    interval: Interval,
    query: { startTime?: number; endTime?: number; limit: number },
    now: number,
  ): Candle[] {
    const length = INTERVAL_MS[interval];
    const floorTo = (t: number) => Math.floor(t / length) * length;
    const newestOpen = floorTo(Math.min(query.endTime ?? now, now));
    const candles: Candle[] = [];
    if (query.startTime !== undefined) {
      const first = Math.ceil(query.startTime / length) * length;
      for (let open = first; open <= newestOpen && candles.length < query.limit; open += length) {
        candles.push(this.candle(symbol, interval, open, now));
      }
      return candles;
    }
    const first = newestOpen - (query.limit - 1) * length;
    for (let open = Math.max(0, first); open <= newestOpen; open += length) {
      candles.push(this.candle(symbol, interval, open, now));
    }
    return candles;
  }

  /** `levels` price levels a side, one tick apart from the touch, quantities seeded per level. */
  depth(symbol: string, levels: number, t: number): { bids: [number, number][]; asks: [number, number][] } {
    const spec = this.#require(symbol);
    const bid = this.bid(symbol, t);
    const ask = this.ask(symbol, t);
    const qty = (side: number, level: number) =>
      this.#round(
        BOOK_LEVEL_QTY * spec.qtyScale * (0.5 + mix(this.seed, side, level, Math.floor(t / 1000))),
        spec.stepSize,
      ) || spec.stepSize;
    const bids: [number, number][] = [];
    const asks: [number, number][] = [];
    for (let level = 0; level < levels; level += 1) {
      bids.push([this.#round(bid - level * spec.tickSize, spec.tickSize), qty(0, level)]);
      asks.push([this.#round(ask + level * spec.tickSize, spec.tickSize), qty(1, level)]);
    }
    return { bids, asks };
  }

  /** Binance's rolling 24 h statistics, sampled every 15 minutes. */
  stats24h(symbol: string, now: number) {
    const day = 24 * 60 * 60_000;
    const openTime = now - day;
    const open = this.price(symbol, openTime);
    const last = this.price(symbol, now);
    let high = Math.max(open, last);
    let low = Math.min(open, last);
    for (let t = openTime; t < now; t += 15 * 60_000) {
      const p = this.price(symbol, t);
      if (p > high) high = p;
      if (p < low) low = p;
    }
    const spec = this.#require(symbol);
    const volume = this.#round(spec.volumePerMinute * 24 * 60, spec.stepSize);
    return { open, high, low, last, volume, openTime, closeTime: now };
  }

  #require(symbol: string): SymbolSpec {
    const spec = this.symbols.get(symbol);
    if (spec === undefined) throw new Error(`unknown symbol ${symbol}`);
    return spec;
  }

  /** Rounds to the instrument's grid without binary noise (0.1 + 0.2 stays 0.3 on a 0.01 grid). */
  #round(value: number, step: number): number {
    const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
    return Number((Math.round(value / step) * step).toFixed(decimals));
  }
}

/** Binance prints prices and quantities as strings with 8 decimals (`"60000.01000000"`). */
export const formatNumber = (value: number): string => value.toFixed(8);
