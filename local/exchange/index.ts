/**
 * A local Binance-spot stand-in for real Freqtrade (dry-run): a seeded market over the public REST
 * routes ccxt and Freqtrade call, with scenario knobs (crash, stall, 5xx bursts).
 */
export { DEFAULT_SYMBOLS, INTERVAL_MS, type Interval, type SymbolSpec } from './constants';
export {
  REAL_FREQTRADE_CMD,
  realFreqtradeAvailable,
  realFreqtradeEnvironment,
  STRATEGY_PATH,
} from './freqtrade';
export { type Candle, type Crash, SeededMarket } from './market';
export { type ScenarioInput, ScenarioInputSchema, type ScenarioState } from './schemas';
export { ccxtConfigFor, type LocalExchange, type LocalExchangeOptions, startLocalExchange } from './server';
