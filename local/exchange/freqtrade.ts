/**
 * What the local cloud needs to run real Freqtrade (the project's .venv, pinned by python/requirements.txt)
 * in its containers instead of the simulator: the command, and the environment that points every
 * Freqtrade at the local exchange and at the repository's strategies.
 *
 * The exchange URL goes through Freqtrade's own environment overrides (FREQTRADE__SECTION__KEY, which
 * win over the config file; under `ccxt_config` the last key keeps its case), so the registry's base
 * config stays static while each run's exchange listens on a free port. `ccxt_config` reaches both of
 * Freqtrade's ccxt clients (sync and async): Freqtrade merges it into `ccxt_async_config` itself.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export const REAL_FREQTRADE_CMD = join(REPO_ROOT, '.venv/bin/freqtrade');
/** Freqtrade's `strategy_path`: the folder holding the demo strategy's module. */
export const STRATEGY_PATH = join(REPO_ROOT, 'strategies/tradai_demo');

export const realFreqtradeAvailable = (): boolean => existsSync(REAL_FREQTRADE_CMD);

/** Container environment for real Freqtrade against the local exchange at `exchangeUrl`. */
export const realFreqtradeEnvironment = (exchangeUrl: string): Record<string, string> => {
  const prefix = 'FREQTRADE__EXCHANGE__CCXT_CONFIG__URLS__API__';
  return {
    [`${prefix}public`]: `${exchangeUrl}/api/v3`,
    [`${prefix}private`]: `${exchangeUrl}/api/v3`,
    [`${prefix}v1`]: `${exchangeUrl}/api/v1`,
    [`${prefix}sapi`]: `${exchangeUrl}/sapi/v1`,
    FREQTRADE__STRATEGY_PATH: STRATEGY_PATH,
  };
};
