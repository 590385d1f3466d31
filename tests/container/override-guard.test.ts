import { describe, expect, it } from 'vitest';
import { guardOverrides } from '../../container/agent/config/override-guard';
import { StrategyConfigValidationError } from '../../container/agent/errors';

const SECRET = 'sk-live-SECRET-0123';

describe('Agent: session overrides, second line behind the API allow-list', () => {
  it.each([
    ['strategy', { strategy: 'OtherStrategy' }, 'overrides.strategy'],
    ['db_url', { db_url: `postgresql://u:${SECRET}@h/db` }, 'overrides.db_url'],
    ['api_server', { api_server: { enabled: true } }, 'overrides.api_server'],
    ['telegram', { telegram: { enabled: true, token: SECRET } }, 'overrides.telegram'],
    ['webhook', { webhook: { url: 'https://x.example' } }, 'overrides.webhook'],
    ['initial_state', { initial_state: 'running' }, 'overrides.initial_state'],
    ['ccxt_config', { ccxt_config: { apiKey: SECRET } }, 'overrides.ccxt_config'],
    [
      'exchange.ccxt_config',
      { exchange: { ccxt_config: { options: {} } } },
      'overrides.exchange.ccxt_config',
    ],
    ['exchange.api_key', { exchange: { api_key: SECRET } }, 'overrides.exchange.api_key'],
    ['exchange.private_key', { exchange: { private_key: SECRET } }, 'overrides.exchange.private_key'],
    ['a nested password', { sim: { auth: { password: SECRET } } }, 'overrides.sim.auth.password'],
  ])(
    'refuses an override of %s naming its path and never its value (an item not written by the API reached Freqtrade)',
    (_case, overrides, path) => {
      const error = (() => {
        try {
          guardOverrides(overrides);
          return undefined;
        } catch (caught) {
          return caught;
        }
      })();
      expect(error).toBeInstanceOf(StrategyConfigValidationError);
      expect((error as StrategyConfigValidationError).issues.map((issue) => issue.path)).toContain(path);
      expect(String(error)).not.toContain(SECRET);
    },
  );

  it('lets the allow-listed tuning keys through', () => {
    expect(() =>
      guardOverrides({
        stake_amount: 10,
        minimal_roi: { '0': 0.1 },
        internals: { process_throttle_secs: 1 },
        sim: { tick_ms: 200 },
        dry_run: false,
      }),
    ).not.toThrow();
  });
});
