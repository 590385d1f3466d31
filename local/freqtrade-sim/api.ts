/**
 * Freqtrade's REST API v1 over node:http, with FastAPI's error conventions:
 * - 401 `{"detail": ...}` without valid credentials, 404 `{"detail": "Not Found"}`, 405 for a
 *   known path with the wrong method, 422 `{"detail": [issues]}` for bad query or body;
 * - 502 `{"error": "Error querying <path>: <reason>"}` for every refusal Freqtrade raises as
 *   RPCException (e.g. /forceexit or /count while STOPPED).
 * Plus the simulator's own /sim routes, which scenarios never disturb (tests and benchmarks must
 * always be able to steer a hung simulator back).
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type * as z from 'zod';
import type { ApiAuth, AuthRefusal } from './auth';
import type { BotCommand, PaperBot, RpcResult } from './bot';
import { API_PREFIX, SIM_PREFIX } from './constants';
import type { Logger } from './logger';
import { ORDER_CAPABLE_CALLS, type OrderLogEvent } from './order-log';
import * as rpc from './rpc';
import { type Scenario, type ScenarioControl, ScenarioSchema } from './scenarios';
import { ForceEnterPayloadSchema, ForceExitPayloadSchema, type SimState, TradeSchema } from './schemas';

export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** What the API needs from the running simulator. */
export interface ApiContext {
  bot: PaperBot;
  auth: ApiAuth;
  scenarios: ScenarioControl;
  logger: Logger;
  now: () => number;
  simState: () => SimState;
  setScenario: (scenario: Scenario) => void;
  /** Told of every order-capable call that passed authentication (order-log.ts). */
  onOrderCall?: (event: OrderLogEvent) => void;
}

interface Request {
  path: string;
  authorization: string | undefined;
  query: URLSearchParams;
  body: unknown;
  /** Set when the body was sent but is not JSON. */
  bodyError: boolean;
}

interface Route {
  /** `protected` routes need Basic credentials or a Bearer access token (Freqtrade's `router`). */
  guard: 'public' | 'protected';
  handle: (request: Request, ctx: ApiContext) => Reply;
}

const json = (status: number, body: unknown, headers?: Record<string, string>): Reply => ({
  status,
  body,
  ...(headers ? { headers } : {}),
});

/** FastAPI's 422 body, built from zod issues (`loc` starts with `body`). */
const validationError = (issues: z.core.$ZodIssue[], input: unknown): Reply =>
  json(422, {
    detail: issues.map((issue) => ({
      type: issue.code,
      loc: ['body', ...issue.path.map((part) => (typeof part === 'symbol' ? String(part) : part))],
      msg: issue.message,
      input,
    })),
  });

const invalidJson = (): Reply =>
  json(422, { detail: [{ type: 'json_invalid', loc: ['body', 0], msg: 'JSON decode error', input: {} }] });

/** The request body parsed with `schema`, or FastAPI's 422. */
const parseBody = <T>(
  request: Request,
  schema: z.ZodType<T>,
): { ok: true; value: T } | { ok: false; reply: Reply } => {
  if (request.bodyError) return { ok: false, reply: invalidJson() };
  const parsed = schema.safeParse(request.body);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, reply: validationError(parsed.error.issues, request.body) };
};

const refusal = (outcome: AuthRefusal): Reply =>
  json(
    401,
    { detail: outcome.detail },
    outcome.challenge ? { 'www-authenticate': outcome.challenge } : undefined,
  );

const fromRpc = <T>(result: RpcResult<T>, path: string, ctx: ApiContext): Reply => {
  if (result.ok) return json(200, result.value);
  ctx.logger.log('ERROR', 'freqtrade.rpc.api_server.webserver', `API Error calling: ${result.reason}`);
  return json(502, { error: `Error querying ${path}: ${result.reason}` });
};

