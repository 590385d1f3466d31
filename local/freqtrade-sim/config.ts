/**
 * The part of Freqtrade's configuration the simulator reads, validated with zod. Unknown keys are
 * kept (Freqtrade configs are big and /show_config echoes some of them); the simulator's own `sim`
 * block is strict, so a typo in a scenario knob is refused rather than silently ignored.
 *
 * Precedence follows Freqtrade: config files in order (later ones override earlier ones), then
 * `FREQTRADE__SECTION__KEY` environment variables, then command-line options; the simulator adds
 * FREQTRADE_SIM_SCENARIO (a JSON scenario) on top.
 */
import { readFileSync } from 'node:fs';
import * as z from 'zod';
import {
  DEFAULT_ACCESS_TOKEN_TTL_S,
  DEFAULT_DRY_RUN_WALLET,
  DEFAULT_JWT_SECRET,
  DEFAULT_REFRESH_TOKEN_TTL_S,
  LOOPBACK,
  SIM_FREQTRADE_2024_VERSION,
  SIM_FREQTRADE_VERSION,
} from './constants';
import { ConfigError, type ConfigIssue } from './errors';
import { ScenarioSchema, STEADY } from './scenarios';
import { OrderTypeValueSchema, TradingModeSchema } from './schemas';

export const SCENARIO_ENV_VAR = 'FREQTRADE_SIM_SCENARIO';
/** Freqtrade's prefix for configuration overrides from the environment. */
export const CONFIG_ENV_PREFIX = 'FREQTRADE__';

const PairSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9._-]+\/[A-Za-z0-9._-]+(:[A-Za-z0-9._-]+)?$/,
    'must look like BASE/QUOTE or BASE/QUOTE:SETTLE',
  );

/** Exchange credentials are accepted (the agent passes them) but never used, logged or echoed. */
const CredentialSchema = z.union([z.string(), z.number()]).optional();

const ExchangeSchema = z.looseObject({
  name: z.string().min(1),
  key: CredentialSchema,
  secret: CredentialSchema,
  password: CredentialSchema,
  uid: CredentialSchema,
  pair_whitelist: z.array(PairSchema).min(1),
  pair_blacklist: z.array(z.string()).default([]),
});

const ApiServerSchema = z.looseObject({
  enabled: z.boolean(),
  listen_ip_address: z
    .string()
    .refine(
      (address) => address === LOOPBACK,
      'must be 127.0.0.1: the simulator never listens on another address',
    ),
  /** 0 picks a free port (a simulator extension for tests; Freqtrade requires 1024-65535). */
  listen_port: z.number().int().min(0).max(65_535),
  username: z.string().min(1),
  password: z.string().min(1),
  jwt_secret_key: z.string().min(1).default(DEFAULT_JWT_SECRET),
});
export type ApiServerConfig = z.output<typeof ApiServerSchema>;

const InternalsSchema = z.looseObject({
  /** Seconds between "Bot heartbeat" log lines; 0 disables them (as in Freqtrade). */
  heartbeat_interval: z.number().min(0).default(60),
});

/** `minimal_roi`: minutes since entry -> profit ratio that takes the trade out. */
const MinimalRoiSchema = z
  .record(z.string().regex(/^\d+$/, 'keys must be minutes (integers)'), z.number())
  .refine((roi) => Object.keys(roi).length > 0, 'must have at least one entry');

const OrderTypesConfigSchema = z.looseObject({
  entry: OrderTypeValueSchema,
  exit: OrderTypeValueSchema,
  stoploss: OrderTypeValueSchema,
  stoploss_on_exchange: z.boolean(),
});

