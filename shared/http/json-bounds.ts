import type { FieldIssue } from '../domain/errors';

/**
 * Nothing this API takes nests deeper than five levels; DynamoDB refuses items nested deeper than 32, and
 * a body's parts are stored one or two levels down (a session's `overrides`, an audit record). 16 keeps
 * every stored copy well inside DynamoDB's limit, so a deep body is the caller's 400, never a 500.
 */
export const MAX_JSON_DEPTH = 16;

/**
 * DynamoDB numbers: zero, or a magnitude from 1e-130 up to (not including) 1e126. JSON.parse turns 1e400
 * into Infinity and keeps 1e-200 and 1e300 as they are; none of them can be stored. The SDK's marshaller
 * (lib-dynamodb without allowImpreciseNumbers) also throws on any magnitude above Number.MAX_SAFE_INTEGER,
 * which DynamoDB itself could store: that is the upper bound (fuzz found 9.2e44 as a 500).
 */
const MIN_MAGNITUDE = 1e-130;
const MAX_MAGNITUDE = Number.MAX_SAFE_INTEGER;

const storable = (value: number): boolean =>
  Number.isFinite(value) &&
  (value === 0 || (Math.abs(value) >= MIN_MAGNITUDE && Math.abs(value) <= MAX_MAGNITUDE));

/** At most this many number issues are named; one is enough to fix, a thousand would flood the answer. */
const MAX_ISSUES = 20;

export type JsonBoundsCheck =
  | { ok: true }
  | { ok: false; reason: 'too_deep'; field: string }
  | { ok: false; reason: 'bad_numbers'; issues: FieldIssue[] };

/**
 * Walks a parsed JSON body without recursion (a body of 100,000 nested arrays must not overflow the stack)
 * and stops at the first level past MAX_JSON_DEPTH.
 */
export const checkJsonBounds = (root: unknown): JsonBoundsCheck => {
  const issues: FieldIssue[] = [];
  const stack: { value: unknown; path: string[] }[] = [{ value: root, path: [] }];
  while (stack.length > 0) {
    const { value, path } = stack.pop() as { value: unknown; path: string[] };
    if (typeof value === 'number') {
      if (!storable(value) && issues.length < MAX_ISSUES) {
        issues.push({
          field: path.join('.') || '(body)',
          message: `must be a finite number, 0 or between ${MIN_MAGNITUDE} and ${MAX_MAGNITUDE} in magnitude`,
        });
      }
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (path.length >= MAX_JSON_DEPTH)
      return { ok: false, reason: 'too_deep', field: path.slice(0, 3).join('.') };
    const entries = Array.isArray(value)
      ? value.map((item, index) => [String(index), item] as const)
      : Object.entries(value);
    for (const [key, child] of entries) stack.push({ value: child, path: [...path, key] });
  }
  return issues.length === 0 ? { ok: true } : { ok: false, reason: 'bad_numbers', issues };
};
