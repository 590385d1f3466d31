/**
 * The local exchange: the subset of Binance spot's public REST API that ccxt 4.5 (binance.py) and
 * Freqtrade 2026.9 (freqtrade/exchange/exchange.py, binance.py) call in dry-run, over node:http on
 * 127.0.0.1, answering from a SeededMarket. What they call, and why, is listed in README.md.
 *
 * Freqtrade reaches it through `exchange.ccxt_config.urls.api` (see `ccxtConfigFor`). Scenario knobs
 * are turned at run time over `POST /__scenario`; `GET /__requests` tells a test what was asked.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type * as z from 'zod';
import { type Clock, systemClock } from '../../shared/domain/clock';
import {
  BINANCE_ERRORS,
  CONTROL_PREFIX,
  DEPTH_DEFAULT_LIMIT,
  type Interval,
  KLINES_DEFAULT_LIMIT,
  type SymbolSpec,
} from './constants';
import { formatNumber, SeededMarket } from './market';
import {
  DepthQuerySchema,
  EmptyQuerySchema,
  ExchangeInfoQuerySchema,
  KlinesQuerySchema,
  type ScenarioInput,
  ScenarioInputSchema,
  type ScenarioState,
  TickerQuerySchema,
} from './schemas';

export interface LocalExchangeOptions {
  /** 0 (the default) takes any free port. */
  port?: number;
  host?: string;
  seed?: number;
  symbols?: readonly SymbolSpec[];
  clock?: Clock;
  /** How often a stalled request checks whether the stall is over (real time). */
  stallPollMs?: number;
}

export interface LocalExchange {
  /** e.g. `http://127.0.0.1:40123` */
  url: string;
  port: number;
  market: SeededMarket;
  scenario(): ScenarioState;
  setScenario(input: ScenarioInput): ScenarioState;
  /** Requests served so far, by `METHOD /path` (unknown paths included, so a test sees what was missed). */
  requests(): Record<string, number>;
  /** The `METHOD /path` routes it serves. */
  servedRoutes: readonly string[];
  close(): Promise<void>;
}

/** A refusal in Binance's shape: HTTP 400 `{"code": -1121, "msg": "Invalid symbol."}`. */
class BinanceError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'BinanceError';
  }
}

const invalidSymbol = () => new BinanceError(400, BINANCE_ERRORS.badSymbol, 'Invalid symbol.');

/** Turns a zod refusal of a query into the error Binance sends for that kind of mistake. */
const binanceErrorOf = (error: z.ZodError, query: Record<string, string>): BinanceError => {
  const issue = error.issues[0];
  const field = String(issue?.path[0] ?? '');
  if (issue?.code === 'unrecognized_keys') {
    const sent = Object.keys(query).length;
    return new BinanceError(
      400,
      -1104,
      `Not all sent parameters were read; read '${sent - issue.keys.length}' parameter(s) but was sent '${sent}'.`,
    );
  }
  if (query[field] === undefined || query[field] === '') {
    return new BinanceError(
      400,
      BINANCE_ERRORS.mandatoryParam,
      `Mandatory parameter '${field}' was not sent, was empty/null, or malformed.`,
    );
  }
  if (field === 'interval') return new BinanceError(400, BINANCE_ERRORS.badInterval, 'Invalid interval.');
  if (field === 'symbols' || field === 'symbol') return invalidSymbol();
  return new BinanceError(
    400,
    BINANCE_ERRORS.illegalChars,
    `Illegal characters found in parameter '${field}'; legal range is '${issue?.message ?? ''}'.`,
  );
};

const parseQuery = <S extends z.ZodType>(schema: S, query: Record<string, string>): z.output<S> => {
  const parsed = schema.safeParse(query);
  if (!parsed.success) throw binanceErrorOf(parsed.error, query);
  return parsed.data;
};

type Route = (query: Record<string, string>, now: number) => unknown;

