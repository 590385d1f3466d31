import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { PublishCommand } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler as createStreamHandler } from '../../../functions/stream/session-events/handler';
import { runSweep, type SweepDeps } from '../../../functions/sweep/handler';
import type { DynamoSessionStore } from '../../../shared/adapters/dynamodb/session-store';
import { ManualClock } from '../../../shared/domain/clock';
import type { Heartbeat } from '../../../shared/domain/heartbeat';
import { DynamoDedupLedger } from '../../../shared/runtime/events-dedup';
import {
  awsAdapters,
  healthySnapshot,
  heartbeatOf,
  lambdaContext,
  runningSession,
} from '../../adapters/support/workflow-fixtures';
import { startTestDynamo, type TestDynamo } from '../../support/dynamo';
import { sessionEventsDepsOf } from '../stream/support';
import { at, SWEEP_TIMINGS, sweepDepsOf, T0 } from './support';

/** Below the platform floor (300) but inside the session's own daily-loss limit (500): only the sweep acts. */
const losing = (
  session: { run_id: string },
  seq: number,
  seconds: number,
  freqtrade: 'running' | 'paused',
) => {
  const heartbeat = heartbeatOf(session, seq, at(seconds), {
    snapshot: { ...healthySnapshot, daily_pnl: -400 },
  });
  return { ...heartbeat, health: { ...heartbeat.health, freqtrade_state: freqtrade } } satisfies Heartbeat;
};

describe('Sweep and stream processor: the high-loss auto-pause', () => {
  let dynamo: TestDynamo;
  let store: DynamoSessionStore;
  const clock = new ManualClock(T0);
  const adapters = awsAdapters();
  const ecs = mockClient(adapters.ecs);
  const sns = mockClient(adapters.sns);
  let cursor: string | undefined;
  let sweepDeps: SweepDeps;
  let stream: ReturnType<typeof createStreamHandler>;

  beforeAll(async () => {
    dynamo = await startTestDynamo({ now: () => clock.now() });
    store = dynamo.newStore(clock);
    ecs.on(UpdateServiceCommand).resolves({});
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
    // The sweep and the stream processor share one ledger, as in AWS and the local cloud.
    const ledger = new DynamoDedupLedger(dynamo.doc, { table: dynamo.tables.sessions, clock });
    sweepDeps = sweepDepsOf(store, clock, adapters, {
      ledger,
      timings: { ...SWEEP_TIMINGS, highLossPause: 300 },
    });
    stream = createStreamHandler(sessionEventsDepsOf(dynamo, store, clock, adapters, { ledger }));
  });

  /** Delivers every committed record, and those its own writes commit, as the event source mapping would. */
  const drainStream = async () => {
    for (;;) {
      const records = dynamo.dynamo.streams.read(dynamo.tables.sessions, cursor);
      if (records.length === 0) return;
      cursor = records.at(-1)?.dynamodb?.SequenceNumber ?? cursor;
      await stream({ Records: records }, lambdaContext('session-events'));
    }
  };
  const pageKinds = () =>
    sns.commandCalls(PublishCommand).map((call) => call.args[0].input.MessageAttributes?.kind?.StringValue);

  /** A running session losing past the floor, paused by the sweep, the pause confirmed by the agent. */
  const autoPaused = async (startS: number) => {
    const session = await runningSession(store, at(startS));
    await drainStream();
    sns.resetHistory();
    clock.set(T0 + (startS + 10) * 1000);
    await store.recordHeartbeat(losing(session, 2, startS + 10, 'running'));
    await drainStream();
    const swept = await runSweep(sweepDeps);
    await drainStream();
    clock.set(T0 + (startS + 15) * 1000);
    await store.recordHeartbeat(losing(session, 3, startS + 15, 'paused'));
    await drainStream();
    return { session, swept };
  };
  afterAll(async () => {
    await dynamo.close();
  });

  it("pages one CRITICAL naming the pause, not CRITICAL then INFO 'paused' when the agent confirms it", async () => {
    // act: the sweep pauses; the agent pauses Freqtrade and its next heartbeat says so.
    const { session, swept } = await autoPaused(0);

    // assess
    expect(swept.autoPaused).toEqual([session.run_id]);
    const current = await store.get(session.run_id);
    expect([current?.status, current?.desired_state]).toEqual(['paused', 'paused']);
    expect(pageKinds()).toEqual(['risk.high_loss']);
    const [page] = sns.commandCalls(PublishCommand).map((call) => call.args[0].input);
    expect(page?.Message).toContain('desired state set to paused');
  });

  it("still pages an operator's own pause later that day, after their resume", async () => {
    // prepare: auto-paused, then resumed after review (the agent records the resume and trades again).
    const { session } = await autoPaused(100);
    clock.set(T0 + 200_000);
    await store.setDesiredState(session.run_id, 'running');
    const resumedAt = (await store.get(session.run_id))?.desired_state_changed_at ?? at(200);
    const trading = losing(session, 4, 205, 'running');
    clock.set(T0 + 205_000);
    await store.recordHeartbeat({
      ...trading,
      risk: { ...trading.risk, resumed: { at: resumedAt, daily_pnl: -400 } },
    });
    await drainStream();

    // act: the operator pauses it themselves, and the agent confirms.
    clock.set(T0 + 300_000);
    await store.setDesiredState(session.run_id, 'paused');
    const paused = losing(session, 5, 305, 'paused');
    clock.set(T0 + 305_000);
    await store.recordHeartbeat({
      ...paused,
      risk: { ...paused.risk, resumed: { at: resumedAt, daily_pnl: -400 } },
    });
    await drainStream();

    // assess
    expect(pageKinds()).toEqual(['risk.high_loss', 'status.resumed', 'status.paused']);
  });
});
