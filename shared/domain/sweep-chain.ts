import * as z from 'zod';

/**
 * The sweep's sub-minute passes as a self-rescheduling chain: each suspects pass is a short invocation
 * triggered by a delayed message (SQS in AWS), and sends the message of the next pass. EventBridge's
 * once-a-minute schedule runs the full pass and re-seeds the chain if it died. A lease item holds the
 * chain's generation and sequence: a pass advances it with a write conditional on the link it received, and
 * only the winner sends the next link. A duplicate delivery or a second chain loses that condition and stops
 * (sends nothing), so there is never more than one chain. The decisions are pure; the handler executes them.
 */

/** One link of the chain: the message that triggers a pass. */
export const ChainLinkSchema = z.strictObject({
  generation: z.number().int().min(0),
  seq: z.number().int().min(0),
});
export type ChainLink = z.infer<typeof ChainLinkSchema>;

/** The lease item: the link the next pass must hold, and when the chain last advanced. */
export interface ChainLease extends ChainLink {
  advancedAtMs: number;
}

export interface ChainPolicy {
  /** A pass every this many seconds: the delay of each next link. */
  passEveryS: number;
  /** A chain that has not advanced for this long is dead, and the schedule re-seeds it. */
  deadAfterS: number;
}

/** How many pass intervals without an advance make a chain dead (a late delivery is not a death). */
export const DEAD_AFTER_INTERVALS = 3;

export const chainPolicyOf = (passEveryS: number): ChainPolicy => ({
  passEveryS,
  deadAfterS: passEveryS * DEAD_AFTER_INTERVALS,
});

/** Where an invocation finds the chain: a link it received, or the schedule's look at the lease. */
export type ChainSituation = 'link_received' | 'no_chain' | 'chain_alive' | 'chain_dead';

/**
 * What each situation owes, as data. `write`: the conditional lease write (advance: expect the received
 * link; seed: expect no lease; reseed: expect the stale lease, bump the generation). `send`: the link the
 * winner of that write sends, with its delay. `pass`: the suspects pass the winner runs.
 */
export const CHAIN_TRANSITIONS = {
  link_received: { write: 'advance', delay: 'pass_interval', pass: true },
  no_chain: { write: 'seed', delay: 'none', pass: false },
  chain_dead: { write: 'reseed', delay: 'none', pass: false },
  chain_alive: { write: 'none', delay: 'none', pass: false },
} as const satisfies Record<
  ChainSituation,
  { write: 'advance' | 'seed' | 'reseed' | 'none'; delay: 'pass_interval' | 'none'; pass: boolean }
>;

export type ChainTrigger =
  | { type: 'link'; link: ChainLink }
  | { type: 'schedule'; lease: ChainLease | undefined };

export type ChainStep =
  | { type: 'none'; situation: 'chain_alive' }
  | {
      type: 'write';
      situation: Exclude<ChainSituation, 'chain_alive'>;
      /** The write's condition: the lease must hold exactly this link (null: no lease yet). */
      expect: ChainLink | null;
      lease: ChainLease;
      /** Sent by the winner only. */
      send: { link: ChainLink; delayS: number };
      suspectsPass: boolean;
    };

export const situationOf = (trigger: ChainTrigger, nowMs: number, policy: ChainPolicy): ChainSituation => {
  if (trigger.type === 'link') return 'link_received';
  if (trigger.lease === undefined) return 'no_chain';
  return nowMs - trigger.lease.advancedAtMs > policy.deadAfterS * 1000 ? 'chain_dead' : 'chain_alive';
};

/**
 * The step one invocation takes. A received link is advanced without reading the lease first: the
 * conditional write is the check, and its refusal returns the lease it found (chainLossOf says why).
 */
export const decideChainStep = (trigger: ChainTrigger, nowMs: number, policy: ChainPolicy): ChainStep => {
  const situation = situationOf(trigger, nowMs, policy);
  if (situation === 'chain_alive') return { type: 'none', situation };
  const transition = CHAIN_TRANSITIONS[situation];
  const delayS = transition.delay === 'pass_interval' ? policy.passEveryS : 0;
  let expect: ChainLink | null;
  let next: ChainLink;
  if (trigger.type === 'link') {
    expect = trigger.link;
    next = { generation: trigger.link.generation, seq: trigger.link.seq + 1 };
  } else if (trigger.lease === undefined) {
    expect = null;
    next = { generation: 0, seq: 0 };
  } else {
    // A new generation: every link of the dead chain still in flight now loses its condition.
    expect = { generation: trigger.lease.generation, seq: trigger.lease.seq };
    next = { generation: trigger.lease.generation + 1, seq: 0 };
  }
  return {
    type: 'write',
    situation,
    expect,
    lease: { ...next, advancedAtMs: nowMs },
    send: { link: next, delayS },
    suspectsPass: transition.pass,
  };
};

/** Why a link lost its condition, from the lease the refusal returned (for the log; the loser stops). */
export type ChainLoss = 'duplicate' | 'superseded' | 'no_lease' | 'ahead_of_lease';

export const chainLossOf = (link: ChainLink, current: ChainLease | undefined): ChainLoss => {
  if (current === undefined) return 'no_lease';
  if (current.generation > link.generation) return 'superseded';
  if (current.generation === link.generation && current.seq > link.seq) return 'duplicate';
  return 'ahead_of_lease';
};

/** The outcome of a conditional lease write: won, or lost with the lease found instead. */
export type LeaseWrite = { won: true } | { won: false; current: ChainLease | undefined };

/** The lease item's store (DynamoDB in AWS and locally). */
export interface ChainLeaseStore {
  read(): Promise<ChainLease | undefined>;
  /** Writes `lease` only if the stored lease holds exactly `expect` (null: only if there is none). */
  write(expect: ChainLink | null, lease: ChainLease): Promise<LeaseWrite>;
}

/** Sends a link to be delivered after a delay (SQS in AWS; at least once, may be duplicated). */
export interface PassScheduler {
  schedule(link: ChainLink, delayS: number): Promise<void>;
}
