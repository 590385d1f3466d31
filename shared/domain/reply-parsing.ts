import type * as z from 'zod';

const MAX_PASSES = 3;

const withoutKeys = (value: unknown, path: readonly PropertyKey[], keys: readonly string[]): unknown => {
  if (value === null || typeof value !== 'object') return value;
  const [head, ...rest] = path;
  if (Array.isArray(value)) {
    if (head === undefined) return value;
    return value.map((item, index) => (index === Number(head) ? withoutKeys(item, rest, keys) : item));
  }
  const record = value as Record<string, unknown>;
  if (head === undefined)
    return Object.fromEntries(Object.entries(record).filter(([key]) => !keys.includes(key)));
  const key = String(head);
  return key in record ? { ...record, [key]: withoutKeys(record[key], rest, keys) } : record;
};

/**
 * A reply read by a client (the CLI, the console page) that may be older than the API: fields it does not
 * know are dropped, as an added field must not lock an open console or an installed CLI out of the API,
 * while a field it knows that is missing or wrong is still refused. The API's own schemas stay strict, so
 * its document and its tests say exactly what it sends.
 */
export const safeParseReply = <S extends z.ZodType>(
  schema: S,
  value: unknown,
): z.ZodSafeParseResult<z.output<S>> => {
  let current = value;
  let parsed = schema.safeParse(current);
  for (let pass = 1; pass < MAX_PASSES && !parsed.success; pass += 1) {
    const unknownKeys = parsed.error.issues.filter((issue) => issue.code === 'unrecognized_keys');
    if (unknownKeys.length === 0) break;
    for (const issue of unknownKeys) current = withoutKeys(current, issue.path, issue.keys);
    parsed = schema.safeParse(current);
  }
  return parsed;
};
