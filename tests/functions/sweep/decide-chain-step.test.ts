import { describe, expect, it } from 'vitest';
import {
  CHAIN_TRANSITIONS,
  type ChainLease,
  type ChainStep,
  type ChainTrigger,
  chainLossOf,
  chainPolicyOf,
  decideChainStep,
} from '../../../shared/domain/sweep-chain';

const NOW = Date.parse('2026-03-02T10:00:00.000Z');
const policy = chainPolicyOf(5);
const leaseOf = (generation: number, seq: number, secondsAgo: number): ChainLease => ({
  generation,
  seq,
  advancedAtMs: NOW - secondsAgo * 1000,
});

describe('Domain: decideChainStep (the sweep pass chain)', () => {
  it.each<[string, ChainTrigger, Partial<Extract<ChainStep, { type: 'write' }>> | { type: 'none' }]>([
    [
      'a received link advances the lease it names by one and sends the next link a pass interval later',
      { type: 'link', link: { generation: 2, seq: 7 } },
      {
        type: 'write',
        situation: 'link_received',
        expect: { generation: 2, seq: 7 },
        lease: { generation: 2, seq: 8, advancedAtMs: NOW },
        send: { link: { generation: 2, seq: 8 }, delayS: 5 },
        suspectsPass: true,
      },
    ],
    [
      'the schedule with no lease seeds generation 0, only if there is still none, sending at once',
      { type: 'schedule', lease: undefined },
      {
        type: 'write',
        situation: 'no_chain',
        expect: null,
        lease: { generation: 0, seq: 0, advancedAtMs: NOW },
        send: { link: { generation: 0, seq: 0 }, delayS: 0 },
        suspectsPass: false,
      },
    ],
    [
      'the schedule leaves a chain alone that advanced within three intervals',
      { type: 'schedule', lease: leaseOf(3, 40, 15) },
      { type: 'none' },
    ],
    [
      'the schedule re-seeds a chain silent past three intervals with the next generation, conditional on the stale lease',
      { type: 'schedule', lease: leaseOf(3, 40, 16) },
      {
        type: 'write',
        situation: 'chain_dead',
        expect: { generation: 3, seq: 40 },
        lease: { generation: 4, seq: 0, advancedAtMs: NOW },
        send: { link: { generation: 4, seq: 0 }, delayS: 0 },
        suspectsPass: false,
      },
    ],
  ])('%s', (_title, trigger, expected) => {
    expect(decideChainStep(trigger, NOW, policy)).toMatchObject(expected);
  });

  it('only a received link runs a pass, and only a pass waits an interval: the transitions as data', () => {
    expect(CHAIN_TRANSITIONS).toEqual({
      link_received: { write: 'advance', delay: 'pass_interval', pass: true },
      no_chain: { write: 'seed', delay: 'none', pass: false },
      chain_dead: { write: 'reseed', delay: 'none', pass: false },
      chain_alive: { write: 'none', delay: 'none', pass: false },
    });
  });

  it('a chain is dead after three pass intervals, whatever the interval', () => {
    expect(chainPolicyOf(5).deadAfterS).toBe(15);
    expect(chainPolicyOf(10).deadAfterS).toBe(30);
  });

  it.each<[string, ChainLease | undefined, ReturnType<typeof chainLossOf>]>([
    ['a second delivery of a link already advanced is a duplicate', leaseOf(2, 8, 1), 'duplicate'],
    ['a link of a re-seeded chain is superseded', leaseOf(3, 0, 1), 'superseded'],
    ['no lease at all', undefined, 'no_lease'],
    ['a lease behind the link (it was written back by hand)', leaseOf(2, 5, 1), 'ahead_of_lease'],
  ])('names why a link lost its condition: %s', (_title, current, loss) => {
    expect(chainLossOf({ generation: 2, seq: 7 }, current)).toBe(loss);
  });
});
