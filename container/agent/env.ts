import * as z from 'zod';
import { RunIdSchema, StrategyIdSchema, TradingModeSchema } from '../../shared/domain/session';
import {
  DEFAULT_COMMAND_CONFIRM_S,
  DEFAULT_HEALTH_PORT,
  DEFAULT_MAX_RESTARTS,
  DEFAULT_RESTART_WINDOW_S,
  DEFAULT_STARTUP_RETRY_S,
  DEFAULT_STOP_TIMEOUT_S,
  FLATTEN_CONFIRM_S,
} from './constants';

/** Seconds from an environment string; decimals allowed so tests can run fast loops (≥ 0.05 s). */
const intervalS = (fallback: number, max = 86_400) => z.coerce.number().min(0.05).max(max).default(fallback);

const optionalText = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

/** `file:///abs/path` → `/abs/path`; anything else is kept as given. */
export const filePathOf = (uri: string): string | undefined =>
  uri.startsWith('file://') ? decodeURIComponent(new URL(uri).pathname) : undefined;

const RawEnvSchema = z
  .object({
    STRATEGY: optionalText,
    FREQTRADE_STRATEGY: optionalText,
    STRATEGY_ID: StrategyIdSchema,
    RUN_ID: RunIdSchema,
    TRADING_MODE: TradingModeSchema,
    MLFLOW_TRACKING_URI: z
      .string()
      .regex(/^(https?|file):\/\//, 'must be an http(s):// MLflow server or a file:// registry'),
    MLFLOW_TRACKING_TOKEN: optionalText,
    MLFLOW_TRACKING_USERNAME: optionalText,
    MLFLOW_TRACKING_PASSWORD: optionalText,
    EXCHANGE_SECRET_NAME: optionalText,
    /** Local stand-in for Secrets Manager: a JSON file `{ "<secret name>": { "key": ..., "secret": ... } }`. */
    SECRETS_FILE: optionalText,
    DYNAMODB_TABLE: z.string().min(3).max(255),
    METRICS_TABLE: optionalText,
    ARCTICDB_S3_URI: z.string().min(1),
    /** A bucket name, `s3://bucket[/prefix]`, or `file:///dir` for local configs. */
    S3_CONFIG_BUCKET: z.string().min(1),
    /** Where one-shot results go: `s3://bucket[/prefix]` or `file:///dir`; default: the config bucket. */
    RESULTS_S3_URI: optionalText,
    /** 15 s: detection within 45 s at about a cent a month per strategy more than 30 s (bench fleet curve). */
    HEARTBEAT_INTERVAL_S: intervalS(15, 3600),
    RISK_POLL_INTERVAL_S: intervalS(5, 3600),
    CONTROL_POLL_INTERVAL_S: intervalS(5, 3600),
    /**
     * Without a successful heartbeat for this long the agent pauses entries (fail-closed): before the sweep
     * marks it stale (35 s), checked by tests/packaging/detection-defaults.test.ts.
     */
    HEARTBEAT_FAIL_CLOSED_S: intervalS(30),
    /** Per request to Freqtrade's API; a hung API counts as a monitoring failure after this. */
    FREQTRADE_TIMEOUT_S: intervalS(3, 120),
    /** Overrides the derived "loop is stuck" threshold (default: 4 × internals.process_throttle_secs, at least 30 s). */
    LOOP_STALE_AFTER_S: z.coerce.number().min(0.05).max(86_400).optional(),
    STOP_TIMEOUT_S: intervalS(DEFAULT_STOP_TIMEOUT_S, 600),
    /**
     * How long a flatten (a stop's, or a risk forceexit) waits for /status to show no open trade. At most
     * 90 s: the sweep forces a stopping session's stop after STOP_GRACE_S (120 s), which would cut it short.
     */
    FLATTEN_TIMEOUT_S: intervalS(FLATTEN_CONFIRM_S, 90),
    FREQTRADE_CMD: z.string().trim().min(1).default('freqtrade'),
    FREQTRADE_RESTART_BACKOFF_MAX_S: intervalS(60, 3600),
    /** A pause/stop Freqtrade's own state does not show within this long counts as failed: its process is stopped. */
    FREQTRADE_CONFIRM_TIMEOUT_S: intervalS(DEFAULT_COMMAND_CONFIRM_S, 300),
    /** N restarts in FREQTRADE_RESTART_WINDOW_S without a live loop: Freqtrade does not come up, restarts stop. */
    FREQTRADE_MAX_RESTARTS: z.coerce.number().int().min(1).max(1000).default(DEFAULT_MAX_RESTARTS),
    FREQTRADE_RESTART_WINDOW_S: intervalS(DEFAULT_RESTART_WINDOW_S, 86_400),
    /** How long a start retries transient faults (MLflow, S3, Secrets Manager, DynamoDB) before it gives up. */
    STARTUP_RETRY_S: intervalS(DEFAULT_STARTUP_RETRY_S, 3600),
    /** Bound on downloading a FreqAI model (all its files); past it the start fails naming the model URI. */
    MODEL_DOWNLOAD_TIMEOUT_S: intervalS(600, 3600),
    FREQTRADE_API_URL: optionalText.pipe(z.url({ protocol: /^https?$/ }).optional()),
    FREQTRADE_USERNAME: optionalText,
    FREQTRADE_PASSWORD: optionalText,
    FREQTRADE_AUTH: z.enum(['jwt', 'basic']).default('jwt'),
    HEALTH_PORT: z.coerce.number().int().min(0).max(65_535).default(DEFAULT_HEALTH_PORT),
    HEALTH_HOST: z.string().min(1).default('127.0.0.1'),
    /** Where Freqtrade's config and user data live; default: a folder per run under the OS temp dir. */
    AGENT_WORK_DIR: optionalText,
    /** Freqtrade's durable trade database (SQLAlchemy URL on EFS, or PostgreSQL); required for live trading. */
    TRADE_DB_URL: optionalText.pipe(
      z
        .string()
        .regex(/^(sqlite:\/\/\/.+|postgresql(\+\w+)?:\/\/.+)$/, 'must be a sqlite:/// or postgresql:// URL')
        .optional(),
    ),
    /** Candles for one-shot runs (`freqtrade --datadir`): a mounted market-data folder; Freqtrade's own default otherwise. */
    MARKET_DATA_DIR: optionalText.pipe(z.string().startsWith('/', 'must be an absolute path').optional()),
    AGENT_ID: optionalText.pipe(
      z
        .string()
        .regex(/^[A-Za-z0-9._:/-]{1,128}$/, 'must be 1-128 URL-safe characters')
        .optional(),
    ),
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  })
  .superRefine((env, ctx) => {
    if (env.STRATEGY === undefined && env.FREQTRADE_STRATEGY === undefined) {
      ctx.addIssue({ code: 'custom', path: ['STRATEGY'], message: 'required (or FREQTRADE_STRATEGY)' });
    }
    if (env.TRADING_MODE === 'live' && env.EXCHANGE_SECRET_NAME === undefined) {
      ctx.addIssue({ code: 'custom', path: ['EXCHANGE_SECRET_NAME'], message: 'required in live mode' });
    }
    if (env.HEARTBEAT_FAIL_CLOSED_S < 2 * env.HEARTBEAT_INTERVAL_S) {
      ctx.addIssue({
        code: 'custom',
        path: ['HEARTBEAT_FAIL_CLOSED_S'],
        message: 'must be at least twice HEARTBEAT_INTERVAL_S, or every interval would pause entries',
      });
    }
    const attach = [env.FREQTRADE_API_URL, env.FREQTRADE_USERNAME, env.FREQTRADE_PASSWORD];
    if (attach.some((value) => value !== undefined) && attach.some((value) => value === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['FREQTRADE_API_URL'],
        message: 'attach mode needs FREQTRADE_API_URL, FREQTRADE_USERNAME and FREQTRADE_PASSWORD together',
      });
    }
    if (env.FREQTRADE_API_URL !== undefined && !['dry-run', 'live'].includes(env.TRADING_MODE)) {
      ctx.addIssue({
        code: 'custom',
        path: ['FREQTRADE_API_URL'],
        message: 'attach mode is only for dry-run and live',
      });
    }
  });

