import type * as z from 'zod';
import { eraOfVersion, type FreqtradeEra } from '../control';
import { type HttpFetch, nodeHttpFetch } from '../http';
import {
  AccessTokenSchema,
  type Balance,
  BalanceSchema,
  type Count,
  CountSchema,
  type Daily,
  DailySchema,
  type FreqtradeOpenTrade,
  type Health,
  HealthSchema,
  LoginTokensSchema,
  PingSchema,
  type Profit,
  ProfitSchema,
  ResultMsgSchema,
  RpcErrorSchema,
  type ShowConfig,
  ShowConfigSchema,
  StatusMsgSchema,
  StatusSchema,
  type TradeHistory,
  TradeHistorySchema,
} from './schemas';

/**
 * Why a call gave no data. `refused` is Freqtrade's HTTP 502 `{"error": ...}` (an RPCException, e.g.
 * "trader is not running" or "Error getting current tickers"); `http` any other non-2xx. Both are
 * monitoring failures for the poll, like `shape` (an answer we could not parse): never a crash.
 * `unconfirmed`: the command was accepted but Freqtrade's own state did not show its effect in time.
 */
export type FailureKind =
  | 'unreachable'
  | 'timeout'
  | 'auth'
  | 'not_found'
  | 'refused'
  | 'http'
  | 'shape'
  | 'unconfirmed';
export interface CallFailure {
  kind: FailureKind;
  status?: number;
  message: string;
}
export type CallResult<T> = { ok: true; value: T } | { ok: false; failure: CallFailure };

export interface FreqtradeEndpoint {
  /** e.g. `http://127.0.0.1:8080` (the `/api/v1` prefix is added here). */
  url: string;
  username: string;
  password: string;
  auth: 'jwt' | 'basic';
}

export interface FreqtradeClientOptions {
  fetch?: HttpFetch;
  timeoutMs?: number;
  /**
   * How a resume on a /stopentry-era Freqtrade waits for /reload_config to take effect: at most
   * `attempts` reads of /show_config, `intervalMs` apart (default 20 × 250 ms).
   */
  reloadConfirm?: { attempts: number; intervalMs: number };
  /** Waits between those reads (injectable; default setTimeout). */
  sleep?: (ms: number) => Promise<void>;
}

const sleepFor = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

export type BotControl = 'start' | 'stop' | 'pause';

/** Freqtrade REST API v1 with JWT (login, refresh on 401, re-login when refresh fails) or Basic auth. */
export class FreqtradeClient {
  readonly #endpoint: FreqtradeEndpoint;
  readonly #fetch: HttpFetch;
  readonly #timeoutMs: number;
  readonly #reloadConfirm: { attempts: number; intervalMs: number };
  readonly #sleep: (ms: number) => Promise<void>;
  #access: string | undefined;
  #refresh: string | undefined;
  /** The version the latest /show_config reported: it tells how this Freqtrade pauses and resumes. */
  #version: string | undefined;
  /** A /reload_config that left max_open_trades at 0 (the config file says 0): not repeated every poll. */
  #reloadLeftEntriesOff = false;
  /** Freqtrade before 2025.4 has no /pause; /stopentry (older: /stopbuy) stops new entries instead. */
  #pauseRoute: '/pause' | '/stopentry' | '/stopbuy' = '/pause';

  constructor(endpoint: FreqtradeEndpoint, options: FreqtradeClientOptions = {}) {
    this.#endpoint = { ...endpoint, url: endpoint.url.replace(/\/+$/, '') };
    this.#fetch = options.fetch ?? nodeHttpFetch;
    this.#timeoutMs = options.timeoutMs ?? 3000;
    this.#reloadConfirm = options.reloadConfirm ?? { attempts: 20, intervalMs: 250 };
    this.#sleep = options.sleep ?? sleepFor;
  }

  get url(): string {
    return this.#endpoint.url;
  }

  /** True once /pause was missing and entries are stopped by /stopentry: the state then stays `running`. */
  get pausesByStopEntry(): boolean {
    return this.#pauseRoute !== '/pause';
  }

