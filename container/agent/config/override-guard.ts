import { credentialPathsOf } from '../../../shared/domain/overrides';
import { StrategyConfigValidationError } from '../errors';

/**
 * The agent's second line behind the API's allow-list (shared/domain/overrides): a session item written by
 * anything but the start route (an older API, a hand edit, a compromised writer) still cannot put
 * credentials, another strategy class, another trade database or a remote control into Freqtrade's config.
 * `dry_run` is not listed: the loader sets it from TRADING_MODE whatever an override says.
 */
const NEVER_FROM_A_SESSION = new Set([
  'strategy',
  'db_url',
  'api_server',
  'telegram',
  'webhook',
  'discord',
  'initial_state',
  'ccxt_config',
  'ccxt_async_config',
  'ccxt_sync_config',
]);

/** Throws naming every refused path (never a value, which may be a secret). */
export const guardOverrides = (overrides: Record<string, unknown>): void => {
  const refused = [
    ...Object.keys(overrides)
      .filter((key) => NEVER_FROM_A_SESSION.has(key))
      .map((key) => ({ path: `overrides.${key}`, message: 'may not be set by a session' })),
    ...credentialPathsOf(overrides)
      .filter((path) => !NEVER_FROM_A_SESSION.has(path[0] ?? ''))
      .map((path) => ({
        path: `overrides.${path.join('.')}`,
        message: 'looks like a credential: credentials come from EXCHANGE_SECRET_NAME',
      })),
    ...(typeof overrides.exchange === 'object' && overrides.exchange !== null
      ? Object.keys(overrides.exchange)
          .filter((key) => key.startsWith('ccxt_'))
          .map((key) => ({ path: `overrides.exchange.${key}`, message: 'may not be set by a session' }))
      : []),
  ];
  if (refused.length > 0) throw new StrategyConfigValidationError('session overrides', refused);
};
