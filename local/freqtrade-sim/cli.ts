/**
 * `freqtrade` command line, as far as the container agent uses it:
 *   freqtrade trade --config a.json [--config b.json ...] [--strategy S] [--dry-run] ...
 *   freqtrade backtesting --config a.json [--export-filename F | --backtest-directory D] ...
 *   freqtrade hyperopt --config a.json [--epochs N] ...
 *   freqtrade --version
 * Exit codes follow Freqtrade: 0 on success and on SIGTERM/SIGINT, 1 on a configuration error,
 * 2 on a usage error, and a crash scenario's own code.
 */

import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../../shared/domain/clock';
import { loadConfigFiles } from './config';
import { SIM_FREQTRADE_VERSION } from './constants';
import { ConfigError, UsageError } from './errors';
import { createLogger, type Logger, stderrSink } from './logger';
import { runBacktesting, runHyperopt } from './oneshot';
import { ORDER_LOG_ENV_VAR, OrderLog } from './order-log';
import { startFreqtradeSim } from './sim';

const SUBCOMMANDS = ['trade', 'backtesting', 'hyperopt'] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];

export const USAGE = `usage: freqtrade [-h] [-V] {${SUBCOMMANDS.join(',')}} ...`;

type OptionKind = 'flag' | 'value' | 'list' | 'append';

interface OptionSpec {
  names: readonly string[];
  key: string;
  kind: OptionKind;
}

const option = (key: string, kind: OptionKind, ...names: string[]): OptionSpec => ({ key, kind, names });

const COMMON: readonly OptionSpec[] = [
  option('config', 'append', '-c', '--config'),
  option('strategy', 'value', '-s', '--strategy'),
  option('strategyPath', 'value', '--strategy-path'),
  option('userdir', 'value', '--userdir', '--user-data-dir'),
  option('datadir', 'value', '-d', '--datadir', '--data-dir'),
  option('logfile', 'value', '--logfile', '--log-file'),
  option('verbose', 'flag', '-v', '--verbose'),
  option('noColor', 'flag', '--no-color'),
  option('recursive', 'flag', '--recursive-strategy-search'),
  option('freqaimodel', 'value', '--freqaimodel'),
  option('freqaimodelPath', 'value', '--freqaimodel-path'),
];

const OPTIMIZE: readonly OptionSpec[] = [
  option('timeframe', 'value', '-i', '--timeframe'),
  option('timerange', 'value', '--timerange'),
  option('timeframeDetail', 'value', '--timeframe-detail'),
  option('maxOpenTrades', 'value', '--max-open-trades'),
  option('stakeAmount', 'value', '--stake-amount'),
  option('fee', 'value', '--fee'),
  option('pairs', 'list', '-p', '--pairs'),
  option('dryRunWallet', 'value', '--dry-run-wallet', '--starting-balance'),
  option('positionStacking', 'flag', '--eps', '--enable-position-stacking'),
  option('enableProtections', 'flag', '--enable-protections'),
  option('cache', 'value', '--cache'),
];

const OPTIONS: Readonly<Record<Subcommand, readonly OptionSpec[]>> = {
  trade: [
    ...COMMON,
    option('dbUrl', 'value', '--db-url'),
    option('dryRun', 'flag', '--dry-run'),
    option('dryRunWallet', 'value', '--dry-run-wallet'),
    option('sdNotify', 'flag', '--sd-notify'),
    // The simulator's own: which Freqtrade era to serve (sim.era), e.g. `--era 2024`.
    option('era', 'value', '--era'),
  ],
  backtesting: [
    ...COMMON,
    ...OPTIMIZE,
    option('strategyList', 'list', '--strategy-list'),
    option('export', 'value', '--export'),
    option('exportFilename', 'value', '--export-filename', '--backtest-filename'),
    option('backtestDirectory', 'value', '--backtest-directory', '--export-directory'),
    option('breakdown', 'list', '--breakdown'),
    option('notes', 'value', '--notes'),
  ],
  hyperopt: [
    ...COMMON,
    ...OPTIMIZE,
    option('epochs', 'value', '-e', '--epochs'),
    option('spaces', 'list', '--spaces'),
    option('hyperoptLoss', 'value', '--hyperopt-loss', '--hyperoptloss'),
    option('jobWorkers', 'value', '-j', '--job-workers'),
    option('randomState', 'value', '--random-state'),
    option('minTrades', 'value', '--min-trades'),
    option('printAll', 'flag', '--print-all'),
    option('printJson', 'flag', '--print-json'),
    option('disableParamExport', 'flag', '--disable-param-export'),
    option('ignoreMissingSpaces', 'flag', '--ignore-missing-spaces'),
    option('analyzePerEpoch', 'flag', '--analyze-per-epoch'),
    option('earlyStop', 'value', '--early-stop'),
  ],
};

