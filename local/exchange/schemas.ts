/**
 * The query strings of the Binance spot routes the local exchange serves, and its scenario control body.
 * Query values arrive as strings; each schema turns them into what they mean or refuses them with the
 * Binance error code and message that Binance itself would send.
 */
import * as z from 'zod';
import { DEPTH_MAX_LIMIT, INTERVAL_MS, type Interval, KLINES_MAX_LIMIT } from './constants';

const digits = /^[0-9]{1,20}$/;
const integerParam = z.string().regex(digits).transform(Number);
const symbolParam = z.string().regex(/^[A-Z0-9-_.]{1,20}$/);
/** `symbols=["BTCUSDT","ETHUSDT"]` as ccxt sends it (JSON in the query). */
const symbolsParam = z.string().transform((value, context) => {
  try {
    const parsed = z.array(symbolParam).min(1).parse(JSON.parse(value));
    return parsed;
  } catch {
    context.addIssue({ code: 'custom', message: 'malformed symbols' });
    return z.NEVER;
  }
});

export const KlinesQuerySchema = z.strictObject({
  symbol: symbolParam,
  interval: z.string().refine((value): value is Interval => value in INTERVAL_MS),
  startTime: integerParam.optional(),
  endTime: integerParam.optional(),
  limit: integerParam.pipe(z.number().int().min(1).max(KLINES_MAX_LIMIT)).optional(),
  /** Binance accepts a time zone for daily candles; only UTC ("0") is served here. */
  timeZone: z.literal('0').optional(),
});

export const DepthQuerySchema = z.strictObject({
  symbol: symbolParam,
  limit: integerParam.pipe(z.number().int().min(1).max(DEPTH_MAX_LIMIT)).optional(),
});

/** ticker/24hr and ticker/bookTicker: one symbol, a list, or (neither) every symbol. */
export const TickerQuerySchema = z
  .strictObject({
    symbol: symbolParam.optional(),
    symbols: symbolsParam.optional(),
    type: z.enum(['FULL', 'MINI']).optional(),
  })
  .refine((query) => query.symbol === undefined || query.symbols === undefined, {
    message: 'symbol and symbols are mutually exclusive',
    path: ['symbols'],
  });

export const ExchangeInfoQuerySchema = z.strictObject({
  symbol: symbolParam.optional(),
  symbols: symbolsParam.optional(),
  permissions: z.string().optional(),
  showPermissionSets: z.enum(['true', 'false']).optional(),
  symbolStatus: z.string().optional(),
});

export const EmptyQuerySchema = z.strictObject({});

/** POST /__scenario: the knobs a test turns while Freqtrade trades. */
export const ScenarioInputSchema = z.strictObject({
  /** Every price from now on is this many percent lower (compounds with earlier crashes). */
  crash_pct: z.number().gt(0).lt(100).optional(),
  /** Market requests arriving in the next `stall_ms` are answered only when it ends (0 ends a stall now). */
  stall_ms: z.number().int().min(0).max(600_000).optional(),
  /** The next N market requests are answered HTTP 503 (0 cancels a burst). */
  error_5xx_burst: z.number().int().min(0).max(10_000).optional(),
  /** Back to the seeded market: no crashes, no stall, no burst. */
  reset: z.literal(true).optional(),
});
export type ScenarioInput = z.infer<typeof ScenarioInputSchema>;

export interface ScenarioState {
  crashes: { at: string; pct: number }[];
  stalled_until: string | null;
  error_5xx_remaining: number;
}