/** An integer query parameter with a default and bounds, as FastAPI's `Query(ge=..., le=...)`. */
const intQuery = (
  query: URLSearchParams,
  name: string,
  fallback: number,
  min: number,
  max: number,
): { ok: true; value: number } | { ok: false; reply: Reply } => {
  const raw = query.get(name);
  if (raw === null) return { ok: true, value: fallback };
  const value = Number(raw);
  const issue = (type: string, msg: string): Reply =>
    json(422, { detail: [{ type, loc: ['query', name], msg, input: raw }] });
  if (!/^[+-]?\d+$/.test(raw.trim()) || !Number.isSafeInteger(value)) {
    return {
      ok: false,
      reply: issue('int_parsing', 'Input should be a valid integer, unable to parse string as an integer'),
    };
  }
  if (value < min)
    return {
      ok: false,
      reply: issue('greater_than_equal', `Input should be greater than or equal to ${min}`),
    };
  if (value > max)
    return { ok: false, reply: issue('less_than_equal', `Input should be less than or equal to ${max}`) };
  return { ok: true, value };
};

const command = (name: BotCommand): Route => ({
  guard: 'protected',
  handle: (_request, ctx) => json(200, ctx.bot.command(name)),
});

/** /stopentry: the 2024 era's max_open_trades = 0, an alias of /pause since 2025.4. */
const stopEntry: Route = {
  guard: 'protected',
  handle: (_request, ctx) =>
    json(200, ctx.bot.config.sim.era === '2024' ? ctx.bot.stopEntries() : ctx.bot.command('pause')),
};

/** Routes a Freqtrade of the 2024 era does not have (404 as FastAPI answers any unknown path). */
const ABSENT_IN_2024 = new Set(['POST /api/v1/pause']);

const timeunit = (unit: rpc.TimeUnit, fallback: number): Route => ({
  guard: 'protected',
  handle: (request, ctx) => {
    // The upper bound is the simulator's own: it keeps one request from looping for minutes.
    const timescale = intQuery(request.query, 'timescale', fallback, 1, 10_000);
    if (!timescale.ok) return timescale.reply;
    return json(200, rpc.timeunitProfit(ctx.bot, timescale.value, unit, ctx.now()));
  },
});

const forceExit: Route = {
  guard: 'protected',
  handle: (request, ctx) => {
    const payload = parseBody(request, ForceExitPayloadSchema);
    if (!payload.ok) return payload.reply;
    return fromRpc(
      ctx.bot.forceExit(String(payload.value.tradeid), payload.value.ordertype),
      request.path,
      ctx,
    );
  },
};

const forceEnter: Route = {
  guard: 'protected',
  handle: (request, ctx) => {
    const payload = parseBody(request, ForceEnterPayloadSchema);
    if (!payload.ok) return payload.reply;
    const result = ctx.bot.forceEnter(payload.value);
    return fromRpc(
      result.ok ? { ok: true, value: TradeSchema.parse(result.value.toJson()) } : result,
      request.path,
      ctx,
    );
  },
};

