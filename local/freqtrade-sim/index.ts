/**
 * A Freqtrade REST API simulator: stands in for `freqtrade trade` where Freqtrade is not installed,
 * with a deterministic paper market and scenario knobs (drawdown, crash, hang, errors, slow,
 * stuck loop). The CLI (`bin/freqtrade`) and in-process users share `startFreqtradeSim`.
 */
export { ApiAuth, signJwt, verifyJwt } from './auth';
export { type BotCommand, type BotState, CAPABILITIES, TRANSITIONS } from './bot';
export {
  type FreqtradeConfig,
  FreqtradeConfigSchema,
  loadConfigFiles,
  resolveConfig,
  SCENARIO_ENV_VAR,
  type SimBlock,
  SimBlockSchema,
} from './config';
export { API_VERSION, SIM_FREQTRADE_VERSION } from './constants';
export { ConfigError, FreqtradeSimError, UsageError } from './errors';
export { createRng, PaperMarket, type Rng } from './market';
export { type Scenario, type ScenarioInput, ScenarioSchema } from './scenarios';
export * from './schemas';
export { type FreqtradeSimHandle, type FreqtradeSimOptions, startFreqtradeSim } from './sim';
