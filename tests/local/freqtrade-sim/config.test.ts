import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../../local/freqtrade-sim/cli';
import { configFromEnv, loadConfigFiles, parseJsonc } from '../../../local/freqtrade-sim/config';
import { ConfigError, resolveConfig, UsageError } from '../../../local/freqtrade-sim/index';
import { simConfig } from './helpers';

const issueFields = (run: () => unknown): string[] => {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((issue) => issue.field);
    throw error;
  }
  throw new Error('expected a ConfigError');
};

describe('FreqtradeSim: configuration', () => {
  it('applies Freqtrade defaults: stopped, 1000 dry-run wallet, 15-minute tokens', () => {
    const { config } = resolveConfig(simConfig());

    expect(config.initial_state).toBe('stopped');
    expect(config.dry_run_wallet).toBe(1000);
    expect(config.sim.access_token_ttl_s).toBe(900);
    expect(config.sim.scenario).toEqual({ name: 'steady' });
    expect(Object.isFrozen(config.exchange)).toBe(true);
  });

  it('refuses any listen address but 127.0.0.1, naming the field', () => {
    const fields = issueFields(() =>
      resolveConfig(simConfig({ api_server: { listen_ip_address: '0.0.0.0' } })),
    );

    expect(fields).toEqual(['api_server.listen_ip_address']);
  });

  it('keeps unknown Freqtrade keys but refuses unknown simulator keys', () => {
    const { config } = resolveConfig(
      simConfig({ telegram: { enabled: false }, unfilledtimeout: { entry: 5 } }),
    );

    expect((config as Record<string, unknown>).telegram).toEqual({ enabled: false });
    expect(issueFields(() => resolveConfig(simConfig({ sim: { tick_msec: 5 } })))).toEqual(['sim']);
  });

  it('names every invalid field at once', () => {
    const fields = issueFields(() =>
      resolveConfig(
        simConfig({ stake_amount: 0, trading_mode: 'futures', exchange: { pair_whitelist: ['BTC/EUR'] } }),
      ),
    );

    expect(fields).toEqual(
      expect.arrayContaining(['stake_amount', 'margin_mode', 'exchange.pair_whitelist.0']),
    );
  });

  it('reads FREQTRADE__SECTION__KEY like Freqtrade, keeping credentials as strings', () => {
    const { values, names } = configFromEnv({
      FREQTRADE__EXCHANGE__KEY: '12345',
      FREQTRADE__EXCHANGE__SECRET: 'abc',
      FREQTRADE__MAX_OPEN_TRADES: '5',
      FREQTRADE__DRY_RUN: 'false',
      OTHER: 'x',
    });

    expect(values).toEqual({ exchange: { key: '12345', secret: 'abc' }, max_open_trades: 5, dry_run: false });
    expect(names).toEqual([
      'FREQTRADE__DRY_RUN',
      'FREQTRADE__EXCHANGE__KEY',
      'FREQTRADE__EXCHANGE__SECRET',
      'FREQTRADE__MAX_OPEN_TRADES',
    ]);
  });

  it('lets FREQTRADE_SIM_SCENARIO override the scenario, and names it when it is invalid', () => {
    const env = { FREQTRADE_SIM_SCENARIO: '{"name":"crash","at_s":3,"exit_code":4}' };

    const { config } = resolveConfig(simConfig({ sim: { scenario: { name: 'steady' } } }), env);

    expect(config.sim.scenario).toEqual({ name: 'crash', at_s: 3, exit_code: 4 });
    expect(
      issueFields(() => resolveConfig(simConfig(), { FREQTRADE_SIM_SCENARIO: '{"name":"hang","at_s":-1}' })),
    ).toEqual(['FREQTRADE_SIM_SCENARIO.at_s']);
    expect(issueFields(() => resolveConfig(simConfig(), { FREQTRADE_SIM_SCENARIO: 'not json' }))).toEqual([
      'FREQTRADE_SIM_SCENARIO',
    ]);
  });

  it('merges config files in order, then the environment, then the command line', () => {
    const files: Record<string, string> = {
      'base.json': JSON.stringify(simConfig({ bot_name: 'base', max_open_trades: 2 })),
      'override.json': '{ "bot_name": "override", /* a comment */ "max_open_trades": 4, }',
    };

    const { config } = loadConfigFiles({
      paths: ['base.json', 'override.json'],
      env: { FREQTRADE__MAX_OPEN_TRADES: '6' },
      overrides: { strategy: 'FromCli' },
      readFile: (path) => files[path] ?? '',
    });

    expect(config.bot_name).toBe('override');
    expect(config.max_open_trades).toBe(6);
    expect(config.strategy).toBe('FromCli');
  });

  it('parses JSON with comments and trailing commas but not inside strings', () => {
    expect(parseJsonc('{"url": "http://x//y", /* c */ "list": [1, 2,],}')).toEqual({
      url: 'http://x//y',
      list: [1, 2],
    });
  });

  it('parses the command line like argparse', () => {
    const parsed = parseArgs(['trade', '--config', 'a.json', '-c', 'b.json', '--strategy=S', '--dry-run']);

    expect(parsed).toEqual({
      kind: 'run',
      subcommand: 'trade',
      values: { config: ['a.json', 'b.json'], strategy: 'S', dryRun: true },
    });
    expect(
      parseArgs(['backtesting', '-p', 'BTC/USDT', 'ETH/USDT', '--timerange', '20240101-']),
    ).toMatchObject({
      values: { pairs: ['BTC/USDT', 'ETH/USDT'], timerange: '20240101-' },
    });
    expect(() => parseArgs(['trade', '--bogus'])).toThrow(UsageError);
    expect(() => parseArgs(['webserver'])).toThrow(UsageError);
  });
});
