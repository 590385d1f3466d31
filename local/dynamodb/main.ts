import { describeArgsError, exitWithUsageError, lockDataFolder } from '../cli';
import { DEFAULT_CLI_DATA_DIR, DEFAULT_CLI_PORT, parseCliOptions, runCli } from './cli';

const USAGE = `
Usage: npm run dynamodb:local [-- options]
  The embedded DynamoDB (dynalite) over HTTP on 127.0.0.1, with DynamoDB Streams; Ctrl-C stops it.
  --port <port>         listen port (default ${DEFAULT_CLI_PORT}, 0 = any free port)
  --data <folder>       where tables are kept (default ${DEFAULT_CLI_DATA_DIR})
  --memory              keep nothing (excludes --data)
  -h, --help            this text
`;

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  process.stdout.write(`${USAGE.trim()}\n`);
  process.exit(0);
}
const refuse = (error: unknown): never => {
  // A wrong option or value is the caller's mistake: one line, exit 2; anything else is a fault.
  const usage = describeArgsError(error);
  if (usage !== undefined) exitWithUsageError(usage);
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
};
// One process per folder: a second dynalite on it answers its first request with 'Database is closed'.
const { dataDir } = (() => {
  try {
    return parseCliOptions(argv);
  } catch (error) {
    return refuse(error);
  }
})();
if (dataDir !== undefined) await lockDataFolder(dataDir, 'npm run dynamodb:local');
runCli(argv).then(() => process.exit(0), refuse);