export type ParsedArgs =
  | { kind: 'version' }
  | { kind: 'help' }
  | { kind: 'run'; subcommand: Subcommand; values: Record<string, string | string[] | true> };

/** argparse-like parsing: `--opt value`, `--opt=value`, repeated `--config`, lists up to the next option. */
export const parseArgs = (argv: readonly string[]): ParsedArgs => {
  const first = argv[0];
  if (first === undefined) throw new UsageError('Usage of Freqtrade requires a subcommand to be specified.');
  if (first === '-V' || first === '--version') return { kind: 'version' };
  if (first === '-h' || first === '--help') return { kind: 'help' };
  if (!(SUBCOMMANDS as readonly string[]).includes(first)) {
    throw new UsageError(
      `argument command: invalid choice: '${first}' (choose from ${SUBCOMMANDS.map((c) => `'${c}'`).join(', ')})`,
    );
  }
  const subcommand = first as Subcommand;
  const specs = OPTIONS[subcommand];
  const values: Record<string, string | string[] | true> = {};
  const unknown: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const token = argv[i] ?? '';
    if (token === '-h' || token === '--help') return { kind: 'help' };
    const [name = token, inline] =
      token.startsWith('--') && token.includes('=') ? token.split(/=(.*)/s, 2) : [token];
    const spec = specs.find((candidate) => candidate.names.includes(name));
    if (!spec) {
      unknown.push(token);
      continue;
    }
    if (spec.kind === 'flag') {
      values[spec.key] = true;
      continue;
    }
    const taken: string[] = inline !== undefined ? [inline] : [];
    while (
      (spec.kind === 'list' || taken.length === 0) &&
      i + 1 < argv.length &&
      !(argv[i + 1] ?? '').startsWith('-')
    ) {
      taken.push(argv[++i] ?? '');
    }
    if (taken.length === 0) throw new UsageError(`argument ${spec.names.join('/')}: expected one argument`);
    const previous = values[spec.key];
    if (spec.kind === 'append') values[spec.key] = [...(Array.isArray(previous) ? previous : []), ...taken];
    else if (spec.kind === 'list') values[spec.key] = taken;
    else values[spec.key] = taken[0] ?? '';
  }
  if (unknown.length > 0) throw new UsageError(`unrecognized arguments: ${unknown.join(' ')}`);
  return { kind: 'run', subcommand, values };
};

const text = (value: string | string[] | true | undefined): string | undefined =>
  typeof value === 'string' ? value : undefined;

const numberOption = (
  values: Record<string, string | string[] | true>,
  key: string,
  flag: string,
): number | undefined => {
  const raw = text(values[key]);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new UsageError(`argument ${flag}: invalid number value: '${raw}'`);
  return value;
};

/** Command-line options that override the configuration, as Freqtrade's Configuration does. */
const overridesOf = (values: Record<string, string | string[] | true>): Record<string, unknown> => {
  const overrides: Record<string, unknown> = {};
  const strategy = text(values.strategy);
  if (strategy) overrides.strategy = strategy;
  if (values.dryRun === true) overrides.dry_run = true;
  const wallet = numberOption(values, 'dryRunWallet', '--dry-run-wallet');
  if (wallet !== undefined) overrides.dry_run_wallet = wallet;
  const maxOpenTrades = numberOption(values, 'maxOpenTrades', '--max-open-trades');
  if (maxOpenTrades !== undefined) overrides.max_open_trades = maxOpenTrades;
  const stake = text(values.stakeAmount);
  if (stake !== undefined) overrides.stake_amount = stake === 'unlimited' ? stake : Number(stake);
  const timeframe = text(values.timeframe);
  if (timeframe) overrides.timeframe = timeframe;
  if (Array.isArray(values.pairs)) overrides.exchange = { pair_whitelist: values.pairs };
  const userdir = text(values.userdir);
  if (userdir) overrides.user_data_dir = userdir;
  const dbUrl = text(values.dbUrl);
  if (dbUrl) overrides.db_url = dbUrl;
  const era = text(values.era);
  if (era) overrides.sim = { era };
  return overrides;
};

