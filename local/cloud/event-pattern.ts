/**
 * Event filtering as Lambda event source mappings and EventBridge rules evaluate it: a pattern is a tree of
 * objects whose leaves are arrays of matchers; every key of the pattern must match, any matcher in a leaf
 * array may match. Supported matchers: exact values, null, `prefix`, `suffix`, `anything-but`,
 * `numeric`, `exists`, `equals-ignore-case`.
 */
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type EventPattern = { [key: string]: EventPattern | Json[] };

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

const NUMERIC_OPERATORS: Record<string, (a: number, b: number) => boolean> = {
  '=': (a, b) => a === b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

const matchesNumeric = (value: unknown, conditions: Json[]): boolean => {
  if (typeof value !== 'number') return false;
  for (let index = 0; index + 1 < conditions.length; index += 2) {
    const operator = NUMERIC_OPERATORS[String(conditions[index])];
    const bound = conditions[index + 1];
    if (operator === undefined || typeof bound !== 'number' || !operator(value, bound)) return false;
  }
  return true;
};

/** One matcher against one present value (arrays in the event match if any element does). */
const matchesOne = (matcher: Json, value: unknown): boolean => {
  if (!isObject(matcher)) return matcher === value;
  const [[operator, operand] = []] = Object.entries(matcher);
  switch (operator) {
    case 'prefix':
      return typeof value === 'string' && typeof operand === 'string' && value.startsWith(operand);
    case 'suffix':
      return typeof value === 'string' && typeof operand === 'string' && value.endsWith(operand);
    case 'equals-ignore-case':
      return (
        typeof value === 'string' &&
        typeof operand === 'string' &&
        value.toLowerCase() === operand.toLowerCase()
      );
    case 'anything-but': {
      if (isObject(operand) && typeof operand.prefix === 'string') {
        return typeof value === 'string' && !value.startsWith(operand.prefix);
      }
      const excluded: unknown[] = Array.isArray(operand) ? operand : [operand];
      return value !== undefined && !excluded.includes(value);
    }
    case 'numeric':
      return Array.isArray(operand) && matchesNumeric(value, operand);
    default:
      return false;
  }
};

const matchesLeaf = (matchers: Json[], value: unknown): boolean => {
  const present = value !== undefined;
  return matchers.some((matcher) => {
    if (isObject(matcher) && 'exists' in matcher) return matcher.exists === present;
    if (!present) return false;
    const values = Array.isArray(value) ? value : [value];
    return values.some((item) => matchesOne(matcher, item));
  });
};

export const matchesPattern = (pattern: EventPattern, event: unknown): boolean =>
  Object.entries(pattern).every(([key, rule]) => {
    const value = isObject(event) ? event[key] : undefined;
    if (Array.isArray(rule)) return matchesLeaf(rule, value);
    if (!isObject(value)) {
      // A nested rule on an absent branch can only match `exists: false` leaves.
      return Object.values(rule).every(
        (leaf) => Array.isArray(leaf) && leaf.some((m) => isObject(m) && m.exists === false),
      );
    }
    return matchesPattern(rule, value);
  });

/** Lambda keeps a record when any of the mapping's filters matches it; no filters keep everything. */
export const matchesAnyFilter = (patterns: readonly EventPattern[], event: unknown): boolean =>
  patterns.length === 0 || patterns.some((pattern) => matchesPattern(pattern, event));
