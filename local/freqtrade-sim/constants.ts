/** Reported by /version, /show_config and `--version`; the suffix tells a simulator from the real bot. */
export const SIM_FREQTRADE_VERSION = '2025.6-sim';

/** Reported in the 2024 era (`sim.era: "2024"`): before /pause, when /stopentry set max_open_trades to 0. */
export const SIM_FREQTRADE_2024_VERSION = '2024.12-sim';

/** Freqtrade's REST API version (`api_version` in /show_config) the simulator's routes follow. */
export const API_VERSION = 2.43;

/** Freqtrade signs JWTs with this when `api_server.jwt_secret_key` is not set. */
export const DEFAULT_JWT_SECRET = 'super-secret';

/** Freqtrade's token lifetimes: 15 minutes for access tokens, 30 days for refresh tokens. */
export const DEFAULT_ACCESS_TOKEN_TTL_S = 15 * 60;
export const DEFAULT_REFRESH_TOKEN_TTL_S = 30 * 24 * 3600;

/** Freqtrade's `dry_run_wallet` default. */
export const DEFAULT_DRY_RUN_WALLET = 1000;

export const API_PREFIX = '/api/v1';
export const SIM_PREFIX = '/sim';

/** The only address the simulator binds to: it stands in for a bot that must never be reachable. */
export const LOOPBACK = '127.0.0.1';
