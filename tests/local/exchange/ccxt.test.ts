import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ccxtConfigFor, type LocalExchange, startLocalExchange } from '../../../local/exchange/index';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const PYTHON = `${ROOT}.venv/bin/python`;
const PROBE = fileURLToPath(new URL('./ccxt_probe.py', import.meta.url));

/**
 * The shapes are checked by the parser that matters: ccxt 4.5's binance client (Freqtrade's), run from
 * the project's .venv. A field ccxt cannot parse shows up here as a null or an exception, not in a
 * Freqtrade log five minutes into an e2e run.
 */
describe.skipIf(!existsSync(PYTHON))(
  'Local exchange: parsed by ccxt binance (the .venv Freqtrade uses)',
  () => {
    let exchange: LocalExchange;
    let parsed: Record<string, unknown>;

    beforeAll(async () => {
      exchange = await startLocalExchange({ seed: 7 });
      const { stdout } = await promisify(execFile)(
        PYTHON,
        [PROBE, JSON.stringify(ccxtConfigFor(exchange.url)), exchange.url],
        { timeout: 30_000 },
      );
      parsed = JSON.parse(stdout) as Record<string, unknown>;
    }, 40_000);
    afterAll(async () => {
      await exchange?.close();
    });

    it('loads spot markets only, with tick-size precision and the lot and notional limits', () => {
      expect(parsed.symbols).toEqual(['BNB/USDT', 'BTC/USDT', 'ETH/USDT', 'SOL/USDT']);
      expect(parsed.btc).toEqual({
        spot: true,
        active: true,
        precision: { amount: 0.00001, price: 0.01, base: 1e-8, quote: 1e-8 },
        min_amount: 0.00001,
        min_cost: 5,
      });
    });

    it('asks for nothing the local exchange does not serve (no futures, margin or wallet routes)', () => {
      const asked = Object.keys(exchange.requests());
      expect(asked.every((key) => key.startsWith('GET /api/v3/'))).toBe(true);
    });

    it('parses time, candles, tickers, book tickers and the order book', () => {
      expect(typeof parsed.time).toBe('number');
      const ohlcv = parsed.ohlcv as number[][];
      expect(ohlcv).toHaveLength(3);
      for (const candle of ohlcv) {
        expect(candle).toHaveLength(6);
        expect(candle.every((value) => typeof value === 'number')).toBe(true);
      }
      const ticker = parsed.ticker as Record<string, number | string>;
      expect(ticker.symbol).toBe('ETH/USDT');
      for (const field of ['bid', 'ask', 'last', 'high', 'low', 'baseVolume'])
        expect(typeof ticker[field]).toBe('number');
      expect(parsed.tickers).toEqual(['BTC/USDT', 'SOL/USDT']);
      expect(parsed.all_tickers).toBe(4);
      expect(parsed.bids_asks).toEqual(['BTC/USDT']);
      const book = parsed.book as { bids: number[][]; asks: number[][] };
      expect(book.bids).toHaveLength(5);
      expect((book.bids[0]?.[0] ?? 0) < (book.asks[0]?.[0] ?? 0)).toBe(true);
    });

    it('maps the refusals to the ccxt exceptions Freqtrade handles: BadSymbol, BadRequest, and a retryable NetworkError for 503', () => {
      expect(parsed.bad_symbol).toBe('BadSymbol');
      expect(parsed.bad_interval).toBe('BadRequest');
      expect(parsed.burst).toEqual(['ExchangeNotAvailable', true]);
    });
  },
);
