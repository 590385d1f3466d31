import { describe, expect, it } from 'vitest';
import {
  DEFAULT_COMMAND_CONFIRM_S,
  DEFAULT_MAX_RESTARTS,
  DEFAULT_RESTART_WINDOW_S,
  DEFAULT_STARTUP_RETRY_S,
  FLATTEN_CONFIRM_S,
} from '../../container/agent/constants';
import { parseAgentEnv } from '../../container/agent/env';
import { oneShotArgs } from '../../container/agent/one-shot-run';

const BASE = {
  STRATEGY: 'SimStrategy',
  STRATEGY_ID: 'pascal',
  RUN_ID: 'dry-run-pascal-1',
  TRADING_MODE: 'dry-run',
  MLFLOW_TRACKING_URI: 'http://mlflow:5000',
  DYNAMODB_TABLE: 'tradai-workflow-state-dev',
  ARCTICDB_S3_URI: 's3://arctic',
  S3_CONFIG_BUCKET: 'configs',
};

describe('Agent env: fail-closed, restart and start-up retry bounds', () => {
  it('defaults to the documented constants', () => {
    const parsed = parseAgentEnv(BASE);
    if (!parsed.ok) throw new Error(parsed.message);
    expect(parsed.options).toMatchObject({
      commandConfirmTimeoutS: DEFAULT_COMMAND_CONFIRM_S,
      maxRestarts: DEFAULT_MAX_RESTARTS,
      restartWindowS: DEFAULT_RESTART_WINDOW_S,
      startupRetryS: DEFAULT_STARTUP_RETRY_S,
      flattenTimeoutS: FLATTEN_CONFIRM_S,
    });
  });

  it('reads each from its variable', () => {
    const parsed = parseAgentEnv({
      ...BASE,
      FREQTRADE_CONFIRM_TIMEOUT_S: '3',
      FREQTRADE_MAX_RESTARTS: '2',
      FREQTRADE_RESTART_WINDOW_S: '120',
      STARTUP_RETRY_S: '60',
      FLATTEN_TIMEOUT_S: '5',
    });
    if (!parsed.ok) throw new Error(parsed.message);
    expect(parsed.options).toMatchObject({
      commandConfirmTimeoutS: 3,
      maxRestarts: 2,
      restartWindowS: 120,
      startupRetryS: 60,
      flattenTimeoutS: 5,
    });
  });

  it.each([
    ['FREQTRADE_CONFIRM_TIMEOUT_S', '0'],
    ['FREQTRADE_MAX_RESTARTS', '0'],
    ['FREQTRADE_MAX_RESTARTS', '2.5'],
    ['FREQTRADE_RESTART_WINDOW_S', 'soon'],
    ['STARTUP_RETRY_S', '-1'],
    ['FLATTEN_TIMEOUT_S', '0'],
    // the sweep forces a stopping session's stop after STOP_GRACE_S (120 s): a longer flatten is cut short
    ['FLATTEN_TIMEOUT_S', '91'],
  ])('refuses %s=%s naming the variable', (name, value) => {
    const parsed = parseAgentEnv({ ...BASE, [name]: value });
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toContain(name);
  });
});

describe('Agent env: market data for one-shot runs', () => {
  it('passes MARKET_DATA_DIR to freqtrade as --datadir (a datadir in the config file is ignored by Freqtrade)', () => {
    // prepare
    const parsed = parseAgentEnv({
      ...BASE,
      TRADING_MODE: 'backtest',
      MARKET_DATA_DIR: '/mnt/market-data/binance',
    });
    if (!parsed.ok) throw new Error(parsed.message);

    // act
    const args = oneShotArgs('backtest', '/work/config.json', {}, parsed.options.marketDataDir);

    // assess
    expect(args).toEqual([
      'backtesting',
      '--config',
      '/work/config.json',
      '--export',
      'trades',
      '--datadir',
      '/mnt/market-data/binance',
    ]);
  });

  it('refuses a relative MARKET_DATA_DIR naming the variable', () => {
    const parsed = parseAgentEnv({ ...BASE, MARKET_DATA_DIR: 'user_data/data' });
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toContain('MARKET_DATA_DIR');
  });
});
