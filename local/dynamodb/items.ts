import type { AttributeValue } from 'aws-lambda';
import type { Item } from './schemas';

/** The key attributes of an item (those present; dynalite refuses an incomplete key with its own error). */
export function pickKey(item: Item, keyNames: readonly string[]): Item {
  const key: Item = {};
  for (const name of keyNames) {
    const value = item[name];
    if (value !== undefined) key[name] = value;
  }
  return key;
}

/** Identity of an item across tables, to refuse two transaction actions on the same item. */
export function itemIdentity(tableName: string, key: Item): string {
  return `${tableName}\u0000${canonicalItem(key)}`;
}

/**
 * Whether two images hold the same data. Map keys and set members are unordered in DynamoDB, so they
 * are compared sorted; numbers arrive normalised by dynalite ("1.50" is stored as "1.5").
 */
export function sameItem(left: Item | undefined, right: Item | undefined): boolean {
  if (left === undefined || right === undefined) return left === right;
  return canonicalItem(left) === canonicalItem(right);
}

function canonicalItem(item: Item): string {
  return `{${Object.keys(item)
    .sort()
    .map((name) => `${JSON.stringify(name)}:${canonicalValue(item[name]!)}`)
    .join(',')}}`;
}

function canonicalValue(value: AttributeValue): string {
  if (value.M !== undefined) return `M${canonicalItem(value.M)}`;
  if (value.L !== undefined) return `L[${value.L.map(canonicalValue).join(',')}]`;
  if (value.SS !== undefined) return `SS${JSON.stringify([...value.SS].sort())}`;
  if (value.NS !== undefined) return `NS${JSON.stringify([...value.NS].sort())}`;
  if (value.BS !== undefined) return `BS${JSON.stringify([...value.BS].sort())}`;
  return JSON.stringify(value);
}

/**
 * Approximate size in bytes by DynamoDB's item size rules (attribute name lengths plus value sizes),
 * used for a stream record's SizeBytes.
 */
export function itemSize(item: Item): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) {
    size += Buffer.byteLength(name) + valueSize(value);
  }
  return size;
}

function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return Buffer.from(value.B, 'base64').length;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS !== undefined) return value.SS.reduce((sum, member) => sum + Buffer.byteLength(member), 0);
  if (value.NS !== undefined) return value.NS.reduce((sum, member) => sum + numberSize(member), 0);
  if (value.BS !== undefined) {
    return value.BS.reduce((sum, member) => sum + Buffer.from(member, 'base64').length, 0);
  }
  // Lists and maps: 3 bytes of overhead plus 1 byte per element.
  if (value.L !== undefined) return 3 + value.L.reduce((sum, element) => sum + 1 + valueSize(element), 0);
  if (value.M !== undefined) {
    return (
      3 +
      Object.entries(value.M).reduce((sum, [name, v]) => sum + 1 + Buffer.byteLength(name) + valueSize(v), 0)
    );
  }
  return 0;
}

/** DynamoDB stores numbers as up to 38 significant digits, two per byte, plus one byte. */
function numberSize(number: string): number {
  const digits = number.replace(/^-/, '').replace('.', '').replace(/e.*$/i, '').replace(/^0+/, '');
  return Math.ceil(Math.max(digits.length, 1) / 2) + 1;
}
