import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainLink, PassScheduler } from '../../shared/domain/sweep-chain';

export interface PassSchedulerHarness {
  scheduler: PassScheduler;
  /** Links delivered so far (each delivery once, copies too), in delivery order; the harness deletes them. */
  delivered(): Promise<ChainLink[]>;
  close(): Promise<void>;
}

/** Bounded polling for what the queue delivers: delivery is asynchronous in both adapters. */
const deliveredAtLeast = async (harness: PassSchedulerHarness, count: number, seen: ChainLink[]) => {
  const deadline = Date.now() + 20_000;
  while (seen.length < count) {
    if (Date.now() > deadline) throw new Error(`only ${seen.length} of ${count} links delivered`);
    seen.push(...(await harness.delivered()));
    if (seen.length < count) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return seen;
};

/**
 * What the sweep's chain relies on from its queue, whatever carries it: a link comes back as it was sent,
 * a delayed link is held back behind one sent after it with none, and a malformed link is never sent.
 */
export const passSchedulerContract = (name: string, setup: () => Promise<PassSchedulerHarness>) => {
  describe(`PassScheduler contract: ${name}`, () => {
    let harness: PassSchedulerHarness;
    beforeAll(async () => {
      harness = await setup();
    }, 60_000);
    afterAll(async () => {
      await harness?.close();
    });

    it('delivers a link with its generation and sequence (the next pass would not know its lease otherwise)', async () => {
      await harness.scheduler.schedule({ generation: 3, seq: 41 }, 0);

      const seen = await deliveredAtLeast(harness, 1, []);

      expect(seen).toEqual([{ generation: 3, seq: 41 }]);
    });

    it('holds a delayed link back: one sent after it without a delay arrives first (passes would bunch up)', async () => {
      await harness.scheduler.schedule({ generation: 4, seq: 1 }, 2);
      await harness.scheduler.schedule({ generation: 4, seq: 2 }, 0);

      const seen = await deliveredAtLeast(harness, 2, []);

      expect(seen).toEqual([
        { generation: 4, seq: 2 },
        { generation: 4, seq: 1 },
      ]);
    });

    it('refuses a malformed link without sending it (a pass would fail on it at every delivery)', async () => {
      await expect(harness.scheduler.schedule({ generation: 5, seq: -1 }, 0)).rejects.toThrow(/seq/);
      await harness.scheduler.schedule({ generation: 5, seq: 0 }, 0);

      const seen = await deliveredAtLeast(harness, 1, []);

      expect(seen).toEqual([{ generation: 5, seq: 0 }]);
    });
  });
};
