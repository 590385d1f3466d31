import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { HANDOFF_MODES, MAX_WAIT_FLAT_S } from '../../shared/domain/handoff';
import { alertsCommand } from './commands/alerts';
import { type ControlAction, controlCommand } from './commands/control';
import { CARRY_WAIT_S, deployBodyOf, restartBodyOf, rollCommand } from './commands/deploy';
import { lsCommand } from './commands/ls';
import { promoteCommand } from './commands/promote';
import { historyCommand, showCommand } from './commands/read';
import { haltCommand, resumeScopeCommand } from './commands/scope';
import { startCommand } from './commands/start';
import { tokenCommand } from './commands/token';
import { type CliIo, type CommandContext, createContext, type GlobalOptions } from './context';
import { CliError } from './errors';
import { EXIT, EXIT_CODES_HELP } from './exit-codes';

const ENVIRONMENT_HELP = `
Environment:
  TRADAI_API_URL  the API (default: the local cloud npm start is running, else http://127.0.0.1:4000)
  TRADAI_TOKEN    a bearer token (default, for a local cloud only: one signed with its key, read + write)
  NO_COLOR        plain text`;

/** Exit code 130, as a shell reports Ctrl-C: a follow or a wait that was interrupted. */
export const INTERRUPTED = 130;

const numberIn =
  (min: number, max: number) =>
  (value: string): number => {
    const number = Number(value);
    if (value.trim() === '' || !Number.isFinite(number) || number < min || number > max)
      throw new InvalidArgumentError(`must be a number from ${min} to ${max}`);
    return number;
  };
