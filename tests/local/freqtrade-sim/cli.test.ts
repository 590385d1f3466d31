import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ShowConfigSchema } from '../../../local/freqtrade-sim/index';
import { get, simConfig, waitFor } from './helpers';

const BIN = resolve(import.meta.dirname, '../../../local/freqtrade-sim/bin/freqtrade');

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'ftsim-'));
  dirs.push(dir);
  return dir;
};

const writeConfig = (dir: string, name: string, config: unknown): string => {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
};

/** Spawns the CLI as the agent does: the script itself, from another working directory. */
const runCli = (args: string[], options: { cwd: string; env?: Record<string, string> }): Run => {
  const child = spawn(BIN, args, {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    child.on('exit', (code, signal) => resolveExit({ code, signal })),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, exit };
};

/** The port the spawned simulator bound (the config asks for port 0). */
const portOf = (run: Run): Promise<number> =>
  waitFor(
    () => {
      const match = /Listening on 127\.0\.0\.1:(\d+)/.exec(run.stderr());
      return match ? Number(match[1]) : undefined;
    },
    'the simulator to listen',
    20_000,
  );

const LOG_LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - [\w.]+ - (INFO|WARNING|ERROR|DEBUG) - /;

describe('FreqtradeSim: command line', () => {
  it('serves /api/v1/ping from a spawned `freqtrade trade` and exits 0 on SIGTERM', async () => {
    // Prepare
    const dir = tempDir();
    const config = writeConfig(dir, 'config.json', simConfig({ initial_state: 'running' }));

    // Act
    const run = runCli(['trade', '--config', config], { cwd: dir });
    const port = await portOf(run);
    const ping = await get(`http://127.0.0.1:${port}`, '/api/v1/ping', null);
    run.child.kill('SIGTERM');
    const exit = await run.exit;

    // Assess
    expect(ping.body).toEqual({ status: 'pong' });
    expect(exit).toEqual({ code: 0, signal: null });
    const lines = run.stderr().trim().split('\n');
    expect(lines.every((line) => LOG_LINE.test(line))).toBe(true);
    expect(run.stderr()).toContain('freqtrade.worker - INFO - Bot heartbeat. PID=');
    expect(run.stderr()).toContain('SIGTERM received, aborting ...');
  });

  it('merges several --config files, later ones winning, and never logs or echoes credentials', async () => {
    const dir = tempDir();
    const base = writeConfig(dir, 'base.json', simConfig({ bot_name: 'base' }));
    const override = writeConfig(dir, 'override.json', { bot_name: 'override', max_open_trades: 5 });
    const env = {
      FREQTRADE__EXCHANGE__KEY: 'exchange-key-42',
      FREQTRADE__EXCHANGE__SECRET: 'exchange-secret-42',
    };

    const run = runCli(['trade', '-c', base, '-c', override, '--strategy', 'CliStrategy'], { cwd: dir, env });
    const port = await portOf(run);
    const response = await get(`http://127.0.0.1:${port}`, '/api/v1/show_config');
    run.child.kill('SIGINT');
    await run.exit;

    const config = ShowConfigSchema.parse(response.body);
    expect(config).toMatchObject({ bot_name: 'override', max_open_trades: 5, strategy: 'CliStrategy' });
    const everything = `${run.stdout()}${run.stderr()}${JSON.stringify(response.body)}`;
    expect(everything).not.toContain('exchange-key-42');
    expect(everything).not.toContain('exchange-secret-42');
    expect(everything).not.toContain('correct-horse-battery');
    expect(run.stderr()).toContain("Loading variable 'FREQTRADE__EXCHANGE__KEY'");
  });

  it('exits with the crash scenario code given in FREQTRADE_SIM_SCENARIO', async () => {
    const dir = tempDir();
    const config = writeConfig(dir, 'config.json', simConfig());

    const run = runCli(['trade', '--config', config], {
      cwd: dir,
      env: { FREQTRADE_SIM_SCENARIO: JSON.stringify({ name: 'crash', at_s: 0, exit_code: 7 }) },
    });
    const exit = await run.exit;

    expect(exit.code).toBe(7);
    expect(run.stderr()).toContain('Fatal exception!');
  });

  it('exits non-zero with a message naming the offending field on a bad config', async () => {
    const dir = tempDir();
    const config = writeConfig(
      dir,
      'config.json',
      simConfig({ api_server: { listen_ip_address: '0.0.0.0' } }),
    );

    const run = runCli(['trade', '--config', config], { cwd: dir });
    const exit = await run.exit;

    expect(exit.code).toBe(1);
    expect(run.stderr()).toContain('api_server.listen_ip_address');
    expect(run.stderr()).toContain('must be 127.0.0.1');
  });

  it('names a missing config file', async () => {
    const dir = tempDir();

    const run = runCli(['trade', '--config', 'missing.json'], { cwd: dir });

    expect((await run.exit).code).toBe(1);
    expect(run.stderr()).toContain('missing.json');
  });

  it('prints its version and refuses an unknown subcommand with exit 2 and a usage line', async () => {
    const dir = tempDir();

    const version = runCli(['--version'], { cwd: dir });
    const unknown = runCli(['webserver'], { cwd: dir });

    expect((await version.exit).code).toBe(0);
    expect(version.stdout()).toMatch(/^freqtrade \S+/);
    expect((await unknown.exit).code).toBe(2);
    expect(unknown.stderr()).toMatch(/^usage: freqtrade/);
  });

  it('runs backtesting and writes its result where --backtest-directory says', async () => {
    const dir = tempDir();
    const config = writeConfig(dir, 'config.json', simConfig({ sim: { oneshot_ms: 0 } }));
    const results = join(dir, 'results');

    const run = runCli(
      [
        'backtesting',
        '--config',
        config,
        '--backtest-directory',
        results,
        '--timerange',
        '20250101-20250201',
      ],
      {
        cwd: dir,
      },
    );
    const exit = await run.exit;

    expect(exit.code).toBe(0);
    const latest = JSON.parse(readFileSync(join(results, '.last_result.json'), 'utf8')) as {
      latest_backtest: string;
    };
    expect(latest.latest_backtest).toMatch(/^backtest-result-\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d\.json$/);
    const result = JSON.parse(readFileSync(join(results, latest.latest_backtest), 'utf8')) as {
      strategy: Record<string, { total_trades: number; backtest_start: string; trades: unknown[] }>;
      strategy_comparison: { key: string }[];
    };
    expect(result.strategy.SampleStrategy?.total_trades).toBeGreaterThan(0);
    expect(result.strategy.SampleStrategy?.backtest_start).toBe('2025-01-01 00:00:00');
    expect(result.strategy_comparison[0]?.key).toBe('SampleStrategy');
    expect(run.stdout()).toContain('Result for strategy SampleStrategy');
  });

  it('runs hyperopt into user_data/hyperopt_results, and fails with a crash scenario', async () => {
    const dir = tempDir();
    const config = writeConfig(dir, 'config.json', simConfig({ sim: { oneshot_ms: 0 } }));
    const crashing = writeConfig(
      dir,
      'crash.json',
      simConfig({ sim: { oneshot_ms: 0, scenario: { name: 'crash', exit_code: 3 } } }),
    );

    const ok = runCli(['hyperopt', '--config', config, '--epochs', '5', '--userdir', 'user_data'], {
      cwd: dir,
    });
    const failed = runCli(['backtesting', '--config', crashing], { cwd: dir });
    const [okExit, failedExit] = await Promise.all([ok.exit, failed.exit]);

    expect(okExit.code).toBe(0);
    const files = readdirSync(join(dir, 'user_data', 'hyperopt_results'));
    const fthypt = files.find((file) => file.endsWith('.fthypt'));
    expect(fthypt).toMatch(/^strategy_SampleStrategy_.*\.fthypt$/);
    const epochs = readFileSync(join(dir, 'user_data', 'hyperopt_results', fthypt ?? ''), 'utf8')
      .trim()
      .split('\n');
    expect(epochs).toHaveLength(5);
    expect(failedExit.code).toBe(3);
    expect(existsSync(join(dir, 'user_data', 'backtest_results'))).toBe(false);
  });
});
