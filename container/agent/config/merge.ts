/**
 * Runtime overrides on top of the base Freqtrade config, like OmegaConf's merge (seed §4):
 * objects merge key by key, arrays and scalars replace, `null` replaces too.
 */
export type JsonObject = { [key: string]: unknown };

export const isPlainObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Keys that would reach Object.prototype through a merged JSON document. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export const deepMerge = (base: unknown, override: unknown): unknown => {
  if (!isPlainObject(base) || !isPlainObject(override)) return structuredClone(override);
  const merged: JsonObject = {};
  for (const [key, value] of Object.entries(base)) {
    if (!FORBIDDEN_KEYS.has(key)) merged[key] = structuredClone(value);
  }
  for (const [key, value] of Object.entries(override)) {
    if (FORBIDDEN_KEYS.has(key) || value === undefined) continue;
    merged[key] = key in merged ? deepMerge(merged[key], value) : structuredClone(value);
  }
  return merged;
};

export const deepMergeAll = (base: JsonObject, ...overrides: unknown[]): JsonObject => {
  let merged: unknown = base;
  for (const override of overrides) merged = deepMerge(merged, override);
  return isPlainObject(merged) ? merged : {};
};