const SimBlockFieldsSchema = z.strictObject({
  /** Seeds the market and the bot's decisions: the same seed gives the same trades, tick for tick. */
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .default(1),
  scenario: ScenarioSchema.default(STEADY),
  /** Milliseconds between two iterations of the market and the bot loop. */
  tick_ms: z.number().int().min(1).max(3_600_000).default(1000),
  access_token_ttl_s: z
    .number()
    .int()
    .min(1)
    .max(DEFAULT_REFRESH_TOKEN_TTL_S)
    .default(DEFAULT_ACCESS_TOKEN_TTL_S),
  refresh_token_ttl_s: z
    .number()
    .int()
    .min(1)
    .max(365 * 24 * 3600)
    .default(DEFAULT_REFRESH_TOKEN_TTL_S),
  /** Positions open at start (like trades left in Freqtrade's database), so a drawdown has exposure. */
  open_trades_at_start: z.number().int().min(0).max(100).default(0),
  /** Chance, per tick and per free pair, that the strategy signals an entry. */
  entry_probability: z.number().min(0).max(1).default(0.2),
  /** Standard deviation of a pair's log return per tick. */
  volatility: z.number().min(0).max(0.5).default(0.005),
  /** Mean log return per tick. */
  drift: z.number().min(-0.1).max(0.1).default(0),
  /** Fee ratio charged on entry and on exit. */
  fee: z.number().min(0).max(0.1).default(0.001),
  /** Leverage of new positions when trading_mode is margin or futures (spot is always 1). */
  leverage: z.number().min(1).max(125).default(1),
  /** Share of entries that go short (margin and futures only). */
  short_share: z.number().min(0).max(1).default(0),
  start_prices: z.record(PairSchema, z.number().positive()).default({}),
  /** How long `backtesting` and `hyperopt` pretend to work before writing their result. */
  oneshot_ms: z.number().int().min(0).max(600_000).default(200),
  /**
   * Which Freqtrade the simulator is: `2025.4` (and later) has PAUSED and /pause; `2024` has neither,
   * and /stopentry sets max_open_trades to 0 (state stays RUNNING) until /reload_config.
   */
  era: z
    // FREQTRADE__SIM__ERA=2024 arrives as a number, as Freqtrade parses its environment.
    .preprocess((value) => (typeof value === 'number' ? String(value) : value), z.enum(['2024', '2025.4']))
    .default('2025.4'),
  /** Defaults to the era's: a 2024.x or 2025.x version string, as the agent reads the era from it. */
  version: z.string().min(1).optional(),
});
export const SimBlockSchema = SimBlockFieldsSchema.transform((block) => ({
  ...block,
  version: block.version ?? (block.era === '2024' ? SIM_FREQTRADE_2024_VERSION : SIM_FREQTRADE_VERSION),
}));
export type SimBlock = z.output<typeof SimBlockSchema>;

export const FreqtradeConfigSchema = z
  .looseObject({
    api_server: ApiServerSchema.optional(),
    /** Freqtrade starts STOPPED unless told otherwise, and goes back to this on /reload_config. */
    initial_state: z.enum(['running', 'paused', 'stopped']).default('stopped'),
    dry_run: z.boolean(),
    stake_currency: z.string().min(1),
    stake_amount: z.union([z.number().positive(), z.literal('unlimited')]),
    dry_run_wallet: z.number().positive().default(DEFAULT_DRY_RUN_WALLET),
    available_capital: z.number().positive().optional(),
    tradable_balance_ratio: z.number().gt(0).max(1).default(0.99),
    /** -1 means unlimited. */
    max_open_trades: z.number().int().min(-1),
    exchange: ExchangeSchema,
    timeframe: z
      .string()
      .regex(/^\d+[smhdwM]$/, 'must be a Freqtrade timeframe such as 5m or 1h')
      .default('5m'),
    strategy: z.string({ error: 'no strategy set: set "strategy" or pass --strategy' }).min(1),
    trading_mode: TradingModeSchema.default('spot'),
    margin_mode: z.enum(['cross', 'isolated', '']).default(''),
    stoploss: z.number().min(-1).lt(0).default(-0.1),
    minimal_roi: MinimalRoiSchema.default({ '0': 0.04 }),
    fiat_display_currency: z.string().optional(),
    bot_name: z.string().min(1).default('freqtrade'),
    force_entry_enable: z.boolean().default(false),
    position_adjustment_enable: z.boolean().default(false),
    max_entry_position_adjustment: z.number().int().min(-1).default(-1),
    order_types: OrderTypesConfigSchema.optional(),
    internals: InternalsSchema.prefault({}),
    user_data_dir: z.string().min(1).optional(),
    /** Freqtrade's trade database (SQLAlchemy URL); the simulator keeps its trades there (trade-store.ts). */
    db_url: z.string().min(1).optional(),
    sim: SimBlockSchema.prefault({}),
  })
  .superRefine((config, ctx) => {
    if (config.sim.era === '2024' && config.initial_state === 'paused') {
      // Freqtrade 2024.x's config schema: initial_state is one of running, stopped.
      ctx.addIssue({
        code: 'custom',
        path: ['initial_state'],
        message: "'paused' is not one of ['running', 'stopped'] (Freqtrade before 2025.4)",
      });
    }
    if (config.trading_mode !== 'spot' && config.margin_mode === '') {
      ctx.addIssue({
        code: 'custom',
        path: ['margin_mode'],
        message: `must be "isolated" or "cross" when trading_mode is ${config.trading_mode}`,
      });
    }
    const stakeCurrency = config.stake_currency;
    for (const [index, pair] of config.exchange.pair_whitelist.entries()) {
      const quote = pair.split('/')[1]?.split(':')[0];
      if (quote !== stakeCurrency) {
        ctx.addIssue({
          code: 'custom',
          path: ['exchange', 'pair_whitelist', index],
          message: `${pair} is not quoted in the stake currency ${stakeCurrency}`,
        });
      }
    }
  });