const ROUTES: Readonly<Record<string, Route>> = {
  'GET /ping': { guard: 'public', handle: () => json(200, { status: 'pong' }) },
  // The token routes check credentials themselves (Freqtrade's `router_login`).
  'POST /token/login': {
    guard: 'public',
    handle: (request, ctx) => {
      const tokens = ctx.auth.login(request.authorization);
      return tokens.ok ? json(200, tokens.value) : refusal(tokens);
    },
  },
  'POST /token/refresh': {
    guard: 'public',
    handle: (request, ctx) => {
      const token = ctx.auth.refresh(request.authorization);
      return token.ok ? json(200, token.value) : refusal(token);
    },
  },
  'GET /version': {
    guard: 'protected',
    handle: (_r, ctx) => json(200, { version: ctx.bot.config.sim.version }),
  },
  'GET /show_config': {
    guard: 'protected',
    handle: (_r, ctx) => json(200, rpc.showConfig(ctx.bot, ctx.bot.state)),
  },
  'GET /health': { guard: 'protected', handle: (_r, ctx) => json(200, rpc.health(ctx.bot)) },
  'GET /profit': { guard: 'protected', handle: (_r, ctx) => json(200, rpc.profit(ctx.bot, ctx.now())) },
  'GET /status': { guard: 'protected', handle: (_r, ctx) => json(200, rpc.status(ctx.bot)) },
  'GET /balance': { guard: 'protected', handle: (_r, ctx) => json(200, rpc.balance(ctx.bot)) },
  'GET /count': {
    guard: 'protected',
    handle: (request, ctx) => fromRpc(rpc.count(ctx.bot), request.path, ctx),
  },
  'GET /daily': timeunit('days', 7),
  'GET /weekly': timeunit('weeks', 4),
  'GET /monthly': timeunit('months', 3),
  'GET /trades': {
    guard: 'protected',
    handle: (request, ctx) => {
      const limit = intQuery(request.query, 'limit', 500, 1, 1000);
      if (!limit.ok) return limit.reply;
      const offset = intQuery(request.query, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
      if (!offset.ok) return offset.reply;
      const orderById = request.query.get('order_by_id') !== 'false';
      return json(200, rpc.tradeHistory(ctx.bot, limit.value, offset.value, orderById));
    },
  },
  'GET /whitelist': { guard: 'protected', handle: (_r, ctx) => json(200, rpc.whitelist(ctx.bot)) },
  'GET /locks': { guard: 'protected', handle: () => json(200, rpc.locks()) },
  'POST /start': command('start'),
  'POST /stop': command('stop'),
  'POST /pause': command('pause'),
  // Aliases kept by Freqtrade since /pause replaced them (2025.4); before that they set max_open_trades to 0.
  'POST /stopentry': stopEntry,
  'POST /stopbuy': stopEntry,
  'POST /reload_config': command('reload_config'),
  'POST /forceexit': forceExit,
  'POST /forcesell': forceExit,
  'POST /forceenter': forceEnter,
  'POST /forcebuy': forceEnter,
};

const TRADE_BY_ID = /^\/trade\/(\d+)$/;

const tradeRoute: Route = {
  guard: 'protected',
  handle: (request, ctx) => {
    const id = Number(TRADE_BY_ID.exec(request.path.slice(API_PREFIX.length))?.[1]);
    const trade = rpc.tradeById(ctx.bot, id);
    return trade ? json(200, trade) : json(404, { detail: 'Trade not found.' });
  },
};

const SIM_ROUTES: Readonly<Record<string, Route>> = {
  'GET /state': { guard: 'protected', handle: (_r, ctx) => json(200, ctx.simState()) },
  'POST /scenario': {
    guard: 'protected',
    handle: (request, ctx) => {
      const scenario = parseBody(request, ScenarioSchema);
      if (!scenario.ok) return scenario.reply;
      ctx.setScenario(scenario.value);
      return json(200, { scenario: scenario.value, activated_at: ctx.scenarios.activatedAt });
    },
  },
};

/** The route for a method and path, or the reason there is none (404, or 405 for a known path). */
const resolve = (method: string, path: string): Route | 404 | 405 => {
  const [prefix, table] = path.startsWith(`${SIM_PREFIX}/`) ? [SIM_PREFIX, SIM_ROUTES] : [API_PREFIX, ROUTES];
  if (!path.startsWith(`${prefix}/`)) return 404;
  const local = path.slice(prefix.length);
  if (prefix === API_PREFIX && TRADE_BY_ID.test(local)) return method === 'GET' ? tradeRoute : 405;
  const route = table[`${method} ${local}`];
  if (route) return route;
  return Object.keys(table).some((key) => key.endsWith(` ${local}`)) ? 405 : 404;
};

const dispatch = (method: string, request: Request, ctx: ApiContext): Reply => {
  if (ctx.bot.config.sim.era === '2024' && ABSENT_IN_2024.has(`${method} ${request.path}`)) {
    return json(404, { detail: 'Not Found' });
  }
  const route = resolve(method, request.path);
  if (route === 404) return json(404, { detail: 'Not Found' });
  if (route === 405) return json(405, { detail: 'Method Not Allowed' });
  if (route.guard === 'public') return route.handle(request, ctx);
  // Credentials are checked before the body, as FastAPI resolves the auth dependency first.
  const user = ctx.auth.authenticate(request.authorization);
  if (!user.ok) return refusal(user);
  const orderCall = method === 'POST' ? ORDER_CAPABLE_CALLS[request.path] : undefined;
  if (orderCall !== undefined) ctx.onOrderCall?.(orderCall);
  return route.handle(request, ctx);
};

const MAX_BODY_BYTES = 1_000_000;

const readBody = (req: IncomingMessage): Promise<{ body: unknown; bodyError: boolean }> =>
  new Promise((resolveBody) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolveBody({ body: undefined, bodyError: false });
      if (size > MAX_BODY_BYTES) return resolveBody({ body: undefined, bodyError: true });
      try {
        resolveBody({ body: JSON.parse(text), bodyError: false });
      } catch {
        resolveBody({ body: text, bodyError: true });
      }
    });
    req.on('error', () => resolveBody({ body: undefined, bodyError: true }));
  });

