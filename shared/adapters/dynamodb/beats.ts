import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { beatKeyOf, type LivenessBeat, LivenessBeatSchema, runIdOfBeatKey } from '../../domain/heartbeat';
import { batchGetByRunId } from './batch-get';

/**
 * The liveness beats of these runs (shared/domain/heartbeat.ts), keyed by run id; runs without a beat are
 * absent. A beat that does not parse is left out too: the session's own last_heartbeat then judges its
 * silence, which errs towards stale, never towards alive.
 */
/** A stored beat, or undefined for an item that is not one (or does not parse). */
export const beatOf = (item: Record<string, unknown>): LivenessBeat | undefined => {
  const parsed = LivenessBeatSchema.safeParse(item);
  return parsed.success ? parsed.data : undefined;
};

export const readBeats = async (
  doc: DynamoDBDocumentClient,
  request: { table: string; runIds: readonly string[]; consistent: boolean; what: string },
): Promise<Map<string, LivenessBeat>> => {
  const beats = new Map<string, LivenessBeat>();
  if (request.runIds.length === 0) return beats;
  const items = await batchGetByRunId(doc, {
    table: request.table,
    runIds: request.runIds.map(beatKeyOf),
    consistent: request.consistent,
    what: request.what,
  });
  for (const [key, item] of items) {
    const runId = runIdOfBeatKey(key);
    const beat = beatOf(item);
    if (runId !== undefined && beat !== undefined) beats.set(runId, beat);
  }
  return beats;
};