export interface AgentOptions {
  strategy: string;
  strategyId: string;
  runId: string;
  tradingMode: z.infer<typeof TradingModeSchema>;
  mlflow: { uri: string; token?: string; username?: string; password?: string };
  exchangeSecretName?: string;
  secretsFile?: string;
  sessionsTable: string;
  metricsTable: string;
  arcticdbS3Uri: string;
  configBucket: string;
  resultsUri: string;
  heartbeatIntervalS: number;
  riskPollIntervalS: number;
  controlPollIntervalS: number;
  heartbeatFailClosedS: number;
  freqtradeTimeoutS: number;
  loopStaleAfterS?: number;
  stopTimeoutS: number;
  flattenTimeoutS: number;
  freqtradeCmd: string;
  restartBackoffMaxS: number;
  commandConfirmTimeoutS: number;
  maxRestarts: number;
  restartWindowS: number;
  startupRetryS: number;
  modelDownloadTimeoutS: number;
  attach?: { url: string; username: string; password: string; auth: 'jwt' | 'basic' };
  freqtradeAuth: 'jwt' | 'basic';
  health: { host: string; port: number };
  workDir?: string;
  /** TRADE_DB_URL: Freqtrade's durable trade database; the config writer refuses live trading without it. */
  tradeDbUrl?: string;
  /** MARKET_DATA_DIR: where one-shot runs read candles (`--datadir`). */
  marketDataDir?: string;
  agentId?: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

/** DESIGN.md §2: `tradai-workflow-state-{stage}` sits beside `tradai-session-metrics-{stage}`. */
export const metricsTableOf = (sessionsTable: string): string =>
  sessionsTable.includes('workflow-state')
    ? sessionsTable.replace('workflow-state', 'session-metrics')
    : `${sessionsTable}-metrics`;

export type EnvParseResult = { ok: true; options: AgentOptions } | { ok: false; message: string };

/** Parsed once at start. A failure is one line naming every bad variable (and never echoes values). */
export const parseAgentEnv = (env: NodeJS.ProcessEnv): EnvParseResult => {
  const result = RawEnvSchema.safeParse(env);
  if (!result.success) {
    const issues = result.error.issues.map(
      (issue) => `${issue.path.map(String).join('.') || '(env)'}: ${issue.message}`,
    );
    // Cross-field checks only run once the object parsed; name a missing strategy in the same line anyway.
    const blank = (name: string) => (env[name] ?? '').trim() === '';
    if (blank('STRATEGY') && blank('FREQTRADE_STRATEGY') && !issues.some((i) => i.startsWith('STRATEGY:'))) {
      issues.unshift('STRATEGY: required (or FREQTRADE_STRATEGY)');
    }
    const detail = issues.join('; ');
    return { ok: false, message: `Invalid environment: ${detail}` };
  }
  const e = result.data;
  const optional = <K extends string, V>(key: K, value: V | undefined) =>
    (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
  return {
    ok: true,
    options: {
      strategy: e.STRATEGY ?? e.FREQTRADE_STRATEGY ?? '',
      strategyId: e.STRATEGY_ID,
      runId: e.RUN_ID,
      tradingMode: e.TRADING_MODE,
      mlflow: {
        uri: e.MLFLOW_TRACKING_URI,
        ...optional('token', e.MLFLOW_TRACKING_TOKEN),
        ...optional('username', e.MLFLOW_TRACKING_USERNAME),
        ...optional('password', e.MLFLOW_TRACKING_PASSWORD),
      },
      ...optional('exchangeSecretName', e.EXCHANGE_SECRET_NAME),
      ...optional('secretsFile', e.SECRETS_FILE),
      sessionsTable: e.DYNAMODB_TABLE,
      metricsTable: e.METRICS_TABLE ?? metricsTableOf(e.DYNAMODB_TABLE),
      arcticdbS3Uri: e.ARCTICDB_S3_URI,
      configBucket: e.S3_CONFIG_BUCKET,
      resultsUri: e.RESULTS_S3_URI ?? e.S3_CONFIG_BUCKET,
      heartbeatIntervalS: e.HEARTBEAT_INTERVAL_S,
      riskPollIntervalS: e.RISK_POLL_INTERVAL_S,
      controlPollIntervalS: e.CONTROL_POLL_INTERVAL_S,
      heartbeatFailClosedS: e.HEARTBEAT_FAIL_CLOSED_S,
      freqtradeTimeoutS: e.FREQTRADE_TIMEOUT_S,
      ...optional('loopStaleAfterS', e.LOOP_STALE_AFTER_S),
      stopTimeoutS: e.STOP_TIMEOUT_S,
      flattenTimeoutS: e.FLATTEN_TIMEOUT_S,
      freqtradeCmd: e.FREQTRADE_CMD,
      restartBackoffMaxS: e.FREQTRADE_RESTART_BACKOFF_MAX_S,
      commandConfirmTimeoutS: e.FREQTRADE_CONFIRM_TIMEOUT_S,
      maxRestarts: e.FREQTRADE_MAX_RESTARTS,
      restartWindowS: e.FREQTRADE_RESTART_WINDOW_S,
      startupRetryS: e.STARTUP_RETRY_S,
      modelDownloadTimeoutS: e.MODEL_DOWNLOAD_TIMEOUT_S,
      ...(e.FREQTRADE_API_URL !== undefined &&
      e.FREQTRADE_USERNAME !== undefined &&
      e.FREQTRADE_PASSWORD !== undefined
        ? {
            attach: {
              url: e.FREQTRADE_API_URL,
              username: e.FREQTRADE_USERNAME,
              password: e.FREQTRADE_PASSWORD,
              auth: e.FREQTRADE_AUTH,
            },
          }
        : {}),
      freqtradeAuth: e.FREQTRADE_AUTH,
      health: { host: e.HEALTH_HOST, port: e.HEALTH_PORT },
      ...optional('workDir', e.AGENT_WORK_DIR),
      ...optional('tradeDbUrl', e.TRADE_DB_URL),
      ...optional('marketDataDir', e.MARKET_DATA_DIR),
      ...optional('agentId', e.AGENT_ID),
      logLevel: e.LOG_LEVEL,
    },
  };
};