/** Freqtrade's default: `user_data/config.json` if it exists, else `config.json`. */
const configPaths = (values: Record<string, string | string[] | true>): string[] => {
  if (Array.isArray(values.config) && values.config.length > 0) return values.config;
  const inUserdir = join(text(values.userdir) ?? 'user_data', 'config.json');
  return [existsSync(inUserdir) ? inUserdir : 'config.json'];
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const runTrade = async (
  values: Record<string, string | string[] | true>,
  logger: Logger,
  env: NodeJS.ProcessEnv,
): Promise<number> => {
  const paths = configPaths(values);
  const load = () => loadConfigFiles({ paths, overrides: overridesOf(values), env });
  const { config, envNames } = load();
  for (const path of paths)
    logger.log('INFO', 'freqtrade.configuration.load_config', `Using config: ${path} ...`);
  // Names only: the values may be exchange credentials.
  for (const name of envNames)
    logger.log('INFO', 'freqtrade.configuration.environment_vars', `Loading variable '${name}'`);
  const orderLogPath = env[ORDER_LOG_ENV_VAR];
  const orderLog =
    orderLogPath === undefined || orderLogPath === ''
      ? undefined
      : new OrderLog(orderLogPath, env.TRADAI_RUN_ID ?? null);
  orderLog?.record('process_started');
  const handle = await startFreqtradeSim(config, {
    clock: systemClock,
    log: stderrSink,
    ...(orderLog === undefined ? {} : { orderLog }),
    // A crash is not a shutdown: the process goes at once, like a Python process that died.
    exit: (code) => process.exit(code),
    reloadConfig: () => load().config,
    source: paths.join(', '),
  });
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.log('INFO', 'freqtrade', `${signal} received, aborting ...`);
    void handle.close();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return handle.exited;
};

const runOneShot = async (
  subcommand: 'backtesting' | 'hyperopt',
  values: Record<string, string | string[] | true>,
  logger: Logger,
  env: NodeJS.ProcessEnv,
): Promise<number> => {
  const paths = configPaths(values);
  const { config } = loadConfigFiles({ paths, overrides: overridesOf(values), env });
  for (const path of paths)
    logger.log('INFO', 'freqtrade.configuration.load_config', `Using config: ${path} ...`);
  const deps = {
    clock: systemClock,
    logger,
    print: (line: string) => process.stdout.write(`${line}\n`),
    sleep,
  };
  const args = {
    timerange: text(values.timerange),
    export: text(values.export),
    exportFilename: text(values.exportFilename),
    backtestDirectory: text(values.backtestDirectory),
    userdir: text(values.userdir),
    epochs: numberOption(values, 'epochs', '--epochs'),
    minTrades: numberOption(values, 'minTrades', '--min-trades'),
    notes: text(values.notes),
  };
  return subcommand === 'backtesting' ? runBacktesting(config, args, deps) : runHyperopt(config, args, deps);
};

/** Runs the CLI and resolves with the exit code. */
export const main = async (
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> => {
  const logger = createLogger(systemClock, stderrSink);
  try {
    const parsed = parseArgs(argv);
    if (parsed.kind === 'version') {
      process.stdout.write(`freqtrade ${SIM_FREQTRADE_VERSION}\n`);
      return 0;
    }
    if (parsed.kind === 'help') {
      process.stdout.write(`${USAGE}\n\nFreqtrade REST API simulator (no exchange is contacted).\n`);
      return 0;
    }
    logger.log('INFO', 'freqtrade', `freqtrade ${SIM_FREQTRADE_VERSION}`);
    if (parsed.subcommand === 'trade') return await runTrade(parsed.values, logger, env);
    return await runOneShot(parsed.subcommand, parsed.values, logger, env);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${USAGE}\nfreqtrade: error: ${error.message}\n`);
      return 2;
    }
    if (error instanceof ConfigError) {
      logger.log('ERROR', 'freqtrade', `Configuration error: ${error.message}`);
      return 1;
    }
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    logger.log('ERROR', 'freqtrade', `Fatal exception!\n${detail}`);
    return 1;
  }
};

const isEntryPoint = (): boolean => {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
};

// Run only as the entry point, so tests can import parseArgs and main.
if (isEntryPoint()) {
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