export type FreqtradeConfig = Readonly<z.output<typeof FreqtradeConfigSchema>>;

const issuesOf = (error: z.ZodError, prefix: string[] = []): ConfigIssue[] =>
  error.issues.map((issue) => ({
    field: [...prefix, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const deepFreeze = <T>(value: T): T => {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
};

/** Objects merge key by key; anything else (arrays included) in `override` replaces `base`. */
export const deepMerge = (
  base: Record<string, unknown>,
  override: Record<string, unknown>,
): Record<string, unknown> => {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = out[key];
    out[key] = isRecord(current) && isRecord(value) ? deepMerge(current, value) : value;
  }
  return out;
};

/**
 * JSON with `//` and `/* *\/` comments and trailing commas, which Freqtrade's config loader
 * accepts. Comments and commas are only recognised outside strings.
 */
export const parseJsonc = (text: string): unknown => {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    const next = text[i + 1];
    if (inString) {
      out += char;
      if (char === '\\') {
        out += next ?? '';
        i++;
      } else if (char === '"') {
        inString = false;
      }
    } else if (char === '"') {
      inString = true;
      out += char;
    } else if (char === '/' && next === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (char === '/' && next === '*') {
      i += 2;
      while (i < text.length && !(text[i] === '*' && text[i + 1] === '/')) i++;
      i++;
    } else {
      out += char;
    }
  }
  return JSON.parse(out.replace(/,(\s*[}\]])/g, '$1'));
};

/** Freqtrade's typing of environment values: int, then float, then true/false, else the string. */
const typedEnvValue = (value: string): unknown => {
  if (/^[+-]?\d+$/.test(value.trim())) return Number.parseInt(value, 10);
  if (value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  const lower = value.toLowerCase();
  if (lower === 't' || lower === 'true') return true;
  if (lower === 'f' || lower === 'false') return false;
  return value;
};
/**
 * Kept verbatim. Freqtrade exempts CHAT_ID and PASSWORD only, so there a numeric-looking exchange
 * KEY or SECRET becomes a number; the simulator keeps those as strings too.
 */
const UNTYPED_ENV_KEYS = new Set(['CHAT_ID', 'PASSWORD', 'KEY', 'SECRET']);

export interface EnvOverrides {
  values: Record<string, unknown>;
  /** Names of the variables used (never their values: they may be exchange credentials). */
  names: string[];
}

/** `FREQTRADE__EXCHANGE__KEY=x` -> `{ exchange: { key: 'x' } }`, as Freqtrade reads its environment. */
export const configFromEnv = (env: Readonly<Record<string, string | undefined>>): EnvOverrides => {
  let values: Record<string, unknown> = {};
  const names: string[] = [];
  for (const name of Object.keys(env).sort()) {
    const raw = env[name];
    if (!name.startsWith(CONFIG_ENV_PREFIX) || raw === undefined) continue;
    const path = name.slice(CONFIG_ENV_PREFIX.length).split('__').filter(Boolean);
    const leaf = path.at(-1);
    if (leaf === undefined) continue;
    let nested: unknown = UNTYPED_ENV_KEYS.has(leaf.toUpperCase()) ? raw : typedEnvValue(raw);
    for (const key of [...path].reverse()) nested = { [key.toLowerCase()]: nested };
    values = deepMerge(values, nested as Record<string, unknown>);
    names.push(name);
  }
  return { values, names };
};

/** FREQTRADE_SIM_SCENARIO, validated on its own so a mistake names the variable. */
export const scenarioFromEnv = (env: Readonly<Record<string, string | undefined>>): unknown => {
  const raw = env[SCENARIO_ENV_VAR];
  if (raw === undefined || raw.trim() === '') return undefined;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (cause) {
    throw new ConfigError(SCENARIO_ENV_VAR, [{ field: SCENARIO_ENV_VAR, message: 'is not valid JSON' }], {
      cause,
    });
  }
  const parsed = ScenarioSchema.safeParse(json);
  if (!parsed.success) throw new ConfigError(SCENARIO_ENV_VAR, issuesOf(parsed.error, [SCENARIO_ENV_VAR]));
  return json;
};

/**
 * Applies the environment (FREQTRADE__* then FREQTRADE_SIM_SCENARIO) and validates the result.
 * `source` names where the raw configuration came from, for error messages.
 */
export const resolveConfig = (
  raw: unknown,
  env: Readonly<Record<string, string | undefined>> = {},
  source = 'config',
): { config: FreqtradeConfig; envNames: string[] } => {
  if (!isRecord(raw)) throw new ConfigError(source, [{ field: '', message: 'must be a JSON object' }]);
  const fromEnv = configFromEnv(env);
  let merged = deepMerge(raw, fromEnv.values);
  const scenario = scenarioFromEnv(env);
  if (scenario !== undefined) merged = deepMerge(merged, { sim: { scenario } });
  const parsed = FreqtradeConfigSchema.safeParse(merged);
  if (!parsed.success) throw new ConfigError(source, issuesOf(parsed.error));
  return { config: deepFreeze(parsed.data), envNames: fromEnv.names };
};

export interface ConfigFiles {
  /** `--config` paths in order; later files override earlier ones. */
  paths: string[];
  /** Command-line options, which override files and environment. */
  overrides?: Record<string, unknown>;
  env?: Readonly<Record<string, string | undefined>>;
  readFile?: (path: string) => string;
}

/** Reads, merges and validates the `--config` files, as `freqtrade trade --config a --config b` does. */
export const loadConfigFiles = (files: ConfigFiles): { config: FreqtradeConfig; envNames: string[] } => {
  const readFile = files.readFile ?? ((path: string) => readFileSync(path, 'utf8'));
  let merged: Record<string, unknown> = {};
  for (const path of files.paths) {
    let text: string;
    try {
      text = readFile(path);
    } catch (cause) {
      throw new ConfigError(path, [{ field: '', message: 'cannot be read (does the file exist?)' }], {
        cause,
      });
    }
    let parsed: unknown;
    try {
      parsed = parseJsonc(text);
    } catch (cause) {
      const detail = cause instanceof Error ? cause.message : String(cause);
      throw new ConfigError(path, [{ field: '', message: `is not valid JSON: ${detail}` }], { cause });
    }
    if (!isRecord(parsed)) throw new ConfigError(path, [{ field: '', message: 'must be a JSON object' }]);
    merged = deepMerge(merged, parsed);
  }
  const env = files.env ?? {};
  // Command-line options win over the environment, so they are merged after it.
  const withEnv = deepMerge(merged, configFromEnv(env).values);
  const withCli = deepMerge(withEnv, files.overrides ?? {});
  const source = files.paths.join(', ') || 'no --config';
  const { config } = resolveConfig(withCli, { [SCENARIO_ENV_VAR]: env[SCENARIO_ENV_VAR] }, source);
  return { config, envNames: configFromEnv(env).names };
};
