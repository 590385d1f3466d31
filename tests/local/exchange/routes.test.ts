import { afterEach, describe, expect, it } from 'vitest';
import { type LocalExchange, startLocalExchange } from '../../../local/exchange/index';
import { ManualClock } from '../../../shared/domain/clock';

const NOW = Date.parse('2026-06-01T12:34:56.789Z');
const open: LocalExchange[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((exchange) => exchange.close()));
});

const start = async (options: { seed?: number; clock?: ManualClock } = {}) => {
  const clock = options.clock ?? new ManualClock(NOW);
  const exchange = await startLocalExchange({ clock, seed: options.seed ?? 7, stallPollMs: 5 });
  open.push(exchange);
  return { exchange, clock };
};

const get = async (exchange: LocalExchange, path: string) => {
  const response = await fetch(`${exchange.url}${path}`);
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // plain-text answers (503, unknown paths) stay text
  }
  return { status: response.status, body: body as never };
};

describe('Local exchange: Binance spot public routes', () => {
  it('lists every symbol in exchangeInfo with the filters ccxt reads for precision and limits', async () => {
    // Prepare
    const { exchange } = await start();

    // Act
    const { status, body } = await get(exchange, '/api/v3/exchangeInfo');

    // Assess
    expect(status).toBe(200);
    const info = body as { serverTime: number; symbols: Record<string, unknown>[] };
    expect(info.serverTime).toBe(NOW);
    expect(info.symbols.map((s) => s.symbol)).toEqual(['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'BNBUSDT']);
    const btc = info.symbols[0] as {
      status: string;
      baseAsset: string;
      quoteAsset: string;
      filters: { filterType: string }[];
    };
    expect(btc).toMatchObject({ status: 'TRADING', baseAsset: 'BTC', quoteAsset: 'USDT' });
    expect(btc.filters.map((f) => f.filterType)).toEqual(
      expect.arrayContaining(['PRICE_FILTER', 'LOT_SIZE', 'NOTIONAL']),
    );
  });

  it('answers time with the injected clock', async () => {
    const { exchange, clock } = await start();
    clock.advance(1234);

    const { body } = await get(exchange, '/api/v3/time');

    expect(body).toEqual({ serverTime: NOW + 1234 });
  });

  it('serves the same candles for the same seed and other candles for another seed', async () => {
    // Prepare
    const first = (await start({ seed: 7 })).exchange;
    const again = (await start({ seed: 7 })).exchange;
    const other = (await start({ seed: 8 })).exchange;
    const path = '/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=20';

    // Act
    const a = (await get(first, path)).body as unknown[][];
    const b = (await get(again, path)).body as unknown[][];
    const c = (await get(other, path)).body as unknown[][];

    // Assess
    expect(a).toHaveLength(20);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it('selects klines as Binance does: from startTime forward, else the last `limit` up to now, never beyond now', async () => {
    // Prepare
    const { exchange } = await start();
    const minute = 60_000;
    const currentOpen = Math.floor(NOW / minute) * minute;

    // Act
    const latest = (await get(exchange, '/api/v3/klines?symbol=ETHUSDT&interval=1m&limit=3'))
      .body as number[][];
    const since = (
      await get(
        exchange,
        `/api/v3/klines?symbol=ETHUSDT&interval=1m&startTime=${currentOpen - 10 * minute + 1}&limit=2`,
      )
    ).body as number[][];
    const future = (
      await get(exchange, `/api/v3/klines?symbol=ETHUSDT&interval=5m&startTime=${NOW + 10 * minute}`)
    ).body as number[][];

    // Assess
    expect(latest.map((k) => k[0])).toEqual([currentOpen - 2 * minute, currentOpen - minute, currentOpen]);
    expect(latest[2]?.[6]).toBe(currentOpen + minute - 1);
    expect(latest[0]).toHaveLength(12);
    expect(since.map((k) => k[0])).toEqual([currentOpen - 9 * minute, currentOpen - 8 * minute]);
    expect(future).toEqual([]);
  });

  it('keeps each candle consistent: low ≤ open, close ≤ high, and the next candle opens near the last close', async () => {
    const { exchange } = await start();

    const candles = (await get(exchange, '/api/v3/klines?symbol=SOLUSDT&interval=5m&limit=50'))
      .body as string[][];

    for (const [index, candle] of candles.entries()) {
      const [o, h, l, c] = candle.slice(1, 5).map(Number) as [number, number, number, number];
      expect(l).toBeLessThanOrEqual(Math.min(o, c));
      expect(h).toBeGreaterThanOrEqual(Math.max(o, c));
      const next = candles[index + 1];
      if (next !== undefined) expect(Math.abs(Number(next[1]) - c) / c).toBeLessThan(0.002);
    }
  });

  it('answers ticker/24hr with one object for `symbol` and an array for `symbols` or none', async () => {
    const { exchange } = await start();

    const one = (await get(exchange, '/api/v3/ticker/24hr?symbol=BTCUSDT')).body as Record<string, string>;
    const some = (
      await get(exchange, `/api/v3/ticker/24hr?symbols=${encodeURIComponent('["BTCUSDT","SOLUSDT"]')}`)
    ).body as unknown[];
    const all = (await get(exchange, '/api/v3/ticker/24hr')).body as unknown[];

    expect(one.symbol).toBe('BTCUSDT');
    expect(Number(one.bidPrice)).toBeLessThan(Number(one.askPrice));
    expect(Number(one.lastPrice)).toBeGreaterThan(Number(one.bidPrice));
    expect(some).toHaveLength(2);
    expect(all).toHaveLength(4);
  });

  it('answers depth with `limit` levels a side, bids falling and asks rising from the touch', async () => {
    const { exchange } = await start();

    const book = (await get(exchange, '/api/v3/depth?symbol=BTCUSDT&limit=5')).body as {
      bids: string[][];
      asks: string[][];
    };

    expect(book.bids).toHaveLength(5);
    expect(book.asks).toHaveLength(5);
    const bids = book.bids.map((level) => Number(level[0]));
    const asks = book.asks.map((level) => Number(level[0]));
    expect([...bids].sort((x, y) => y - x)).toEqual(bids);
    expect([...asks].sort((x, y) => x - y)).toEqual(asks);
    expect(bids[0]).toBeLessThan(asks[0] as number);
  });

  it('answers bookTicker with the same touch as depth', async () => {
    const { exchange } = await start();

    const ticker = (await get(exchange, '/api/v3/ticker/bookTicker?symbol=ETHUSDT')).body as Record<
      string,
      string
    >;
    const book = (await get(exchange, '/api/v3/depth?symbol=ETHUSDT&limit=1')).body as {
      bids: string[][];
      asks: string[][];
    };

    expect(ticker.bidPrice).toBe(book.bids[0]?.[0]);
    expect(ticker.askPrice).toBe(book.asks[0]?.[0]);
  });
});

describe('Local exchange: refusals in Binance shape', () => {
  it.each([
    ['an unknown symbol', '/api/v3/depth?symbol=DOGEUSDT', -1121, 'Invalid symbol.'],
    [
      'an unknown symbol among several',
      `/api/v3/ticker/24hr?symbols=${encodeURIComponent('["BTCUSDT","XUSDT"]')}`,
      -1121,
      'Invalid symbol.',
    ],
    [
      'a missing symbol',
      '/api/v3/klines?interval=1m',
      -1102,
      "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
    ],
    ['an unknown interval', '/api/v3/klines?symbol=BTCUSDT&interval=7m', -1120, 'Invalid interval.'],
    ['a non-numeric limit', '/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=ten', -1100, undefined],
    ['a limit above 1000', '/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1001', -1100, undefined],
    ['an unknown parameter', '/api/v3/time?foo=1', -1104, undefined],
  ])('refuses %s with HTTP 400 and code %i', async (_what, path, code, msg) => {
    const { exchange } = await start();

    const { status, body } = await get(exchange, path);

    expect(status).toBe(400);
    expect((body as { code: number }).code).toBe(code);
    if (msg !== undefined) expect((body as { msg: string }).msg).toBe(msg);
  });

  it('answers an unknown path 404 and counts it, so a test sees what a client asked for that is not served', async () => {
    const { exchange } = await start();

    const { status } = await get(exchange, '/fapi/v1/exchangeInfo');

    expect(status).toBe(404);
    expect(exchange.requests()).toMatchObject({ 'GET /fapi/v1/exchangeInfo': 1 });
  });
});

describe('Local exchange: scenario knobs', () => {
  const post = async (exchange: LocalExchange, body: unknown) => {
    const response = await fetch(`${exchange.url}/__scenario`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('crashes every price by crash_pct from the moment it is set, leaving earlier candles as they were', async () => {
    // Prepare
    const { exchange, clock } = await start();
    const before = Number(
      ((await get(exchange, '/api/v3/ticker/24hr?symbol=BTCUSDT')).body as Record<string, string>).lastPrice,
    );
    const olderCandles = (await get(exchange, '/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=5'))
      .body as string[][];

    // Act
    const answer = await post(exchange, { crash_pct: 30 });
    const after = Number(
      ((await get(exchange, '/api/v3/ticker/24hr?symbol=BTCUSDT')).body as Record<string, string>).lastPrice,
    );
    clock.advance(60_000);
    const candlesLater = (
      await get(
        exchange,
        `/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=${Number(olderCandles[0]?.[0])}&limit=4`,
      )
    ).body as string[][];

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body.crashes).toEqual([{ at: new Date(NOW).toISOString(), pct: 30 }]);
    expect(after / before).toBeCloseTo(0.7, 3);
    expect(candlesLater.slice(0, 4)).toEqual(olderCandles.slice(0, 4));
  });

  it('answers the next error_5xx_burst market requests 503 (ccxt: ExchangeNotAvailable), then normally again', async () => {
    const { exchange } = await start();
    await post(exchange, { error_5xx_burst: 2 });

    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await get(exchange, '/api/v3/time')).status);

    expect(statuses).toEqual([503, 503, 200]);
  });

  it('holds market requests during a stall and answers them when the (injected) clock passes its end', async () => {
    // Prepare
    const { exchange, clock } = await start();
    await post(exchange, { stall_ms: 10_000 });
    let answered = false;

    // Act
    const pending = get(exchange, '/api/v3/time').then((answer) => {
      answered = true;
      return answer;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const heldWhileStalled = !answered;
    clock.advance(10_000);
    const answer = await pending;

    // Assess
    expect(heldWhileStalled).toBe(true);
    expect(answer.body).toEqual({ serverTime: NOW + 10_000 });
  });

  it('resets to the seeded market', async () => {
    const { exchange } = await start();
    await post(exchange, { crash_pct: 10, error_5xx_burst: 5, stall_ms: 1000 });

    const answer = await post(exchange, { reset: true });

    expect(answer.body).toEqual({ crashes: [], stalled_until: null, error_5xx_remaining: 0 });
  });

  it.each([
    [{ crash_pct: 100 }, 'crash_pct'],
    [{ crash_pct: '10' }, 'crash_pct'],
    [{ stall_ms: -1 }, 'stall_ms'],
    [{ crash: 10 }, 'crash'],
  ])('refuses a bad scenario body %j naming the field', async (body, field) => {
    const { exchange } = await start();

    const answer = await post(exchange, body);

    expect(answer.status).toBe(400);
    expect(String(answer.body.error)).toContain(field);
  });
});