const send = (res: ServerResponse, reply: Reply): void => {
  if (res.writableEnded || res.destroyed) return;
  // JSON.stringify writes NaN and infinities as null, as Freqtrade does.
  const payload = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'content-type': typeof reply.body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    'content-length': Buffer.byteLength(payload),
    ...reply.headers,
  });
  res.end(payload);
};

export interface ApiServer {
  readonly server: Server;
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the API on `host:port` (the caller guarantees loopback); resolves once it listens. */
export const startApiServer = (ctx: ApiContext, host: string, port: number): Promise<ApiServer> => {
  const pendingDelays = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const path = url.pathname;
      const { body, bodyError } = await readBody(req);
      const request: Request = {
        path,
        authorization: req.headers.authorization,
        query: url.searchParams,
        body,
        bodyError,
      };
      const method = (req.method ?? 'GET').toUpperCase();
      const answer = (): void => {
        try {
          send(res, dispatch(method, request, ctx));
        } catch (error) {
          // A fault in the simulator itself: a generic 500, the detail in the log only.
          const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
          ctx.logger.log(
            'ERROR',
            'freqtrade.rpc.api_server.webserver',
            `Exception in ASGI application: ${detail}`,
          );
          send(res, { status: 500, body: 'Internal Server Error' });
        }
      };
      if (!path.startsWith(`${API_PREFIX}/`)) return answer();
      const effect = ctx.scenarios.apiEffect();
      switch (effect.kind) {
        case 'hang':
          // Accept and never answer; close() destroys the socket.
          return;
        case 'error':
          return send(
            res,
            effect.status === 500
              ? { status: 500, body: 'Internal Server Error' }
              : json(503, { detail: 'Service Unavailable' }),
          );
        case 'delay': {
          const timer = setTimeout(() => {
            pendingDelays.delete(timer);
            answer();
          }, effect.ms);
          pendingDelays.add(timer);
          return;
        }
        case 'normal':
          return answer();
      }
    })();
  });
  // Keep-alive sockets must not hold the process open past close().
  server.keepAliveTimeout = 5_000;
  return new Promise((resolveServer, rejectServer) => {
    server.once('error', rejectServer);
    server.listen(port, host, () => {
      server.off('error', rejectServer);
      const address = server.address() as AddressInfo;
      resolveServer({
        server,
        port: address.port,
        close: () =>
          new Promise<void>((resolveClose) => {
            for (const timer of pendingDelays) clearTimeout(timer);
            pendingDelays.clear();
            server.close(() => resolveClose());
            // Hung requests and idle keep-alive connections would otherwise keep close() waiting.
            server.closeAllConnections();
          }),
      });
    });
  });
};