const wholeIn = (min: number, max: number) => (value: string) => {
  const number = numberIn(min, max)(value);
  if (!Number.isInteger(number))
    throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}`);
  return number;
};

const reasonOption = () =>
  new Option('--reason <text>', 'why (kept in the audit trail and the session)').makeOptionMandatory();
const yesOption = () => new Option('-y, --yes', 'do not ask to confirm a command on a live session');

/**
 * `tradai`: the operator's command line for the control plane's HTTP API. Every command parses the API's
 * replies with zod and ends with an exit code saying what happened (tradai --help, "Exit codes").
 */
export const buildProgram = (
  io: CliIo,
  run: (work: (ctx: CommandContext) => Promise<void>) => Promise<void>,
) => {
  const program = new Command('tradai')
    .description('Operate TradAI strategies: the fleet, one strategy, start, pause, resume, stop, alerts.')
    .option('--api-url <url>', 'the HTTP API (env TRADAI_API_URL)')
    .option('--token <token>', 'a bearer token (env TRADAI_TOKEN)')
    .option('--json', 'machine output on stdout: one JSON document (JSON lines with alerts --follow)')
    .option('--no-color', 'plain text')
    .showSuggestionAfterError(true)
    .addHelpText('after', `${ENVIRONMENT_HELP}\n${EXIT_CODES_HELP}`)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // commander's "error: ..." in one line with where to look, as every command line of this project does.
      outputError: (text, write) => write(`${text.trim().split('\n')[0]} (see tradai --help)\n`),
    });
  program.configureHelp({ sortSubcommands: false, showGlobalOptions: true });
  const inherit = (command: Command) => command.copyInheritedSettings(program);

  program
    .command('ls')
    .description(
      'the fleet: a line per strategy (status, heartbeat against the stale threshold, PnL, drawdown)',
    )
    .option('-w, --watch', 'keep it on screen, polling with If-None-Match (--json: a JSON line per change)')
    .option('--interval <seconds>', 'how often --watch asks', numberIn(0.5, 300), 2)
    .action((options) => run((ctx) => lsCommand(ctx, options)));

  program
    .command('show')
    .description("one strategy's current session and its open trades")
    .argument('<strategy>', 'strategy id')
    .action((strategy: string) => run((ctx) => showCommand(ctx, strategy)));

  program
    .command('start')
    .description('start a session and follow it: pending -> launching -> running (exit 0) or failed (exit 4)')
    .argument('<strategy>', 'strategy id')
    .requiredOption('--model <name>', "the strategy's name in the model registry (e.g. MomentumStrategy)")
    .addOption(
      new Option('--mode <mode>', 'trading mode')
        .choices(['dry-run', 'live', 'backtest', 'hyperopt', 'train'])
        .makeOptionMandatory(),
    )
    .option('--alias <alias>', 'registry alias (e.g. champion)')
    .option('--stage <stage>', 'registry stage (e.g. Production); not with --alias')
    .option('--reason <text>', 'why (kept in the audit trail)')
    .option('--overrides <json|@file>', 'Freqtrade config overrides (the allow-list in the README)')
    .option('--risk-limits <json|@file>', 'risk limits (required for live)')
    .addOption(yesOption())
    .option('--no-wait', 'return once the start is accepted, without following it')
    .option('--timeout <seconds>', 'how long to follow the launch', numberIn(1, 3600), 600)
    .option('--interval <seconds>', 'how often to ask', numberIn(0.2, 60), 1)
    .action((strategy: string, options) => run((ctx) => startCommand(ctx, strategy, options)));

  const control = (action: ControlAction, description: string, confirmed: string) => {
    const command = program
      .command(action)
      .description(description)
      .argument('<strategy>', 'strategy id')
      .addOption(reasonOption())
      .addOption(yesOption());
    if (action === 'stop') command.option('--flatten', 'close the open positions before the bot stops');
    return command
      .option('--wait', `wait until the agent confirms (${confirmed})`)
      .option('--timeout <seconds>', 'how long --wait waits', numberIn(1, 3600), 120)
      .action((strategy: string, options) => run((ctx) => controlCommand(ctx, action, strategy, options)));
  };
  control('pause', 'pause a strategy: no new entries, open trades kept', 'paused');
  control('resume', 'resume a paused strategy', 'running');
  control('stop', 'stop a strategy (--flatten closes its open positions first)', 'stopped');

  program
    .command('promote')
    .description(
      'move a model version to a stage (Staging, Production) or an alias in the registry (audited)',
    )
    .argument('<strategy>', 'strategy id')
    .requiredOption('--version <n>', 'the registry version number')
    .requiredOption(
      '--to <stage|alias>',
      'Staging or Production (a stage transition), or an alias (e.g. champion)',
    )
    .addOption(reasonOption())
    .option('--model <name>', "the registered model (default: the strategy's current or last session's)")
    .action((strategy: string, options) => run((ctx) => promoteCommand(ctx, strategy, options)));

  const followOptions = (command: Command) =>
    command
      .addOption(yesOption())
      .option('--no-wait', 'return once the handoff is accepted, without following it')
      .option('--timeout <seconds>', 'how long to follow the handoff', numberIn(1, 7200), 600)
      .option('--interval <seconds>', 'how often to ask', numberIn(0.01, 60), 1)
      .option(
        '--carry-wait <seconds>',
        'once the new run trades, how long its Freqtrade may take to list the carried trades (then exit 4 naming them)',
        numberIn(0.01, 3600),
        CARRY_WAIT_S,
      );

  followOptions(
    program
      .command('deploy')
      .description(
        'roll a running strategy to another version through a handoff and follow it: old pausing -> stopping -> new launching -> running (exit 0) or failed (exit 4, naming any rollback)',
      )
      .argument('<strategy>', 'strategy id')
      .option('--version <n>', 'an exact registry version')
      .option('--alias <alias>', 'a registry alias (e.g. challenger)')
      .option('--stage <stage>', 'a registry stage (e.g. Staging)')
      .addOption(
        new Option(
          '--handoff <mode>',
          'carry_positions: the new version manages the open trades; wait_flat: the old one closes them first (bounded)',
        )
          .choices(HANDOFF_MODES)
          .makeOptionMandatory(),
      )
      .option(
        '--wait-flat-s <seconds>',
        'wait_flat: how long the old version may take to go flat (default 300)',
        wholeIn(1, MAX_WAIT_FLAT_S),
      )
      .addOption(reasonOption()),
  ).action((strategy: string, options) =>
    run((ctx) => rollCommand(ctx, 'deploy', strategy, deployBodyOf(options), options)),
  );

  followOptions(
    program
      .command('restart')
      .description(
        'the same version on a fresh task through the same handoff (exchange credential rotation), followed as deploy is',
      )
      .argument('<strategy>', 'strategy id')
      .addOption(reasonOption()),
  ).action((strategy: string, options) =>
    run((ctx) => rollCommand(ctx, 'restart', strategy, restartBodyOf(options), options)),
  );

  program
    .command('halt')
    .description(
      'halt the fleet or one exchange account: reducing (no new entries) or halted (every position closed, then every session stopped)',
    )
    .option('--account <id>', 'one exchange account instead of the whole fleet')
    .addOption(new Option('--mode <mode>', 'how hard').choices(['reducing', 'halted']).makeOptionMandatory())
    .addOption(reasonOption())
    .addOption(yesOption())
    .action((options) => run((ctx) => haltCommand(ctx, options)));

  program
    .command('resume-fleet')
    .description('lift a halt of the fleet or one account (asks to confirm unless --yes)')
    .option('--account <id>', 'one exchange account instead of the whole fleet')
    .addOption(reasonOption())
    .addOption(yesOption())
    .action((options) => run((ctx) => resumeScopeCommand(ctx, options)));

  program
    .command('alerts')
    .description('alert history, newest first (--follow: new alerts as they come, oldest first)')
    .option('--strategy <id>', "one strategy's alerts")
    .option('--since <time|age>', 'an ISO time or an age: 30m, 2h, 7d')
    .addOption(
      new Option('--severity <level>', 'only this severity').choices(['INFO', 'WARNING', 'CRITICAL']),
    )
    .option('--limit <n>', 'at most this many', wholeIn(1, 10_000), 50)
    .option('-f, --follow', 'keep printing new alerts until Ctrl-C')
    .option('--interval <seconds>', 'how often --follow asks', numberIn(0.2, 300), 2)
    .action((options) => run((ctx) => alertsCommand(ctx, options)));

  program
    .command('history')
    .description("a session's PnL and equity, one point per heartbeat (default: the current session)")
    .argument('<strategy>', 'strategy id')
    .option('--run <runId>', 'another session of this strategy')
    .option('--from <time>', 'ISO time')
    .option('--to <time>', 'ISO time')
    .option('--limit <n>', 'at most this many points', wholeIn(1, 100_000), 100)
    .action((strategy: string, options) => run((ctx) => historyCommand(ctx, strategy, options)));

  program
    .command('token')
    .description("print a token signed with the local cloud's key (local only; in AWS log in with Cognito)")
    .option(
      '--scopes <scopes>',
      'strategies:read, strategies:write, strategies:live',
      'strategies:read strategies:write',
    )
    .option('--groups <groups>', 'live (= tradai-live) to start and resume live sessions', '')
    .option('--subject <name>', 'who the token names in the audit trail (default: your login name)')
    .option('--ttl <seconds>', 'lifetime, 60 to 604800', String(12 * 3600))
    .option('--data <folder>', "sign with this data folder's key instead")
    .action((options) => run((ctx) => tokenCommand(ctx, options)));

  for (const command of program.commands) inherit(command);
  return program;
};

const report = (error: CliError, json: boolean, io: CliIo) => {
  if (json)
    io.stderr.write(
      `${JSON.stringify({ error: { message: error.message, exit_code: error.exitCode, ...error.detail } })}\n`,
    );
  else io.stderr.write(`tradai: ${error.message}\n`);
};

/** Runs one command line; resolves to the exit code (never throws, never exits the process itself). */
export const runTradai = async (argv: readonly string[], io: CliIo): Promise<number> => {
  let globals: GlobalOptions = {};
  const program = buildProgram(io, async (work) => {
    globals = program.opts<GlobalOptions>();
    await work(createContext(globals, io));
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return io.signal.aborted ? INTERRUPTED : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (error instanceof CliError) {
      report(error, globals.json === true, io);
      return error.exitCode;
    }
    const unexpected = new CliError(
      `unexpected ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
      EXIT.error,
    );
    report(unexpected, globals.json === true, io);
    if (io.env.TRADAI_DEBUG === '1' && error instanceof Error) io.stderr.write(`${error.stack}\n`);
    return EXIT.error;
  }
};
