/**
 * The running simulator: the paper market, the bot, its loop (one tick per `sim.tick_ms`), the
 * scenarios, and the REST API. The CLI and in-process users (tests, benchmarks) share this code.
 */
import { type Clock, systemClock } from '../../shared/domain/clock';
import { type ApiServer, startApiServer } from './api';
import { ApiAuth, type AuthSettings } from './auth';
import { PaperBot } from './bot';
import { type FreqtradeConfig, resolveConfig } from './config';
import { LOOPBACK } from './constants';
import { ConfigError } from './errors';
import { round } from './format';
import { createLogger, type LogSink, silentSink } from './logger';
import { createRng, PaperMarket } from './market';
import type { OrderLog, OrderLogEvent } from './order-log';
import { type Scenario, ScenarioControl, type ScenarioInput, ScenarioSchema } from './scenarios';
import { type SimState, SimStateSchema } from './schemas';
import { PaperTrade } from './trade';
import { dbLocationOf, TradeStoreFile } from './trade-store';

export interface FreqtradeSimOptions {
  /** FREQTRADE__* overrides and FREQTRADE_SIM_SCENARIO; in-process the default is none (not process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  clock?: Clock;
  /** Where log lines go; silent by default in-process, stderr in the CLI. */
  log?: LogSink;
  /**
   * How the simulator dies (crash scenario, failed /reload_config). In-process the default closes
   * the simulator and resolves `exited` with the code; the CLI exits the process.
   */
  exit?: (code: number) => void;
  /** Supplies the configuration again for /reload_config; by default the one given at start. */
  reloadConfig?: () => unknown;
  /** false: no timer runs the loop; call `tick()` (deterministic tests, benchmarks). */
  autoTick?: boolean;
  /** Names the configuration in error messages. */
  source?: string;
  /** Records every order-capable event (order-log.ts); none by default. */
  orderLog?: OrderLog;
}

export interface FreqtradeSimHandle {
  /** `http://127.0.0.1:<port>`, or null when `api_server.enabled` is false (as Freqtrade, no API). */
  readonly url: string | null;
  readonly port: number | null;
  readonly config: FreqtradeConfig;
  /** One iteration of the market and the bot loop. */
  tick(): void;
  /** Validates and activates a scenario; its `at_s` counts from now. */
  setScenario(scenario: ScenarioInput): Scenario;
  state(): SimState;
  /** Stops the loop and the API (hung requests included). */
  close(): Promise<void>;
  /** Resolves with the exit code: 0 after close(), the scenario's code after a crash. */
  readonly exited: Promise<number>;
}

const authSettings = (config: FreqtradeConfig): AuthSettings | null =>
  config.api_server
    ? {
        username: config.api_server.username,
        password: config.api_server.password,
        jwtSecret: config.api_server.jwt_secret_key,
        accessTtlS: config.sim.access_token_ttl_s,
        refreshTtlS: config.sim.refresh_token_ttl_s,
      }
    : null;

const PRICE_SAVE_INTERVAL_MS = 5_000;