export const startLocalExchange = async (options: LocalExchangeOptions = {}): Promise<LocalExchange> => {
  const clock = options.clock ?? systemClock;
  const market = new SeededMarket({
    seed: options.seed ?? 7,
    ...(options.symbols === undefined ? {} : { symbols: options.symbols }),
  });
  const stallPollMs = options.stallPollMs ?? 50;
  let stalledUntil: number | null = null;
  let errorsRemaining = 0;
  const counts: Record<string, number> = {};

  const specOf = (symbol: string): SymbolSpec => {
    const spec = market.spec(symbol);
    if (spec === undefined) throw invalidSymbol();
    return spec;
  };
  /** One symbol, a list, or every listed symbol; any unknown one refuses the whole request, as Binance does. */
  const selected = (query: { symbol?: string | undefined; symbols?: string[] | undefined }) => {
    if (query.symbol !== undefined) return { single: true, specs: [specOf(query.symbol)] };
    if (query.symbols !== undefined) return { single: false, specs: query.symbols.map(specOf) };
    return { single: false, specs: [...market.symbols.values()] };
  };

  const symbolInfo = (spec: SymbolSpec) => ({
    symbol: spec.symbol,
    status: 'TRADING',
    baseAsset: spec.baseAsset,
    baseAssetPrecision: 8,
    quoteAsset: spec.quoteAsset,
    quotePrecision: 8,
    quoteAssetPrecision: 8,
    baseCommissionPrecision: 8,
    quoteCommissionPrecision: 8,
    orderTypes: ['LIMIT', 'LIMIT_MAKER', 'MARKET', 'STOP_LOSS_LIMIT', 'TAKE_PROFIT_LIMIT'],
    icebergAllowed: true,
    ocoAllowed: true,
    otoAllowed: true,
    quoteOrderQtyMarketAllowed: true,
    allowTrailingStop: true,
    cancelReplaceAllowed: true,
    isSpotTradingAllowed: true,
    isMarginTradingAllowed: false,
    filters: [
      {
        filterType: 'PRICE_FILTER',
        minPrice: formatNumber(spec.tickSize),
        maxPrice: formatNumber(1_000_000),
        tickSize: formatNumber(spec.tickSize),
      },
      {
        filterType: 'LOT_SIZE',
        minQty: formatNumber(spec.stepSize),
        maxQty: formatNumber(9_000),
        stepSize: formatNumber(spec.stepSize),
      },
      {
        filterType: 'NOTIONAL',
        minNotional: formatNumber(spec.minNotional),
        applyMinToMarket: true,
        maxNotional: formatNumber(9_000_000),
        applyMaxToMarket: false,
        avgPriceMins: 5,
      },
      {
        filterType: 'MARKET_LOT_SIZE',
        minQty: formatNumber(0),
        maxQty: formatNumber(100),
        stepSize: formatNumber(0),
      },
    ],
    permissions: [],
    permissionSets: [['SPOT']],
    defaultSelfTradePreventionMode: 'EXPIRE_MAKER',
    allowedSelfTradePreventionModes: ['EXPIRE_TAKER', 'EXPIRE_MAKER', 'EXPIRE_BOTH'],
  });

  const ticker24h = (spec: SymbolSpec, now: number) => {
    const stats = market.stats24h(spec.symbol, now);
    const change = stats.last - stats.open;
    return {
      symbol: spec.symbol,
      priceChange: formatNumber(change),
      priceChangePercent: ((change / stats.open) * 100).toFixed(3),
      weightedAvgPrice: formatNumber((stats.high + stats.low + stats.last) / 3),
      prevClosePrice: formatNumber(stats.open),
      lastPrice: formatNumber(stats.last),
      lastQty: formatNumber(spec.stepSize * 10),
      bidPrice: formatNumber(market.bid(spec.symbol, now)),
      bidQty: formatNumber(spec.qtyScale),
      askPrice: formatNumber(market.ask(spec.symbol, now)),
      askQty: formatNumber(spec.qtyScale),
      openPrice: formatNumber(stats.open),
      highPrice: formatNumber(stats.high),
      lowPrice: formatNumber(stats.low),
      volume: formatNumber(stats.volume),
      quoteVolume: formatNumber(stats.volume * stats.last),
      openTime: stats.openTime,
      closeTime: stats.closeTime,
      firstId: 1,
      lastId: 1_000,
      count: 1_000,
    };
  };

  const bookTicker = (spec: SymbolSpec, now: number) => ({
    symbol: spec.symbol,
    bidPrice: formatNumber(market.bid(spec.symbol, now)),
    bidQty: formatNumber(spec.qtyScale),
    askPrice: formatNumber(market.ask(spec.symbol, now)),
    askQty: formatNumber(spec.qtyScale),
  });

  const routes: Record<string, Route> = {
    // ccxt publicGetPing: not called by Freqtrade, but the first thing anyone checks by hand.
    'GET /api/v3/ping': (query) => {
      parseQuery(EmptyQuerySchema, query);
      return {};
    },
    // ccxt fetch_time (publicGetTime): Freqtrade's check_time_offset at start in trade mode.
    'GET /api/v3/time': (query, now) => {
      parseQuery(EmptyQuerySchema, query);
      return { serverTime: now };
    },
    // ccxt fetch_markets (publicGetExchangeInfo) from load_markets: Freqtrade's reload_markets.
    'GET /api/v3/exchangeInfo': (query, now) => {
      const parsed = parseQuery(ExchangeInfoQuerySchema, query);
      return {
        timezone: 'UTC',
        serverTime: now,
        rateLimits: [
          { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 6000 },
          { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 100 },
          { rateLimitType: 'RAW_REQUESTS', interval: 'MINUTE', intervalNum: 5, limit: 61_000 },
        ],
        exchangeFilters: [],
        symbols: selected(parsed).specs.map(symbolInfo),
      };
    },
    // ccxt fetch_ohlcv (publicGetKlines): Freqtrade's refresh_latest_ohlcv, download-data.
    'GET /api/v3/klines': (query, now) => {
      const parsed = parseQuery(KlinesQuerySchema, query);
      const spec = specOf(parsed.symbol);
      const candles = market.klines(
        spec.symbol,
        parsed.interval as Interval,
        {
          ...(parsed.startTime === undefined ? {} : { startTime: parsed.startTime }),
          ...(parsed.endTime === undefined ? {} : { endTime: parsed.endTime }),
          limit: parsed.limit ?? KLINES_DEFAULT_LIMIT,
        },
        now,
      );
      return candles.map((c) => [
        c.openTime,
        formatNumber(c.open),
        formatNumber(c.high),
        formatNumber(c.low),
        formatNumber(c.close),
        formatNumber(c.volume),
        c.closeTime,
        formatNumber(c.volume * c.close),
        c.trades,
        formatNumber(c.volume / 2),
        formatNumber((c.volume / 2) * c.close),
        '0',
      ]);
    },
    // ccxt fetch_ticker / fetch_tickers (publicGetTicker24hr): Freqtrade's get_rate from the ticker,
    // get_tickers for /balance and pairlists.
    'GET /api/v3/ticker/24hr': (query, now) => {
      const parsed = parseQuery(TickerQuerySchema, query);
      const { single, specs } = selected(parsed);
      const tickers = specs.map((spec) => ticker24h(spec, now));
      return single ? tickers[0] : tickers;
    },
    // ccxt fetch_bids_asks (publicGetTickerBookTicker): Freqtrade calls it for futures; listed by the brief.
    'GET /api/v3/ticker/bookTicker': (query, now) => {
      const parsed = parseQuery(TickerQuerySchema, query);
      const { single, specs } = selected(parsed);
      const books = specs.map((spec) => bookTicker(spec, now));
      return single ? books[0] : books;
    },
    // ccxt fetch_order_book / fetch_l2_order_book (publicGetDepth): Freqtrade's dry-run fills
    // (create_dry_run_order, check_dry_limit_order_filled) and order-book pricing.
    'GET /api/v3/depth': (query, now) => {
      const parsed = parseQuery(DepthQuerySchema, query);
      const spec = specOf(parsed.symbol);
      const book = market.depth(spec.symbol, parsed.limit ?? DEPTH_DEFAULT_LIMIT, now);
      return {
        lastUpdateId: Math.floor(now / 100),
        bids: book.bids.map(([price, qty]) => [formatNumber(price), formatNumber(qty)]),
        asks: book.asks.map(([price, qty]) => [formatNumber(price), formatNumber(qty)]),
      };
    },
  };

  const scenario = (): ScenarioState => ({
    crashes: market.crashes.map((crash) => ({
      at: new Date(crash.at).toISOString(),
      pct: Number(((1 - crash.factor) * 100).toFixed(6)),
    })),
    stalled_until:
      stalledUntil !== null && stalledUntil > clock.now() ? new Date(stalledUntil).toISOString() : null,
    error_5xx_remaining: errorsRemaining,
  });

  const setScenario = (input: ScenarioInput): ScenarioState => {
    const now = clock.now();
    if (input.reset === true) {
      market.clearCrashes();
      stalledUntil = null;
      errorsRemaining = 0;
    }
    if (input.crash_pct !== undefined) market.crash(input.crash_pct, now);
    if (input.stall_ms !== undefined) stalledUntil = input.stall_ms === 0 ? null : now + input.stall_ms;
    if (input.error_5xx_burst !== undefined) errorsRemaining = input.error_5xx_burst;
    return scenario();
  };

  const send = (response: ServerResponse, status: number, body: unknown) => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    response.writeHead(status, {
      'content-type': typeof body === 'string' ? 'text/plain' : 'application/json;charset=UTF-8',
      'content-length': Buffer.byteLength(text),
    });
    response.end(text);
  };

  const readBody = async (request: IncomingMessage): Promise<string> => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request) {
      size += (chunk as Buffer).length;
      if (size > 16_384) throw new BinanceError(413, -1100, 'Request body too large.');
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  };

  const handleControl = async (request: IncomingMessage, response: ServerResponse, path: string) => {
    if (path === '/__scenario' && request.method === 'GET') return send(response, 200, scenario());
    if (path === '/__requests' && request.method === 'GET') return send(response, 200, { ...counts });
    if (path === '/__scenario' && request.method === 'POST') {
      let json: unknown;
      try {
        json = JSON.parse(await readBody(request));
      } catch {
        return send(response, 400, { error: 'body must be JSON' });
      }
      const parsed = ScenarioInputSchema.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        return send(response, 400, {
          error: `${issue?.path.join('.') || (issue?.code === 'unrecognized_keys' ? issue.keys.join(',') : '(body)')}: ${issue?.message ?? 'invalid'}`,
        });
      }
      return send(response, 200, setScenario(parsed.data));
    }
    return send(response, 404, { error: `no control route ${request.method} ${path}` });
  };

  /** A stalled request waits (polling the injected clock) until the stall ends or is lifted. */
  const waitOutStall = async () => {
    while (stalledUntil !== null && clock.now() < stalledUntil) {
      await new Promise((resolve) => setTimeout(resolve, stallPollMs));
    }
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://local');
    const key = `${request.method} ${url.pathname}`;
    if (url.pathname.startsWith(CONTROL_PREFIX)) return handleControl(request, response, url.pathname);
    counts[key] = (counts[key] ?? 0) + 1;
    const route = routes[key];
    if (route === undefined) {
      // Binance answers unknown paths with 404 and an HTML page; ccxt turns that into BadRequest/NotSupported.
      return send(response, 404, `<html><body><h1>404 Not Found</h1><p>${url.pathname}</p></body></html>`);
    }
    await waitOutStall();
    if (errorsRemaining > 0) {
      errorsRemaining -= 1;
      // As a load balancer in front of Binance sends it: ccxt maps 503 to ExchangeNotAvailable (retried).
      return send(response, 503, 'Service Unavailable');
    }
    const query = Object.fromEntries(url.searchParams.entries());
    try {
      return send(response, 200, route(query, clock.now()));
    } catch (error) {
      if (error instanceof BinanceError)
        return send(response, error.status, { code: error.code, msg: error.message });
      throw error;
    }
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) send(response, 500, { code: -1000, msg: String(error) });
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host ?? '127.0.0.1';

  return {
    url: `http://${host}:${port}`,
    port,
    market,
    scenario,
    setScenario,
    requests: () => ({ ...counts }),
    servedRoutes: Object.keys(routes),
    close: () =>
      new Promise<void>((resolve) => {
        stalledUntil = null;
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};

/**
 * What Freqtrade's `exchange.ccxt_config` needs to reach the local exchange and stay on Binance spot:
 * the spot API urls pointed here, markets loaded for spot only (no fapi/dapi exchangeInfo), and no
 * calls that need API keys (currencies, margin pairs). Used for both ccxt_config and ccxt_async_config.
 */
export const ccxtConfigFor = (baseUrl: string) => ({
  urls: {
    api: {
      public: `${baseUrl}/api/v3`,
      private: `${baseUrl}/api/v3`,
      v1: `${baseUrl}/api/v1`,
      sapi: `${baseUrl}/sapi/v1`,
    },
  },
  options: {
    defaultType: 'spot',
    fetchMarkets: { types: ['spot'] },
    fetchMargins: false,
    fetchCurrencies: false,
    adjustForTimeDifference: false,
  },
});