  /** From the version Freqtrade reported, else from a /pause that was missing; `unknown` before either. */
  get era(): FreqtradeEra {
    const byVersion = eraOfVersion(this.#version);
    if (byVersion !== 'unknown') return byVersion;
    return this.pausesByStopEntry ? 'stopentry' : 'unknown';
  }

  ping = () => this.#call('GET', '/ping', PingSchema, { auth: false });
  showConfig = async (): Promise<CallResult<ShowConfig>> => {
    const result = await this.#call('GET', '/show_config', ShowConfigSchema);
    if (result.ok && result.value.version !== undefined) this.#version = result.value.version;
    return result;
  };
  health = (): Promise<CallResult<Health>> => this.#call('GET', '/health', HealthSchema);
  profit = (): Promise<CallResult<Profit>> => this.#call('GET', '/profit', ProfitSchema);
  status = (): Promise<CallResult<FreqtradeOpenTrade[]>> => this.#call('GET', '/status', StatusSchema);
  balance = (): Promise<CallResult<Balance>> => this.#call('GET', '/balance', BalanceSchema);
  count = (): Promise<CallResult<Count>> => this.#call('GET', '/count', CountSchema);
  daily = (): Promise<CallResult<Daily>> => this.#call('GET', '/daily?timescale=1', DailySchema);
  /** The latest closed trades (up to 500, by close time): what the bot closed since a report was taken. */
  recentClosedTrades = (): Promise<CallResult<TradeHistory>> =>
    this.#call('GET', '/trades?limit=500&order_by_id=false', TradeHistorySchema);

  async control(action: BotControl): Promise<CallResult<{ status: string }>> {
    if (action === 'start' && this.era === 'stopentry') return this.#resumeEntriesByReload();
    if (action !== 'pause') return this.#call('POST', `/${action}`, StatusMsgSchema);
    // A Freqtrade known to predate /pause is not probed with a 404 first.
    if (this.era === 'stopentry' && this.#pauseRoute === '/pause') this.#pauseRoute = '/stopentry';
    for (;;) {
      const result = await this.#call('POST', this.#pauseRoute, StatusMsgSchema);
      if (result.ok || result.failure.kind !== 'not_found') return result;
      if (this.#pauseRoute === '/pause') this.#pauseRoute = '/stopentry';
      else if (this.#pauseRoute === '/stopentry') this.#pauseRoute = '/stopbuy';
      else return result;
    }
  }

  /**
   * Resume on Freqtrade before 2025.4: /stopentry set max_open_trades to 0 in the running config and
   * /start answers "already running", so only /reload_config (the config file's max_open_trades and
   * initial_state) turns entries back on. Confirmed by /show_config: running with max_open_trades not 0;
   * a reload that lands in `stopped` (the file's initial_state) is started. Bounded; else `unconfirmed`.
   */
  async #resumeEntriesByReload(): Promise<CallResult<{ status: string }>> {
    const before = await this.showConfig();
    // Without knowing whether entries are off, a /reload_config (a restart of the bot) is not sent blindly.
    if (!before.ok) return before;
    if (before.value.max_open_trades !== 0) {
      return this.#call('POST', '/start', StatusMsgSchema);
    }
    if (this.#reloadLeftEntriesOff) {
      return {
        ok: false,
        failure: {
          kind: 'unconfirmed',
          message: 'a /reload_config already left max_open_trades at 0: the config file allows no entries',
        },
      };
    }
    const reload = await this.#call('POST', '/reload_config', StatusMsgSchema);
    if (!reload.ok) return reload;
    const { attempts, intervalMs } = this.#reloadConfirm;
    for (let attempt = 0; attempt < attempts; attempt += 1) {
      await this.#sleep(intervalMs);
      // While Freqtrade reloads, its API may be away for a moment: a failed read is not the answer.
      const now = await this.showConfig();
      if (!now.ok) continue;
      const state = now.value.state.toLowerCase();
      if (state === 'stopped') {
        const started = await this.#call('POST', '/start', StatusMsgSchema);
        if (!started.ok) return started;
      } else if (state === 'running' && now.value.max_open_trades === 0) {
        this.#reloadLeftEntriesOff = true;
      } else if (state === 'running' && now.value.max_open_trades !== 0) {
        return {
          ok: true,
          value: {
            status: `entries back on after /reload_config (max_open_trades ${now.value.max_open_trades})`,
          },
        };
      }
    }
    return {
      ok: false,
      failure: {
        kind: 'unconfirmed',
        message: `POST /reload_config: entries not back on (running, max_open_trades > 0) after ${attempts} checks`,
      },
    };
  }

  /** Closes every open trade at market (`forceexit` with `tradeid: "all"`; `/forcesell` before 2022). */
  async forceExitAll(): Promise<CallResult<{ result: string }>> {
    const result = await this.#call('POST', '/forceexit', ResultMsgSchema, { body: { tradeid: 'all' } });
    if (!result.ok && result.failure.kind === 'not_found') {
      return this.#call('POST', '/forcesell', ResultMsgSchema, { body: { tradeid: 'all' } });
    }
    return result;
  }

  #loginInFlight: Promise<CallFailure | undefined> | undefined;

  /** Single flight: the parallel calls of one poll share one login. */
  #login(): Promise<CallFailure | undefined> {
    this.#loginInFlight ??= this.#doLogin().finally(() => {
      this.#loginInFlight = undefined;
    });
    return this.#loginInFlight;
  }

