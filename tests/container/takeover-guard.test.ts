import { describe, expect, it } from 'vitest';
import { checkTakeover } from '../../container/agent/takeover-guard';

const AT = Date.parse('2026-12-01T12:00:00.000Z');
const ref = (trade_id: number, pair = 'BTC/USDT') => ({ trade_id, pair });

describe('Takeover guard: what the predecessor last reported against the trade store', () => {
  it('a reported trade the store shows closed is not missing (the previous bot exited it after its last report)', () => {
    expect(checkTakeover([ref(4)], [ref(5)], 'binance', AT, [ref(4)])).toEqual({ ok: true });
  });

  it('a reported trade neither open nor closed in the store is missing: entries paused, the report names it', () => {
    const result = checkTakeover([ref(4), ref(5)], [ref(5)], 'binance', AT, [ref(3)]);

    expect(result).toMatchObject({
      ok: false,
      report: { trade_ids: [4], expected: 2, found: 1, action: 'entries_paused' },
    });
  });

  it('an id closed on another pair is a fresh store reusing ids, not the reported trade', () => {
    expect(checkTakeover([ref(4)], [], 'binance', AT, [ref(4, 'ETH/USDT')])).toMatchObject({
      ok: false,
      report: { trade_ids: [4] },
    });
  });
});
