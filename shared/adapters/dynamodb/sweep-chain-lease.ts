import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import * as z from 'zod';
import type { ChainLease, ChainLeaseStore, ChainLink, LeaseWrite } from '../../domain/sweep-chain';

/**
 * The chain's lease is one small item in the sessions table (`run_id = sweep#chain-lease`), beside the
 * dedup markers: no status, hb_shard, lock_scope or fleet_row, so it is in no index, and the stream's filter
 * (item_type = session) keeps its writes from the stream processor. One ~100-byte write (1 WRU) per pass.
 */
export const CHAIN_LEASE_KEY = 'sweep#chain-lease';
export const CHAIN_LEASE_ITEM_TYPE = 'sweep_chain_lease';

const LeaseItemSchema = z.object({
  generation: z.number().int().min(0),
  seq: z.number().int().min(0),
  advanced_at: z.iso.datetime(),
});

type WireItem = Parameters<typeof unmarshall>[0];

const isConditionFailure = (error: unknown): error is Error & { Item?: WireItem } =>
  error instanceof Error && error.name === 'ConditionalCheckFailedException';

const leaseOf = (item: Record<string, unknown> | undefined): ChainLease | undefined => {
  if (item === undefined) return undefined;
  const parsed = LeaseItemSchema.parse(item);
  return { generation: parsed.generation, seq: parsed.seq, advancedAtMs: Date.parse(parsed.advanced_at) };
};

export class DynamoChainLease implements ChainLeaseStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(doc: DynamoDBDocumentClient, options: { sessionsTable: string }) {
    this.#doc = doc;
    this.#table = options.sessionsTable;
  }

  async read(): Promise<ChainLease | undefined> {
    const result = await this.#doc.send(
      new GetCommand({ TableName: this.#table, Key: { run_id: CHAIN_LEASE_KEY }, ConsistentRead: true }),
    );
    return leaseOf(result.Item);
  }

  async write(expect: ChainLink | null, lease: ChainLease): Promise<LeaseWrite> {
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            run_id: CHAIN_LEASE_KEY,
            item_type: CHAIN_LEASE_ITEM_TYPE,
            generation: lease.generation,
            seq: lease.seq,
            advanced_at: new Date(lease.advancedAtMs).toISOString(),
          },
          ...(expect === null
            ? { ConditionExpression: 'attribute_not_exists(run_id)' }
            : {
                ConditionExpression: '#generation = :generation AND #seq = :seq',
                ExpressionAttributeNames: { '#generation': 'generation', '#seq': 'seq' },
                ExpressionAttributeValues: { ':generation': expect.generation, ':seq': expect.seq },
              }),
          // The loser learns what it lost to from the refusal, not from a second read.
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { won: true };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // An engine that ignores ALL_OLD (dynalite) answers without the item: read it then.
      const current = error.Item === undefined ? await this.read() : leaseOf(unmarshall(error.Item));
      return { won: false, current };
    }
  }
}