  async #doLogin(): Promise<CallFailure | undefined> {
    const result = await this.#request('POST', '/token/login', LoginTokensSchema, this.#basicHeader());
    if (!result.ok) return result.failure;
    this.#access = result.value.access_token;
    this.#refresh = result.value.refresh_token;
    return undefined;
  }

  async #refreshAccess(): Promise<boolean> {
    if (this.#refresh === undefined) return false;
    const result = await this.#request(
      'POST',
      '/token/refresh',
      AccessTokenSchema,
      `Bearer ${this.#refresh}`,
    );
    if (!result.ok) return false;
    this.#access = result.value.access_token;
    return true;
  }

  #basicHeader(): string {
    return `Basic ${Buffer.from(`${this.#endpoint.username}:${this.#endpoint.password}`).toString('base64')}`;
  }

  async #call<S extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    schema: S,
    options: { auth?: boolean; body?: unknown } = {},
  ): Promise<CallResult<z.output<S>>> {
    if (options.auth === false) return this.#request(method, path, schema, undefined, options.body);
    if (this.#endpoint.auth === 'basic')
      return this.#request(method, path, schema, this.#basicHeader(), options.body);
    if (this.#access === undefined) {
      const failure = await this.#login();
      if (failure !== undefined) return { ok: false, failure };
    }
    const first = await this.#request(method, path, schema, `Bearer ${this.#access}`, options.body);
    if (first.ok || first.failure.kind !== 'auth') return first;
    // Access tokens live 15 minutes; refresh tokens 30 days. A restarted Freqtrade has a new JWT secret.
    if (!(await this.#refreshAccess())) {
      const failure = await this.#login();
      if (failure !== undefined) return { ok: false, failure };
    }
    return this.#request(method, path, schema, `Bearer ${this.#access}`, options.body);
  }

  async #request<S extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    schema: S,
    authorization: string | undefined,
    body?: unknown,
  ): Promise<CallResult<z.output<S>>> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (authorization !== undefined) headers.authorization = authorization;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Awaited<ReturnType<HttpFetch>>;
    let text: string;
    try {
      response = await this.#fetch(`${this.#endpoint.url}/api/v1${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      const timedOut =
        error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      return {
        ok: false,
        failure: timedOut
          ? { kind: 'timeout', message: `${method} ${path} timed out after ${this.#timeoutMs} ms` }
          : {
              kind: 'unreachable',
              message: `${method} ${path}: ${error instanceof Error ? error.message : String(error)}`,
            },
      };
    }
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!response.ok) {
      const status = response.status;
      if (status === 401 || status === 403) {
        return { ok: false, failure: { kind: 'auth', status, message: `${method} ${path}: HTTP ${status}` } };
      }
      if (status === 404 || status === 405) {
        return {
          ok: false,
          failure: { kind: 'not_found', status, message: `${method} ${path}: HTTP ${status}` },
        };
      }
      const rpcError = RpcErrorSchema.safeParse(json);
      if (status === 502 && rpcError.success) {
        return {
          ok: false,
          failure: { kind: 'refused', status, message: `${method} ${path}: ${rpcError.data.error}` },
        };
      }
      return { ok: false, failure: { kind: 'http', status, message: `${method} ${path}: HTTP ${status}` } };
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const where = parsed.error.issues[0];
      return {
        ok: false,
        failure: {
          kind: 'shape',
          message: `${method} ${path}: unexpected reply (${where ? `${where.path.join('.') || '(root)'}: ${where.message}` : 'invalid'})`,
        },
      };
    }
    return { ok: true, value: parsed.data };
  }
}
