/** The instruments the local exchange lists, with Binance-like filters (tick, lot step, notional). */
export interface SymbolSpec {
  /** Binance's id, e.g. `BTCUSDT`. */
  symbol: string;
  baseAsset: string;
  quoteAsset: string;
  basePrice: number;
  tickSize: number;
  stepSize: number;
  minNotional: number;
  /** Base quantity traded per minute, for candle volumes. */
  volumePerMinute: number;
  /** Book quantities are BOOK_LEVEL_QTY × qtyScale. */
  qtyScale: number;
}

export const DEFAULT_SYMBOLS: readonly SymbolSpec[] = [
  {
    symbol: 'BTCUSDT',
    baseAsset: 'BTC',
    quoteAsset: 'USDT',
    basePrice: 60_000,
    tickSize: 0.01,
    stepSize: 0.00001,
    minNotional: 5,
    volumePerMinute: 20,
    qtyScale: 1,
  },
  {
    symbol: 'ETHUSDT',
    baseAsset: 'ETH',
    quoteAsset: 'USDT',
    basePrice: 3_000,
    tickSize: 0.01,
    stepSize: 0.0001,
    minNotional: 5,
    volumePerMinute: 300,
    qtyScale: 20,
  },
  {
    symbol: 'SOLUSDT',
    baseAsset: 'SOL',
    quoteAsset: 'USDT',
    basePrice: 150,
    tickSize: 0.01,
    stepSize: 0.001,
    minNotional: 5,
    volumePerMinute: 4_000,
    qtyScale: 400,
  },
  {
    symbol: 'BNBUSDT',
    baseAsset: 'BNB',
    quoteAsset: 'USDT',
    basePrice: 600,
    tickSize: 0.01,
    stepSize: 0.001,
    minNotional: 5,
    volumePerMinute: 1_000,
    qtyScale: 100,
  },
];

/** Binance spot kline intervals (1M is left out: months have no fixed length). */
export const INTERVAL_MS = {
  '1s': 1_000,
  '1m': 60_000,
  '3m': 3 * 60_000,
  '5m': 5 * 60_000,
  '15m': 15 * 60_000,
  '30m': 30 * 60_000,
  '1h': 60 * 60_000,
  '2h': 2 * 60 * 60_000,
  '4h': 4 * 60 * 60_000,
  '6h': 6 * 60 * 60_000,
  '8h': 8 * 60 * 60_000,
  '12h': 12 * 60 * 60_000,
  '1d': 24 * 60 * 60_000,
  '3d': 3 * 24 * 60 * 60_000,
  '1w': 7 * 24 * 60 * 60_000,
} as const;
export type Interval = keyof typeof INTERVAL_MS;

/** Bid and ask sit 0.01 % either side of the last price (a 2 bp spread). */
export const HALF_SPREAD = 0.0001;
export const BOOK_LEVEL_QTY = 0.5;

/** Binance's klines limits: default 500, at most 1000. */
export const KLINES_DEFAULT_LIMIT = 500;
export const KLINES_MAX_LIMIT = 1000;
/** Binance's depth limits: default 100; any value up to 5000 is accepted (the weight changes). */
export const DEPTH_DEFAULT_LIMIT = 100;
export const DEPTH_MAX_LIMIT = 5000;

/** Binance's error codes the local exchange answers with (ccxt maps them to its exception classes). */
export const BINANCE_ERRORS = {
  /** -1100 ILLEGAL_CHARS → ccxt BadRequest */
  illegalChars: -1100,
  /** -1102 MANDATORY_PARAM_EMPTY_OR_MALFORMED → ccxt BadRequest */
  mandatoryParam: -1102,
  /** -1120 BAD_INTERVAL → ccxt BadRequest */
  badInterval: -1120,
  /** -1121 BAD_SYMBOL → ccxt BadSymbol */
  badSymbol: -1121,
} as const;

/** The scenario control routes; nothing on Binance starts with `/__`. */
export const CONTROL_PREFIX = '/__';
