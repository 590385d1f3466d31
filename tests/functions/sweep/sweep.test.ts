import {
  DeleteServiceCommand,
  DescribeTasksCommand,
  StopTaskCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { PublishCommand } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler, runSweep, type SweepDeps, type SweepReport } from '../../../functions/sweep/handler';
import type { DynamoSessionStore } from '../../../shared/adapters/dynamodb/session-store';
import { ManualClock } from '../../../shared/domain/clock';
import type { Session } from '../../../shared/domain/session';
import {
  awsAdapters,
  type CapturedMetrics,
  capturedMetrics,
  healthySnapshot,
  heartbeatOf,
  lambdaContext,
  newSessionInput,
  runningSession,
} from '../../adapters/support/workflow-fixtures';
import { startTestDynamo, type TestDynamo } from '../../support/dynamo';
import { at, sweepDepsOf, T0 } from './support';

describe('Handler: sweep', () => {
  let dynamo: TestDynamo;
  let store: DynamoSessionStore;
  const clock = new ManualClock(T0);
  const adapters = awsAdapters();
  const ecs = mockClient(adapters.ecs);
  const sns = mockClient(adapters.sns);
  let captured: CapturedMetrics;
  let deps: SweepDeps;
  const fleet: Record<string, Session[]> = {
    fresh: [],
    silent: [],
    silentPaused: [],
    launchingLong: [],
    stoppingLong: [],
    losing: [],
    alreadyStale: [],
  };
  let report: SweepReport;

  beforeAll(async () => {
    // prepare: a fleet in every state the sweep looks at, on the embedded DynamoDB and a manual clock
    dynamo = await startTestDynamo({ now: () => clock.now() });
    store = dynamo.newStore(clock);
    ecs.on(UpdateServiceCommand).resolves({});
    ecs.on(DeleteServiceCommand).resolves({});
    ecs.on(DescribeTasksCommand).resolves({ tasks: [{ lastStatus: 'RUNNING' }] });
    ecs.on(StopTaskCommand).resolves({});
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
    captured = capturedMetrics();
    deps = sweepDepsOf(store, clock, adapters, { metrics: captured.metrics, pageSize: 7 });
    for (let i = 0; i < 12; i += 1) fleet.fresh!.push(await runningSession(store, at(0)));
    for (let i = 0; i < 5; i += 1) fleet.silent!.push(await runningSession(store, at(0)));
    for (let i = 0; i < 3; i += 1) {
      const session = await runningSession(store, at(0), 'dry-run');
      await store.setDesiredState(session.run_id, 'paused');
      await store.transition(session.run_id, 'paused', { from: ['running'] });
      fleet.silentPaused!.push(session);
    }
    for (let i = 0; i < 2; i += 1) {
      const created = await store.createSession(newSessionInput('live'));
      if (!created.ok) throw new Error(created.message);
      await store.transition(created.session.run_id, 'launching', { from: ['pending'] });
      fleet.launchingLong!.push(created.session);
    }
    for (let i = 0; i < 2; i += 1) {
      const session = await runningSession(store, at(0));
      await store.setDesiredState(session.run_id, 'stopped', 'operator stop');
      fleet.stoppingLong!.push(session);
    }
    fleet.losing!.push(await runningSession(store, at(0)));
    const stale = await runningSession(store, at(0));
    await store.transition(stale.run_id, 'stale', { from: ['running'] });
    fleet.alreadyStale!.push(stale);

    clock.set(T0 + 100_000);
    for (const session of [...fleet.fresh!, ...fleet.stoppingLong!]) {
      await store.recordHeartbeat(heartbeatOf(session, 2, at(100)));
    }
    await store.recordHeartbeat(
      heartbeatOf(fleet.losing![0]!, 2, at(100), {
        pnlToday: -650,
        snapshot: { ...healthySnapshot, daily_pnl: -650 },
        exchangeConnected: false,
      }),
    );
    clock.set(T0 + 200_000);

    // act
    report = await runSweep(deps);
  });

  afterAll(async () => {
    await dynamo.close();
  });

  const ids = (group: string) => fleet[group]!.map((session) => session.run_id).sort();

  it('reads every swept status through the GSI, page by page', () => {
    // assess
    // stale is queried after running and paused, so it also sees the 8 sessions this sweep just marked.
    expect(report.read).toMatchObject({ running: 18, paused: 3, stale: 9, launching: 2, stopping: 2 });
    expect(report.errors).toEqual([]);
  });

  it('marks sessions stale whose heartbeat is older than the threshold, running or paused', async () => {
    // assess
    expect(report.markedStale.sort()).toEqual([...ids('silent'), ...ids('silentPaused')].sort());
    const silent = await store.get(fleet.silent![0]!.run_id);
    expect(silent).toMatchObject({ status: 'stale', previous_status: 'running' });
    expect(silent?.status_reason).toBe('no heartbeat for 200 s (threshold 180 s)');
    expect((await store.get(fleet.silentPaused![0]!.run_id))?.previous_status).toBe('paused');
    expect((await store.get(fleet.fresh![0]!.run_id))?.status).toBe('running');
  });

  it('fails launches that overran the launch timeout', async () => {
    // assess
    expect(report.launchTimedOut.sort()).toEqual(ids('launchingLong'));
    const failed = await store.get(fleet.launchingLong![0]!.run_id);
    expect(failed?.status).toBe('failed');
    expect(failed?.status_reason).toContain('launch timed out');
  });

  it('forces stops the agent never confirmed: the container first, then stopped', async () => {
    // assess
    expect(report.forcedStops.sort()).toEqual(ids('stoppingLong'));
    expect(ecs.commandCalls(DeleteServiceCommand)).toHaveLength(2);
    const stopped = await store.get(fleet.stoppingLong![0]!.run_id);
    expect(stopped).toMatchObject({ status: 'stopped' });
    expect(stopped?.status_reason).toContain('forced stop');
  });

  it('pauses a session below the daily-loss floor and pages once', async () => {
    // assess
    expect(report.autoPaused).toEqual(ids('losing'));
    expect((await store.get(fleet.losing![0]!.run_id))?.desired_state).toBe('paused');
    const pages = sns.commandCalls(PublishCommand).map((call) => call.args[0].input);
    expect(pages).toHaveLength(1);
    expect(pages[0]?.MessageAttributes?.kind?.StringValue).toBe('risk.high_loss');
    expect(pages[0]?.MessageAttributes?.severity?.StringValue).toBe('CRITICAL');
  });

  it('publishes heartbeat age, exchange connection and daily PnL for the fleet only, no series per strategy (three series per strategy were the largest line of the bill)', () => {
    // prepare
    const fleetDoc = captured.emitted.at(-1);

    // assess
    expect(captured.emitted.filter((doc) => 'strategy_id' in doc)).toEqual([]);
    expect(JSON.stringify(fleetDoc?._aws)).toContain('"Namespace":"TradAI/LiveTrading"');
    expect(fleetDoc).toMatchObject({ HeartbeatAgeSeconds: 200, ExchangeConnected: 0, PnLDaily: -650 });
  });

  it('publishes no CorruptSessionItems series while no item is corrupt (a 0 every sweep is a metric billed all month, $0.30, that nothing alarms on)', () => {
    // prepare
    const fleetDoc = captured.emitted.at(-1);

    // assess: corrupt items are paged CRITICAL; the count is published only when there is one.
    expect(fleetDoc).toBeDefined();
    expect(fleetDoc).not.toHaveProperty('CorruptSessionItems');
  });

  it('changes nothing more and pages nobody again on the next sweep', async () => {
    // act
    const again = await createHandler(deps)({}, lambdaContext('sweep'));

    // assess
    expect(again).toMatchObject({
      marked_stale: 0,
      launch_timed_out: 0,
      forced_stops: 0,
      auto_paused: 0,
      errors: 0,
    });
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
  });
});
