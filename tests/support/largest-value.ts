import * as z from 'zod';
import { attributeValueSize } from '../../bench/cost-model';

/**
 * The largest value a zod schema accepts, as DynamoDB counts bytes: every optional field present, every
 * array at its maxItems, every free string at its maxLength in 3-byte UTF-8 characters, every number with
 * 17 significant digits, the longest enum member, the largest branch of a union. Built from the schema's
 * JSON Schema, so a field added later is covered without touching this; a schema with an unbounded
 * string, array or record throws (there is no largest value), and the caller parses the result, so a
 * value this builds wrongly fails the test rather than passing it.
 */
export function largestValueOf(schema: z.ZodType): unknown {
  const json = z.toJSONSchema(schema, { unrepresentable: 'throw', io: 'input' }) as JsonSchema;
  return largest(json, '$');
}

interface JsonSchema {
  type?: string | string[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  maxItems?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMaximum?: number;
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
}

const LATEST_TIME = '2099-12-31T23:59:59.999Z';

/** The longest string a pattern like `^[a-z0-9][a-z0-9-]{2,79}$` allows, built from its classes' first members. */
function longestForPattern(pattern: string, path: string): string {
  const body = pattern.replace(/^\^/, '').replace(/\$$/, '');
  let out = '';
  const token = /\[([^\]]+)\](\{(\d+)(,(\d+))?\}|\+|\*)?/gy;
  for (let match = token.exec(body); match !== null; match = token.exec(body)) {
    const [, klass, quantifier, exact, , upper] = match;
    if (
      quantifier === '+' ||
      quantifier === '*' ||
      (quantifier !== undefined && match[4] !== undefined && upper === undefined)
    )
      throw new Error(`${path}: pattern ${pattern} has no longest string`);
    const first = (klass ?? '').replace(/^\\/, '')[0] ?? 'a';
    out += first.repeat(quantifier === undefined ? 1 : Number(upper ?? exact));
    if (token.lastIndex === body.length) return out;
  }
  throw new Error(`${path}: pattern ${pattern} is not one this reads`);
}

function largest(schema: JsonSchema, path: string): unknown {
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches !== undefined) {
    return branches
      .map((branch) => largest(branch, path))
      .reduce((best, candidate) =>
        attributeValueSize(candidate) > attributeValueSize(best) ? candidate : best,
      );
  }
  if (schema.const !== undefined) return schema.const;
  if (schema.enum !== undefined)
    return schema.enum.reduce((best, candidate) =>
      attributeValueSize(candidate) > attributeValueSize(best) ? candidate : best,
    );
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'object': {
      if (schema.additionalProperties !== undefined && schema.additionalProperties !== false)
        throw new Error(`${path}: a record has no largest value`);
      return Object.fromEntries(
        Object.entries(schema.properties ?? {}).map(([name, child]) => [
          name,
          largest(child, `${path}.${name}`),
        ]),
      );
    }
    case 'array': {
      if (schema.maxItems === undefined) throw new Error(`${path}: an unbounded array has no largest value`);
      const item = largest(schema.items ?? {}, `${path}[]`);
      return Array.from({ length: schema.maxItems }, () => item);
    }
    case 'string': {
      if (schema.format === 'date-time') return LATEST_TIME;
      if (schema.pattern !== undefined) return longestForPattern(schema.pattern, path);
      if (schema.maxLength === undefined)
        throw new Error(`${path}: an unbounded string has no largest value`);
      return '€'.repeat(schema.maxLength);
    }
    case 'integer':
      return schema.maximum ?? Number.MAX_SAFE_INTEGER;
    case 'number': {
      // 17 significant digits, inside the field's range.
      const ceiling = schema.maximum ?? schema.exclusiveMaximum ?? Number.POSITIVE_INFINITY;
      return ceiling <= 1 ? 0.12345678901234566 : Math.min(12345678.901234567, ceiling * 0.987654321012345);
    }
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      throw new Error(`${path}: schema ${JSON.stringify(schema)} is not one this reads`);
  }
}
