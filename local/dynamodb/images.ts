import type { GatewayContext } from './context';
import { DynamoServiceError } from './errors';
import { pickKey } from './items';
import type { Item } from './schemas';
import type { ItemChange } from './stream-records';

/*
 * An item's images around a write, read under the write lock with consistent reads. Reading the image
 * after the write (rather than taking the request's item) gives it exactly as dynalite stored it:
 * numbers normalised, update expressions applied.
 */

/** A write to one item that is about to happen: its key and its image before. */
export interface WriteTarget {
  readonly tableName: string;
  readonly key: Item;
  readonly oldImage: Item | undefined;
}

/**
 * The item's key and current image, or undefined when the table or key is not valid: the write itself
 * will then fail, and dynalite's own error is the right answer to the client.
 */
export async function readBefore(
  context: GatewayContext,
  tableName: string,
  keyOf: (keyNames: readonly string[]) => Item,
): Promise<WriteTarget | undefined> {
  try {
    const key = keyOf(await context.keySchemas.keyNames(tableName));
    return { tableName, key, oldImage: await context.dynalite.getItem(tableName, key) };
  } catch (error) {
    if (error instanceof DynamoServiceError && error.statusCode < 500) return undefined;
    throw error;
  }
}

/** What the write did to the item, once it has committed. */
export async function readAfter(context: GatewayContext, target: WriteTarget): Promise<ItemChange> {
  const { tableName, key, oldImage } = target;
  const newImage = await context.dynalite.getItem(tableName, key);
  const keyNames = await context.keySchemas.keyNames(tableName);
  // Keys as stored (dynalite normalises numbers), not as the client spelled them.
  const stored = newImage ?? oldImage;
  return { keys: stored === undefined ? key : pickKey(stored, keyNames), oldImage, newImage };
}

/** Reads what the committed writes did and publishes it, table by table, in write order. */
export async function publishCommitted(
  context: GatewayContext,
  targets: readonly WriteTarget[],
): Promise<void> {
  const changesByTable = new Map<string, ItemChange[]>();
  for (const target of targets) {
    const change = await readAfter(context, target);
    changesByTable.set(target.tableName, [...(changesByTable.get(target.tableName) ?? []), change]);
  }
  for (const [tableName, changes] of changesByTable) context.streams.publish(tableName, changes);
}