/** Starts the simulator; rejects with ConfigError when the configuration is invalid. */
export const startFreqtradeSim = async (
  rawConfig: unknown,
  options: FreqtradeSimOptions = {},
): Promise<FreqtradeSimHandle> => {
  const env = options.env ?? {};
  const source = options.source ?? 'config';
  const { config: initialConfig } = resolveConfig(rawConfig, env, source);
  const clock = options.clock ?? systemClock;
  const logger = createLogger(clock, options.log ?? silentSink);
  const registerSecrets = (config: FreqtradeConfig): void => {
    for (const secret of [
      config.exchange.key,
      config.exchange.secret,
      config.exchange.password,
      config.exchange.uid,
    ]) {
      logger.addSecret(secret);
    }
    logger.addSecret(config.api_server?.password);
    logger.addSecret(config.api_server?.jwt_secret_key);
  };
  registerSecrets(initialConfig);

  const sim = initialConfig.sim;
  const market = new PaperMarket({
    pairs: initialConfig.exchange.pair_whitelist,
    seed: sim.seed,
    volatility: sim.volatility,
    drift: sim.drift,
    startPrices: sim.start_prices,
  });
  // Freqtrade's database: trades outlive the process when db_url names a file (trade-store.ts).
  const dbLocation = dbLocationOf(initialConfig.db_url, source);
  const tradeStore = dbLocation.kind === 'file' ? new TradeStoreFile(dbLocation.path, source) : null;
  const stored = tradeStore?.load() ?? null;
  let lastSavedAt = Number.NEGATIVE_INFINITY;
  const saveTrades = (): void => {
    if (tradeStore === null) return;
    try {
      tradeStore.save(
        { trades: bot.trades.map((trade) => trade.toRecord()), prices: market.snapshot() },
        clock.now(),
      );
      lastSavedAt = clock.now();
    } catch (error) {
      // As Freqtrade on a failed commit: the loop logs it and goes on; the next change tries again.
      const detail = error instanceof Error ? error.message : String(error);
      logger.log('ERROR', 'freqtrade.persistence', `Could not write the trade database: ${detail}`);
    }
  };
  const bot = new PaperBot(initialConfig, {
    clock,
    logger,
    market,
    rng: createRng(sim.seed, 3),
    onTradesChanged: () => {
      options.orderLog?.record('trades_changed');
      saveTrades();
    },
  });
  if (stored !== null) {
    // Freqtrade manages an open trade whose pair has since left the whitelist: the market must price it.
    market.addPairs(stored.trades.filter((trade) => trade.closedAt === null).map((trade) => trade.pair));
    market.restorePrices(stored.prices);
    bot.restoreTrades(stored.trades.map((record) => PaperTrade.fromRecord(record)));
    logger.log(
      'INFO',
      'freqtrade.persistence',
      `Loaded ${bot.openTrades().length} open and ${bot.closedTrades().length} closed trades from ${dbLocation.kind === 'file' ? dbLocation.path : 'memory'}`,
    );
  }
  const scenarios = new ScenarioControl(clock, sim.scenario);
  // Without an api_server block nothing can authenticate; the placeholder is never consulted.
  const auth = new ApiAuth(
    authSettings(initialConfig) ?? {
      username: '',
      password: '',
      jwtSecret: '',
      accessTtlS: 1,
      refreshTtlS: 1,
    },
    clock,
  );

  logger.log('INFO', 'freqtrade.worker', `Starting worker ${sim.version}`);
  logger.log(
    'INFO',
    'freqtrade.configuration.configuration',
    `Runmode set to ${initialConfig.dry_run ? 'dry_run' : 'live'}.`,
  );
  logger.log('INFO', 'freqtrade.resolvers.iresolver', `Using resolved strategy ${initialConfig.strategy}`);
  logger.log(
    'WARNING',
    'freqtrade.simulator',
    'This is the Freqtrade REST API simulator: no exchange is contacted and no order leaves this process.',
  );
  // Start positions stand in for trades already in the database: a database that has trades keeps its own.
  if (sim.open_trades_at_start > 0 && bot.trades.length === 0)
    bot.openInitialPositions(sim.open_trades_at_start);
  logger.log('INFO', 'freqtrade.worker', `Changing state to: ${bot.state.toUpperCase()}`);

  let tickCount = 0;
  let peakEquity = bot.equity();
  let maxDrawdownPct = 0;
  let lastHeartbeat: number | null = null;
  let closed = false;
  let timer: NodeJS.Timeout | null = null;
  let api: ApiServer | null = null;
  let resolveExited: (code: number) => void = () => {};
  const exited = new Promise<number>((resolve) => {
    resolveExited = resolve;
  });

  const drawdownPct = (equity: number): number =>
    peakEquity > 0 ? ((peakEquity - equity) / peakEquity) * 100 : 0;

  const trackEquity = (): void => {
    const equity = bot.equity();
    peakEquity = Math.max(peakEquity, equity);
    maxDrawdownPct = Math.max(maxDrawdownPct, drawdownPct(equity));
  };

  /** Pushes held pairs against their positions until equity is `depthPct` below its peak. */
  const produceDrawdown = (depthPct: number): void => {
    const open = bot.openTrades();
    if (open.length === 0) return;
    const target = peakEquity * (1 - depthPct / 100);
    // A relative adverse move m changes equity by -m * sum(|dEquity/dPrice| * price).
    for (let attempt = 0; attempt < 3 && bot.equity() > target; attempt++) {
      const exposure = open.reduce(
        (sum, trade) => sum + Math.abs(trade.sensitivity()) * bot.rate(trade.pair),
        0,
      );
      // Aim a hair below the target so price rounding cannot leave equity just above it.
      const move = Math.min((bot.equity() - target + peakEquity * 1e-6) / exposure, 0.95);
      for (const trade of open) market.scale(trade.pair, trade.isShort ? 1 + move : 1 - move);
      if (move >= 0.95) break;
    }
    const reached = drawdownPct(bot.equity());
    logger.log(
      reached + 1e-9 >= depthPct ? 'INFO' : 'WARNING',
      'freqtrade.simulator',
      `Scenario drawdown: equity ${round(bot.equity(), 4)} is ${round(reached, 2)}% below its peak ` +
        `${round(peakEquity, 4)} (target ${depthPct}%)`,
    );
    scenarios.markDrawdownDone();
  };

  const die = (code: number): void => {
    if (options.exit) options.exit(code);
    else void shutdown(code);
  };

  const reload = (): void => {
    try {
      const raw = options.reloadConfig ? options.reloadConfig() : rawConfig;
      const { config } = resolveConfig(raw, env, source);
      registerSecrets(config);
      bot.applyConfig(config);
      const settings = authSettings(config);
      if (settings) auth.update(settings);
    } catch (error) {
      // Freqtrade dies on a configuration it cannot load during /reload_config.
      const detail = error instanceof Error ? error.message : String(error);
      logger.log('ERROR', 'freqtrade', `Configuration error: ${detail}`);
      die(1);
    }
  };

  const heartbeat = (): void => {
    const interval = bot.config.internals.heartbeat_interval;
    const now = clock.now();
    if (!interval || (lastHeartbeat !== null && now - lastHeartbeat < interval * 1000)) return;
    lastHeartbeat = now;
    logger.log(
      'INFO',
      'freqtrade.worker',
      `Bot heartbeat. PID=${process.pid}, version='${bot.config.sim.version}', state='${bot.state.toUpperCase()}'`,
    );
  };

  const tick = (): void => {
    if (closed) return;
    tickCount++;
    const crashCode = scenarios.crashCode();
    if (crashCode !== null) {
      logger.log('ERROR', 'freqtrade', `Fatal exception! (simulated crash, exit code ${crashCode})`);
      die(crashCode);
      return;
    }
    market.step();
    const depth = scenarios.pendingDrawdownPct();
    if (depth !== null) produceDrawdown(depth);
    // A hung or stuck process runs no loop: no exits, no entries, no last_process, no heartbeat.
    if (!scenarios.loopFrozen()) {
      if (bot.state === 'reload_config') reload();
      bot.process();
      heartbeat();
    }
    trackEquity();
    // Prices move every tick; keep them with the trades now and then (trades themselves save at once).
    if (clock.now() - lastSavedAt >= PRICE_SAVE_INTERVAL_MS) saveTrades();
  };

  const simState = (): SimState => {
    const equity = bot.equity();
    return SimStateSchema.parse({
      state: bot.state,
      scenario: { ...scenarios.current },
      scenario_triggered: scenarios.triggered(),
      tick_count: tickCount,
      process_count: bot.processCount,
      last_process_ts: bot.lastProcessAt === null ? null : Math.floor(bot.lastProcessAt / 1000),
      open_trades: bot.openTrades().length,
      closed_trades: bot.closedTrades().length,
      starting_capital: bot.startingCapital(),
      equity,
      peak_equity: peakEquity,
      equity_drawdown_pct: drawdownPct(equity),
      max_equity_drawdown_pct: maxDrawdownPct,
      prices: market.snapshot(),
    });
  };

  const setScenario = (input: ScenarioInput): Scenario => {
    const parsed = ScenarioSchema.safeParse(input);
    if (!parsed.success) {
      throw new ConfigError(
        'scenario',
        parsed.error.issues.map((issue) => ({
          field: issue.path.map(String).join('.'),
          message: issue.message,
        })),
      );
    }
    scenarios.set(parsed.data);
    logger.log('INFO', 'freqtrade.simulator', `Scenario set: ${JSON.stringify(parsed.data)}`);
    return parsed.data;
  };

  const shutdown = async (code: number): Promise<void> => {
    if (closed) return;
    closed = true;
    options.orderLog?.record('process_exiting');
    if (timer) clearInterval(timer);
    if (api) {
      logger.log('INFO', 'freqtrade.rpc.api_server.webserver', 'Stopping API Server');
      await api.close();
    }
    resolveExited(code);
  };

  if (initialConfig.api_server?.enabled) {
    const { listen_port: port } = initialConfig.api_server;
    logger.log('INFO', 'freqtrade.rpc.api_server.webserver', `Starting HTTP Server at ${LOOPBACK}:${port}`);
    const onOrderCall = (event: OrderLogEvent) => options.orderLog?.record(event);
    api = await startApiServer(
      { bot, auth, scenarios, logger, now: () => clock.now(), simState, setScenario, onOrderCall },
      LOOPBACK,
      port,
    );
    if (port === 0) {
      logger.log(
        'INFO',
        'freqtrade.rpc.api_server.webserver',
        `Listening on ${LOOPBACK}:${api.port} (port 0 given)`,
      );
    }
    logger.log('INFO', 'freqtrade.rpc.api_server.webserver', 'Starting Local Rest Server.');
  } else {
    logger.log('INFO', 'freqtrade.simulator', 'api_server is not enabled: no REST API is served.');
  }

  if (options.autoTick !== false) timer = setInterval(tick, sim.tick_ms);
  trackEquity();
  options.orderLog?.record('process_ready');

  const port = api?.port ?? null;
  return {
    url: port === null ? null : `http://${LOOPBACK}:${port}`,
    port,
    get config() {
      return bot.config;
    },
    tick,
    setScenario,
    state: simState,
    close: () => shutdown(0),
    exited,
  };
};
