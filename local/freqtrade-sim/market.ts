/**
 * A deterministic paper market: one price per pair, moved by a seeded random walk once per tick.
 * Math.random is never used, so a seed reproduces the same prices, and the same trades, tick for tick.
 */

/** A seeded source of randomness. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Standard normal. */
  normal(): number;
}

/** splitmix32: spreads a small seed over the 32-bit state sfc32 needs. */
const splitmix32 = (seed: number): (() => number) => {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
};

/**
 * sfc32 (a small, fast, well-tested generator). `stream` separates independent sequences from one
 * seed: the market's prices must not shift when the bot draws more or fewer entry decisions.
 */
export const createRng = (seed: number, stream = 0): Rng => {
  const init = splitmix32((seed ^ Math.imul(stream + 1, 0x27d4eb2d)) >>> 0);
  let a = init();
  let b = init();
  let c = init();
  let d = init();
  const next = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t / 4_294_967_296;
  };
  for (let i = 0; i < 12; i++) next();
  return {
    next,
    normal: () => {
      // Box-Muller; 1 - u keeps the logarithm's argument in (0, 1].
      const u = 1 - next();
      const v = next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
  };
};

/** Stable small hash of a string, to give each pair its own deterministic starting price. */
const hashString = (text: string): number => {
  let hash = 2_166_136_261;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16_777_619) >>> 0;
  return hash;
};

/** Prices keep 8 decimals, like most exchanges' price precision. */
export const roundPrice = (price: number): number => Math.round(price * 1e8) / 1e8;

export interface MarketOptions {
  pairs: readonly string[];
  seed: number;
  /** Standard deviation of the log return per step. */
  volatility: number;
  /** Mean log return per step. */
  drift: number;
  startPrices?: Readonly<Record<string, number>>;
}

export class PaperMarket {
  readonly #rng: Rng;
  readonly #prices = new Map<string, number>();
  readonly #volatility: number;
  readonly #drift: number;
  readonly #seed: number;
  readonly #startPrices: Readonly<Record<string, number>>;

  constructor(options: MarketOptions) {
    this.#rng = createRng(options.seed, 1);
    this.#volatility = options.volatility;
    this.#drift = options.drift;
    this.#seed = options.seed;
    this.#startPrices = options.startPrices ?? {};
    this.addPairs(options.pairs);
  }

  /** Pairs added later (a reloaded whitelist) start at their own seeded price. */
  addPairs(pairs: readonly string[]): void {
    for (const pair of pairs) {
      if (this.#prices.has(pair)) continue;
      const configured = this.#startPrices[pair];
      // Between 1 and 10 000, fixed per (seed, pair), so tests see realistic but varied magnitudes.
      const seeded = 10 ** (4 * createRng(this.#seed ^ hashString(pair), 2).next());
      this.#prices.set(pair, roundPrice(configured ?? seeded));
    }
  }

  pairs(): string[] {
    return [...this.#prices.keys()];
  }

  price(pair: string): number | undefined {
    return this.#prices.get(pair);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.#prices);
  }

  /** One random-walk step for every pair, in insertion order (part of determinism). */
  step(): void {
    for (const [pair, price] of this.#prices) {
      const logReturn = this.#drift + this.#volatility * this.#rng.normal();
      this.#prices.set(pair, Math.max(roundPrice(price * Math.exp(logReturn)), 1e-8));
    }
  }

  /** Prices kept with the trade store: the exchange's prices went on while the bot was down. */
  restorePrices(prices: Readonly<Record<string, number>>): void {
    for (const [pair, price] of Object.entries(prices)) {
      if (this.#prices.has(pair)) this.#prices.set(pair, roundPrice(price));
    }
  }

  /** Moves one pair by a factor (scenarios use it to push prices against held positions). */
  scale(pair: string, factor: number): void {
    const price = this.#prices.get(pair);
    if (price !== undefined) this.#prices.set(pair, Math.max(roundPrice(price * factor), 1e-8));
  }
}
