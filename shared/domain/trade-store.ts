import type { StrategyId, TradingMode } from './session';

/**
 * Where Freqtrade keeps a strategy's trades on the durable trade store (EFS in AWS, a folder of the data
 * dir locally), as every platform adapter hands it to the agent in TRADE_DB_URL: one folder per strategy,
 * one database per mode, so a dry-run never mixes with live money and a replacement task finds the file
 * its predecessor wrote. SQLAlchemy's sqlite URL of an absolute path has four slashes.
 */
export const tradeDbUrlOf = (storeRoot: string, strategyId: StrategyId, mode: TradingMode): string => {
  if (!storeRoot.startsWith('/')) throw new RangeError(`the trade store root must be absolute: ${storeRoot}`);
  return `sqlite:///${storeRoot.replace(/\/+$/, '')}/${strategyId}/tradesv3.${mode}.sqlite`;
};
