import { PublishCommand } from '@aws-sdk/client-sns';
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chainPolicyFromEnv, createHandler, type SweepDeps } from '../../../functions/sweep/handler';
import { LocalPassQueue, type LocalPassQueueOptions } from '../../../local/cloud/pass-queue';
import type { DynamoSessionStore } from '../../../shared/adapters/dynamodb/session-store';
import { CHAIN_LEASE_KEY, DynamoChainLease } from '../../../shared/adapters/dynamodb/sweep-chain-lease';
import { ManualClock } from '../../../shared/domain/clock';
import { type ChainLink, chainPolicyOf } from '../../../shared/domain/sweep-chain';
import { awsAdapters, lambdaContext, runningSession } from '../../adapters/support/workflow-fixtures';
import { startTestDynamo, type TestDynamo } from '../../support/dynamo';
import { SWEEP_TIMINGS, sweepDepsOf } from './support';

const T0 = Date.parse('2026-05-04T10:00:00.000Z');
const at = (ms: number) => new Date(ms).toISOString();
const STALE_AFTER_S = 35;
const PASS_EVERY_S = 5;
const SCHEDULE_EVERY_S = 60;
const scheduledEvent = { 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} };
const key = (link: ChainLink) => `${link.generation}/${link.seq}`;

describe('Sweep chain: each suspects pass sends the next as a delayed message, and there is only one chain', () => {
  let dynamo: TestDynamo;
  let store: DynamoSessionStore;
  let lease: DynamoChainLease;
  const clock = new ManualClock(T0);
  const adapters = awsAdapters();
  const sns = mockClient(adapters.sns);
  const queues: LocalPassQueue[] = [];

  /** The sweep on the embedded DynamoDB with the local queue stepped by the manual clock (no timers). */
  const chainOf = (options: LocalPassQueueOptions = {}) => {
    const queue = new LocalPassQueue({ ...options, timers: false, clock });
    queues.push(queue);
    const deps: SweepDeps = sweepDepsOf(store, clock, adapters, {
      timings: { ...SWEEP_TIMINGS, staleAfterS: STALE_AFTER_S },
      chain: { lease, scheduler: queue, policy: chainPolicyOf(PASS_EVERY_S) },
    });
    const handler = createHandler(deps);
    queue.consume((event: SQSEvent) => handler(event, lambdaContext('sweep')));
    const schedule = () => handler(scheduledEvent, lambdaContext('sweep'));
    /** Simulated seconds, one at a time: due links delivered, the schedule on each minute (as EventBridge). */
    const run = async (seconds: number, each: () => void = () => {}) => {
      for (let second = 0; second < seconds; second += 1) {
        clock.advance(1_000);
        if (Math.round((clock.now() - T0) / 1000) % SCHEDULE_EVERY_S === 0) await schedule();
        await queue.deliverDue();
        each();
      }
    };
    return { queue, handler, schedule, run };
  };

  beforeAll(async () => {
    dynamo = await startTestDynamo({ now: () => clock.now() });
    store = dynamo.newStore(clock);
    lease = new DynamoChainLease(dynamo.doc, { sessionsTable: dynamo.tables.sessions });
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
  });
  afterEach(async () => {
    for (const queue of queues.splice(0)) queue.close();
    await dynamo.doc.send(
      new DeleteCommand({ TableName: dynamo.tables.sessions, Key: { run_id: CHAIN_LEASE_KEY } }),
    );
  });
  afterAll(async () => {
    await dynamo.close();
  });

  it('marks a hung agent stale within the threshold plus one pass interval through the chain (the next schedule was a minute away)', async () => {
    // prepare: the schedule seeds the chain; an agent heartbeats once, then hangs
    clock.set(T0);
    const { schedule, run } = chainOf();
    const seeded = await schedule();
    const hung = await runningSession(store, at(clock.now()));
    const lastHeartbeatMs = clock.now();

    // act: 59 s, the chain alone (the next schedule is at 60 s)
    await run(SCHEDULE_EVERY_S - 1);

    // assess
    expect(seeded).toMatchObject({
      chain: { situation: 'no_chain', outcome: 'won', sent: { generation: 0, seq: 0 } },
    });
    const stale = await store.get(hung.run_id);
    expect(stale?.status).toBe('stale');
    const detectedAfterS = (Date.parse(stale?.status_changed_at ?? '') - lastHeartbeatMs) / 1000;
    expect(detectedAfterS).toBeGreaterThan(STALE_AFTER_S);
    expect(detectedAfterS).toBeLessThanOrEqual(STALE_AFTER_S + PASS_EVERY_S);
    expect((await lease.read())?.seq).toBeGreaterThanOrEqual(11);
  });

  it('a duplicate delivery never forks the chain: the copy loses the lease condition and sends nothing (two chains from then on)', async () => {
    clock.set(T0);
    const { queue, schedule, run } = chainOf({ duplicate: (link) => link.seq === 3 || link.seq === 7 });
    await schedule();

    // distinct links in flight: a duplicate's copies are one link, a fork would be two
    const inFlight: number[] = [];
    await run(SCHEDULE_EVERY_S - 1, () => inFlight.push(new Set(queue.pending.map(key)).size));

    // each link sent once, one link in flight after every second, and both copies delivered
    const sent = queue.sent.map(key);
    expect(new Set(sent).size).toBe(sent.length);
    expect(new Set(inFlight)).toEqual(new Set([1]));
    expect(queue.delivered.map(key).filter((link) => link === '0/3' || link === '0/7')).toHaveLength(4);
    expect(await lease.read()).toMatchObject({ generation: 0, seq: sent.length - 1 });
  });

  it('a dropped link ends the chain; the minute schedule re-seeds it with the next generation, and the dead generation cannot come back', async () => {
    clock.set(T0);
    const { queue, handler, schedule, run } = chainOf({
      drop: (link) => link.generation === 0 && link.seq === 4,
    });
    await schedule();

    // act: the chain dies at its 5th link (~20 s); the schedule at 60 s finds it silent past 3 intervals
    await run(SCHEDULE_EVERY_S - 1);
    const dead = await lease.read();
    await run(1);
    const reseeded = await lease.read();
    await run(30);
    // a link of the dead generation delivered late (as SQS might) loses to the new generation
    const late = await handler(
      {
        Records: [
          { eventSource: 'aws:sqs', messageId: 'late', body: JSON.stringify({ generation: 0, seq: 4 }) },
        ],
      },
      lambdaContext('sweep'),
    );

    // assess
    expect(dead).toMatchObject({ generation: 0, seq: 4 });
    expect(queue.pending).toEqual([{ generation: 1, seq: expect.any(Number) }]);
    expect(reseeded).toMatchObject({ generation: 1 });
    expect((await lease.read())?.seq).toBeGreaterThanOrEqual(5);
    expect(late).toMatchObject({
      trigger: 'link',
      links: [{ chain: { outcome: 'lost', loss: 'superseded' } }],
    });
    expect(
      queue.sent
        .filter((link) => link.generation === 1)
        .map(key)
        .slice(0, 2),
    ).toEqual(['1/0', '1/1']);
  });

  it('fails the minute invocation when the chain cannot be tended, after its full pass (the error only went into the report: no re-seed, no alarm, no 5 s passes)', async () => {
    // prepare: a lease item the lease's schema refuses, and a session silent past the threshold
    clock.set(T0);
    const { schedule } = chainOf();
    await dynamo.doc.send(
      new PutCommand({
        TableName: dynamo.tables.sessions,
        Item: { run_id: CHAIN_LEASE_KEY, generation: 'x' },
      }),
    );
    const silent = await runningSession(store, at(clock.now() - (STALE_AFTER_S + 10) * 1000));

    // act
    const outcome = await schedule().then(
      () => undefined,
      (error: unknown) => error,
    );

    // assess: the Lambda's Errors (the sweep-errors alarm) say so, and the full pass still did its work
    expect(String(outcome)).toMatch(/pass chain could not be tended/);
    expect((await store.get(silent.run_id))?.status).toBe('stale');
  });

  it('leaves a live chain alone: the schedule only runs its full pass', async () => {
    clock.set(T0);
    const { queue, schedule, run } = chainOf();
    await schedule();
    await run(12);

    const tick = await schedule();

    expect(tick).toMatchObject({
      trigger: 'schedule',
      chain: { situation: 'chain_alive', outcome: 'nothing_to_do' },
    });
    expect(queue.pending).toHaveLength(1);
    expect((await lease.read())?.generation).toBe(0);
  });

  it('two schedules racing to seed (or re-seed) start one chain: the loser of the lease write sends nothing', async () => {
    clock.set(T0);
    const { queue, schedule, run } = chainOf({ drop: (link) => link.seq === 2 });
    const seeds = await Promise.all([schedule(), schedule()]);
    await run(30);
    const reseeds = await Promise.all([schedule(), schedule()]);

    const outcomes = (replies: unknown[]) =>
      replies.map((reply) => (reply as { chain: { outcome: string } }).chain.outcome).sort();
    expect(outcomes(seeds)).toEqual(['lost', 'won']);
    expect(outcomes(reseeds)).toEqual(['lost', 'won']);
    expect(queue.pending).toHaveLength(1);
    expect((await lease.read())?.generation).toBe(1);
  });

  it('refuses a message that is not a chain link without a pass or a retry (a bad body would fail again)', async () => {
    clock.set(T0);
    const { queue, handler } = chainOf();

    const reply = await handler(
      { Records: [{ eventSource: 'aws:sqs', messageId: 'junk', body: '{"generation":"x"}' }] },
      lambdaContext('sweep'),
    );

    expect(reply).toEqual({ trigger: 'link', links: [{ chain: { refused: 'junk' } }] });
    expect(queue.sent).toEqual([]);
    expect(await lease.read()).toBeUndefined();
  });

  it('takes its interval from SWEEP_PASS_EVERY_S, refusing one the minute schedule could not re-seed in time (naming the variable)', () => {
    expect(chainPolicyFromEnv({})).toEqual({ passEveryS: 5, deadAfterS: 15 });
    expect(chainPolicyFromEnv({ SWEEP_PASS_EVERY_S: '10' })).toEqual({ passEveryS: 10, deadAfterS: 30 });
    expect(() => chainPolicyFromEnv({ SWEEP_PASS_EVERY_S: '30' })).toThrow(/SWEEP_PASS_EVERY_S/);
  });
});
