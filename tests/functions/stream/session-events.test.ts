import {
  DeleteServiceCommand,
  DescribeTasksCommand,
  ListTasksCommand,
  StopTaskCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { SendTaskFailureCommand, SendTaskSuccessCommand, TaskTimedOut } from '@aws-sdk/client-sfn';
import { PublishCommand } from '@aws-sdk/client-sns';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHandler, type SessionEventsDeps } from '../../../functions/stream/session-events/handler';
import type { DynamoSessionStore } from '../../../shared/adapters/dynamodb/session-store';
import { ManualClock } from '../../../shared/domain/clock';
import {
  awsAdapters,
  CLUSTER_ARN,
  healthySnapshot,
  heartbeatOf,
  lambdaContext,
  newSessionInput,
  runningSession,
  TOPIC_ARN,
} from '../../adapters/support/workflow-fixtures';
import { startTestDynamo, type TestDynamo } from '../../support/dynamo';
import { sessionEventsDepsOf } from './support';

describe('Handler: session-events', () => {
  let dynamo: TestDynamo;
  let store: DynamoSessionStore;
  const clock = new ManualClock('2026-03-02T10:00:00.000Z');
  const adapters = awsAdapters();
  const sns = mockClient(adapters.sns);
  const sfn = mockClient(adapters.sfn);
  const ecs = mockClient(adapters.ecs);
  let deps: SessionEventsDeps;
  let handler: ReturnType<typeof createHandler>;
  let cursor: string | undefined;

  beforeAll(async () => {
    dynamo = await startTestDynamo({ now: () => clock.now() });
    store = dynamo.newStore(clock);
    deps = sessionEventsDepsOf(dynamo, store, clock, adapters);
    handler = createHandler(deps);
  });

  afterAll(async () => {
    await dynamo.close();
  });

  beforeEach(() => {
    sns.reset();
    sfn.reset();
    ecs.reset();
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    sfn.on(SendTaskSuccessCommand).resolves({});
    sfn.on(SendTaskFailureCommand).resolves({});
    ecs.on(UpdateServiceCommand).resolves({});
    ecs.on(DeleteServiceCommand).resolves({});
    ecs.on(DescribeTasksCommand).resolves({ tasks: [{ lastStatus: 'RUNNING' }] });
    ecs.on(StopTaskCommand).resolves({});
    // Each test reads only the records its own writes produced.
    const all = dynamo.dynamo.streams.read(dynamo.tables.sessions);
    cursor = all.at(-1)?.dynamodb?.SequenceNumber ?? cursor;
  });

  /** The records committed since the last call: what the event source mapping would deliver. */
  const nextBatch = (): DynamoDBStreamEvent => {
    const records = dynamo.dynamo.streams.read(dynamo.tables.sessions, cursor);
    cursor = records.at(-1)?.dynamodb?.SequenceNumber ?? cursor;
    return { Records: records };
  };
  const invoke = (event: DynamoDBStreamEvent) => handler(event, lambdaContext('session-events'));
  const published = () =>
    sns.commandCalls(PublishCommand).map((call) => {
      const input = call.args[0].input;
      return {
        subject: input.Subject ?? '',
        message: input.Message ?? '',
        severity: input.MessageAttributes?.severity?.StringValue,
        kind: input.MessageAttributes?.kind?.StringValue,
        run_id: input.MessageAttributes?.run_id?.StringValue,
        strategy_id: input.MessageAttributes?.strategy_id?.StringValue,
      };
    });

  it('publishes one alert per status transition, with severity, strategy and run as message attributes', async () => {
    // prepare
    const created = await store.createSession(newSessionInput('live'));
    if (!created.ok) throw new Error(created.message);
    const runId = created.session.run_id;
    await store.transition(runId, 'launching', { from: ['pending'] });
    // An agent claimed it: a live run that may have placed orders, so the failure sends on-call to the account.
    await store.claimSession({
      run_id: runId,
      agent_id: 'agent-1',
      strategy_version: '2',
      exchange: 'binance',
      pairs: [],
    });
    await store.transition(runId, 'failed', {
      patch: { status_reason: 'launch failed: agent lost its container' },
    });

    // act
    const result = await invoke(nextBatch());

    // assess
    expect(result.batchItemFailures).toEqual([]);
    const alerts = published();
    expect(alerts.map((alert) => [alert.kind, alert.severity])).toEqual([
      ['status.launching', 'INFO'],
      ['status.failed', 'CRITICAL'],
    ]);
    const failed = alerts[1]!;
    expect(failed.run_id).toBe(runId);
    expect(failed.strategy_id).toBe(created.session.strategy_id);
    expect(failed.subject.length).toBeLessThanOrEqual(100);
    expect(failed.message).toContain(`Run:        ${runId}`);
    expect(failed.message).toContain('launching -> failed');
    expect(failed.message).toContain('agent lost its container');
    expect(failed.message).toContain('strategy lock released');
    expect(failed.message).toContain('check the exchange account');
    expect((await store.getLock(created.session.strategy_id))?.active_run_id).toBeNull();
  });

  it('releases the launch once when the first heartbeat lands after the token is stored', async () => {
    // prepare
    const created = await store.createSession(newSessionInput('live'));
    if (!created.ok) throw new Error(created.message);
    const runId = created.session.run_id;
    await store.transition(runId, 'launching', { from: ['pending'] });
    await store.update(runId, { launch_token: 'token-after' }, ['launching']);
    await store.claimSession({
      run_id: runId,
      agent_id: 'agent-1',
      strategy_version: '2',
      exchange: 'binance',
      pairs: [],
    });
    await store.recordHeartbeat(heartbeatOf(created.session, 1, '2026-03-02T10:00:05.000Z'));
    await store.recordHeartbeat(heartbeatOf(created.session, 2, '2026-03-02T10:00:35.000Z'));

    // act
    await invoke(nextBatch());

    // assess
    const calls = sfn.commandCalls(SendTaskSuccessCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input.taskToken).toBe('token-after');
    expect(JSON.parse(calls[0]!.args[0].input.output ?? '{}')).toMatchObject({
      run_id: runId,
      heartbeat_seq: 1,
    });
  });

  it('releases the launch when the token is stored after the first heartbeat', async () => {
    // prepare
    const created = await store.createSession(newSessionInput('dry-run'));
    if (!created.ok) throw new Error(created.message);
    const runId = created.session.run_id;
    await store.transition(runId, 'launching', { from: ['pending'] });
    await store.claimSession({
      run_id: runId,
      agent_id: 'agent-1',
      strategy_version: '2',
      exchange: 'binance',
      pairs: [],
    });
    await store.recordHeartbeat(heartbeatOf(created.session, 1, '2026-03-02T10:00:05.000Z'));
    await invoke(nextBatch());
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);

    // act
    await store.update(runId, { launch_token: 'token-before' }, ['launching']);
    await invoke(nextBatch());

    // assess
    const calls = sfn.commandCalls(SendTaskSuccessCommand);
    expect(calls.map((call) => call.args[0].input.taskToken)).toEqual(['token-before']);
  });

  it('pages once and releases once when the same batch is delivered twice', async () => {
    // prepare
    const created = await store.createSession(newSessionInput('live'));
    if (!created.ok) throw new Error(created.message);
    const runId = created.session.run_id;
    await store.transition(runId, 'launching', { from: ['pending'] });
    await store.update(runId, { launch_token: 'token-redelivered' }, ['launching']);
    await store.claimSession({
      run_id: runId,
      agent_id: 'agent-1',
      strategy_version: '2',
      exchange: 'binance',
      pairs: [],
    });
    await store.recordHeartbeat(heartbeatOf(created.session, 1, '2026-03-02T10:00:05.000Z'));
    const batch = nextBatch();

    // act
    const first = await invoke(batch);
    const second = await invoke(structuredClone(batch));

    // assess
    expect(first.batchItemFailures).toEqual([]);
    expect(second.batchItemFailures).toEqual([]);
    expect(published().filter((alert) => alert.run_id === runId)).toHaveLength(1);
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(1);
  });

  it('treats a spent task token as released', async () => {
    // prepare
    sfn.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} }));
    const created = await store.createSession(newSessionInput('live'));
    if (!created.ok) throw new Error(created.message);
    const runId = created.session.run_id;
    await store.transition(runId, 'launching', { from: ['pending'] });
    await store.update(runId, { launch_token: 'token-spent' }, ['launching']);
    await store.claimSession({
      run_id: runId,
      agent_id: 'agent-1',
      strategy_version: '2',
      exchange: 'binance',
      pairs: [],
    });
    await store.recordHeartbeat(heartbeatOf(created.session, 1, '2026-03-02T10:00:05.000Z'));

    // act
    const result = await invoke(nextBatch());

    // assess
    expect(result.batchItemFailures).toEqual([]);
  });

  it('fails only the poison record of a batch', async () => {
    // prepare
    const created = await store.createSession(newSessionInput('live'));
    if (!created.ok) throw new Error(created.message);
    await store.transition(created.session.run_id, 'launching', { from: ['pending'] });
    await dynamo.doc.send(
      new PutCommand({
        TableName: dynamo.tables.sessions,
        Item: {
          run_id: 'live-poison-run',
          item_type: 'session',
          status: 'running',
          created_at: 'not a date',
        },
      }),
    );
    const other = await store.createSession(newSessionInput('live'));
    if (!other.ok) throw new Error(other.message);
    await store.transition(other.session.run_id, 'launching', { from: ['pending'] });
    const batch = nextBatch();
    const poison = batch.Records.find((record) => record.dynamodb?.Keys?.run_id?.S === 'live-poison-run');

    // act
    const result = await invoke(batch);

    // assess
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: poison?.dynamodb?.SequenceNumber }]);
    expect(published().map((alert) => alert.run_id)).toEqual([created.session.run_id, other.session.run_id]);
  });

  it('pauses and pages once per breach incident, not once per heartbeat', async () => {
    // prepare
    const session = await runningSession(store, '2026-03-02T10:00:00.000Z');
    const breached = { ...healthySnapshot, equity: 8_500, drawdown_pct: 15, exposure: 1_500 };
    nextBatch();
    await store.recordHeartbeat(heartbeatOf(session, 2, '2026-03-02T10:00:30.000Z', { snapshot: breached }));
    await store.recordHeartbeat(heartbeatOf(session, 3, '2026-03-02T10:01:00.000Z', { snapshot: breached }));

    // act
    const result = await invoke(nextBatch());

    // assess
    expect(result.batchItemFailures).toEqual([]);
    const alerts = published().filter((alert) => alert.run_id === session.run_id);
    expect(alerts.map((alert) => [alert.kind, alert.severity])).toEqual([['risk.breach', 'CRITICAL']]);
    expect(alerts[0]!.message).toContain('drawdown');
    expect(alerts[0]!.message).toContain('desired state set to paused');
    expect((await store.get(session.run_id))?.desired_state).toBe('paused');
  });

  it("pages a drawdown breach once: the pause the agent's risk latch caused is part of the incident (CRITICAL, then INFO 'paused')", async () => {
    // prepare: the breach heartbeat (Freqtrade still running), then the one where the agent's latch paused it
    const session = await runningSession(store, '2026-03-02T10:00:00.000Z');
    await invoke(nextBatch());
    sns.resetHistory();
    const breached = { ...healthySnapshot, equity: 8_500, drawdown_pct: 15, exposure: 1_500 };
    const latched = {
      state: 'breached' as const,
      snapshot: breached,
      breaches: [{ rule: 'drawdown' as const, limit: 10, observed: 15, message: 'drawdown 15 % >= 10 %' }],
      response: { step: 'pause' as const, at: '2026-03-02T10:00:30.000Z', exposure_at_step: 1_500 },
      breached_at: '2026-03-02T10:00:30.000Z',
    };
    const beat = (seq: number, at: string, freqtrade: 'running' | 'paused') => {
      const heartbeat = heartbeatOf(session, seq, at, { snapshot: breached });
      return store.recordHeartbeat({
        ...heartbeat,
        health: { ...heartbeat.health, freqtrade_state: freqtrade },
        risk: latched,
      });
    };
    await beat(2, '2026-03-02T10:00:30.000Z', 'running');
    await invoke(nextBatch());
    await beat(3, '2026-03-02T10:01:00.000Z', 'paused');

    // act: the confirmed pause, then the status change it wrote
    await invoke(nextBatch());
    await invoke(nextBatch());

    // assess
    expect((await store.get(session.run_id))?.status).toBe('paused');
    const pages = published().filter((alert) => alert.run_id === session.run_id);
    expect(pages.map((alert) => [alert.kind, alert.severity])).toEqual([['risk.breach', 'CRITICAL']]);
  });

  it('still pages an operator pause once Freqtrade confirms it', async () => {
    // prepare
    const session = await runningSession(store, '2026-03-02T10:00:00.000Z');
    await invoke(nextBatch());
    sns.resetHistory();
    await store.setDesiredState(session.run_id, 'paused', 'operator pause');
    const heartbeat = heartbeatOf(session, 2, '2026-03-02T10:00:30.000Z');
    await store.recordHeartbeat({ ...heartbeat, health: { ...heartbeat.health, freqtrade_state: 'paused' } });

    // act
    await invoke(nextBatch());
    await invoke(nextBatch());

    // assess
    expect((await store.get(session.run_id))?.status).toBe('paused');
    const pages = published().filter((alert) => alert.run_id === session.run_id);
    expect(pages.map((alert) => [alert.kind, alert.severity])).toEqual([['status.paused', 'INFO']]);
  });

  it("pages only stale and recovery when the agent held entries fail-closed while cut off from DynamoDB (its own pause paged 'paused' then 'resumed')", async () => {
    // prepare: stale while the agent could not write; its first heartbeats back show the pause it made itself
    const session = await runningSession(store, '2026-03-02T10:00:00.000Z');
    await invoke(nextBatch());
    sns.resetHistory();
    await store.transition(session.run_id, 'stale', {
      from: ['running'],
      patch: { status_reason: 'no heartbeat for 200 s (threshold 180 s)' },
    });
    await invoke(nextBatch());
    const beat = (seq: number, at: string, held: boolean) => {
      const heartbeat = heartbeatOf(session, seq, at);
      return store.recordHeartbeat({
        ...heartbeat,
        health: {
          ...heartbeat.health,
          freqtrade_state: held ? 'paused' : 'running',
          ...(held ? { entries_held: 'fail_closed' as const } : { entries_held: null }),
        },
      });
    };

    // act
    await beat(2, '2026-03-02T10:03:30.000Z', true);
    await invoke(nextBatch());
    await invoke(nextBatch());
    await beat(3, '2026-03-02T10:03:31.000Z', true);
    await invoke(nextBatch());
    await invoke(nextBatch());
    await beat(4, '2026-03-02T10:03:32.000Z', false);
    await invoke(nextBatch());
    await invoke(nextBatch());

    // assess
    expect((await store.get(session.run_id))?.status).toBe('running');
    const pages = published().filter((alert) => alert.run_id === session.run_id);
    expect(pages.map((alert) => [alert.kind, alert.severity])).toEqual([
      ['status.stale', 'CRITICAL'],
      ['status.recovered', 'WARNING'],
    ]);
  });

  it('recovers a stale session when a heartbeat arrives and pages the recovery', async () => {
    // prepare
    const session = await runningSession(store, '2026-03-02T10:00:00.000Z');
    await store.transition(session.run_id, 'stale', {
      from: ['running'],
      patch: { status_reason: 'no heartbeat for 200 s (threshold 180 s)' },
    });
    await invoke(nextBatch());
    await store.recordHeartbeat(heartbeatOf(session, 2, '2026-03-02T10:04:00.000Z'));

    // act
    await invoke(nextBatch());
    await invoke(nextBatch());

    // assess
    expect((await store.get(session.run_id))?.status).toBe('running');
    const kinds = published()
      .filter((alert) => alert.run_id === session.run_id)
      .map((alert) => [alert.kind, alert.severity]);
    expect(kinds).toEqual([
      ['status.launching', 'INFO'],
      ['status.running', 'INFO'],
      ['status.stale', 'CRITICAL'],
      ['status.recovered', 'WARNING'],
    ]);
  });

  it('tears the service down and frees the lock once the session is stopped', async () => {
    // prepare
    const session = await runningSession(store, '2026-03-02T10:00:00.000Z');
    await store.setDesiredState(session.run_id, 'stopped', 'operator stop');
    await store.transition(session.run_id, 'stopped', { from: ['stopping'] });

    // act
    const result = await invoke(nextBatch());

    // assess
    expect(result.batchItemFailures).toEqual([]);
    expect(ecs.commandCalls(UpdateServiceCommand)[0]?.args[0].input).toMatchObject({
      cluster: CLUSTER_ARN,
      service: session.container?.service_arn,
      desiredCount: 0,
    });
    expect(ecs.commandCalls(DeleteServiceCommand)).toHaveLength(1);
    expect((await store.getLock(session.strategy_id))?.active_run_id).toBeNull();
    const stopped = published().find(
      (alert) => alert.run_id === session.run_id && alert.kind === 'status.stopped',
    );
    expect(stopped?.message).toContain('container stopped; strategy lock released');
  });

  it('pages a failed teardown and retries the record', async () => {
    // prepare
    ecs
      .on(UpdateServiceCommand)
      .rejects(Object.assign(new Error('ECS unavailable'), { name: 'ServerException' }));
    const session = await runningSession(store, '2026-03-02T10:00:00.000Z');
    await store.transition(session.run_id, 'failed', { patch: { status_reason: 'container crashed' } });
    const batch = nextBatch();
    const failedRecord = batch.Records.at(-1) as DynamoDBRecord;

    // act
    const result = await invoke(batch);

    // assess
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: failedRecord.dynamodb?.SequenceNumber }]);
    const failed = published().find(
      (alert) => alert.run_id === session.run_id && alert.kind === 'status.failed',
    );
    expect(failed?.message).toContain('teardown FAILED');
    expect((await store.getLock(session.strategy_id))?.active_run_id).toBe(session.run_id);
  });

  it('tells the waiting launch workflow to stop when a launching session is stopped', async () => {
    // prepare
    const created = await store.createSession(newSessionInput('live'));
    if (!created.ok) throw new Error(created.message);
    const runId = created.session.run_id;
    await store.transition(runId, 'launching', { from: ['pending'] });
    await store.update(runId, { launch_token: 'token-abort' }, ['launching']);
    await store.setDesiredState(runId, 'stopped', 'operator changed their mind');

    // act
    await invoke(nextBatch());

    // assess
    const calls = sfn.commandCalls(SendTaskFailureCommand);
    expect(calls.map((call) => [call.args[0].input.taskToken, call.args[0].input.error])).toEqual([
      ['token-abort', 'SessionAborted'],
    ]);
  });

  it('keeps the strategy lock while ECS still runs the task of a stopped session (lock freed before the container is gone)', async () => {
    // prepare: a hung agent force-stopped; ECS has sent SIGTERM and waits its StopTimeout before SIGKILL
    const session = await runningSession(store, '2026-03-02T10:00:00.000Z');
    const hung = `${CLUSTER_ARN.replace(':cluster/', ':task/')}/t-hung`;
    ecs.on(ListTasksCommand).resolves({ taskArns: [hung] });
    ecs.on(DescribeTasksCommand).resolves({ tasks: [{ taskArn: hung, lastStatus: 'DEACTIVATING' }] });
    await store.setDesiredState(session.run_id, 'stopped', 'operator stop');
    await store.transition(session.run_id, 'stopped', {
      from: ['stopping'],
      patch: { status_reason: 'forced stop: the agent did not confirm the stop within 120 s' },
    });

    // act
    const result = await invoke(nextBatch());

    // assess
    expect(result.batchItemFailures).toEqual([]);
    expect((await store.getLock(session.strategy_id))?.active_run_id).toBe(session.run_id);
    const stopped = published().find(
      (alert) => alert.run_id === session.run_id && alert.kind === 'status.stopped',
    );
    expect(stopped?.message).toContain('strategy lock kept until the container is confirmed gone');
  });

  it('releases the strategy lock at teardown when ECS shows no task of the session left', async () => {
    // prepare
    const session = await runningSession(store, '2026-03-02T10:00:00.000Z');
    ecs.on(ListTasksCommand).resolves({ taskArns: [] });
    await store.setDesiredState(session.run_id, 'stopped', 'operator stop');
    await store.transition(session.run_id, 'stopped', { from: ['stopping'] });

    // act
    await invoke(nextBatch());

    // assess
    expect((await store.getLock(session.strategy_id))?.active_run_id).toBeNull();
  });

  it('pages once when a heartbeat reports a fail-closed process stop, however often the report repeats', async () => {
    // prepare
    const session = await runningSession(store, '2026-03-02T10:00:00.000Z');
    await invoke(nextBatch());
    sns.resetHistory();
    const failClosed = {
      command: 'pause' as const,
      failure: 'HTTP 502 Bad Gateway',
      action: 'process_stopped' as const,
      at: '2026-03-02T10:00:40.000Z',
    };
    for (const [seq, at] of [
      [2, '2026-03-02T10:00:41.000Z'],
      [3, '2026-03-02T10:00:42.000Z'],
    ] as const) {
      const heartbeat = heartbeatOf(session, seq, at);
      const beat = await store.recordHeartbeat({
        ...heartbeat,
        health: { ...heartbeat.health, fail_closed: failClosed },
      });
      if (!beat.ok) throw new Error(beat.message);
    }
    const batch = nextBatch();

    // act
    await invoke(batch);
    await invoke(structuredClone(batch));

    // assess
    const pages = published().filter((alert) => alert.run_id === session.run_id);
    expect(pages.map((alert) => [alert.kind, alert.severity])).toEqual([['agent.fail_closed', 'CRITICAL']]);
    expect(pages[0]?.message).toContain('/pause');
  });

  it('pages a breach whose pause Freqtrade refused once, as the fail-closed stop it became (two CRITICALs for one incident)', async () => {
    // prepare: the heartbeat that reports the breach also reports that /pause failed and the process stopped
    const session = await runningSession(store, '2026-03-02T10:00:00.000Z');
    await invoke(nextBatch());
    sns.resetHistory();
    const failing = { ...healthySnapshot, monitor_failures: 5 };
    const heartbeat = heartbeatOf(session, 2, '2026-03-02T10:00:30.000Z', { snapshot: failing });
    await store.recordHeartbeat({
      ...heartbeat,
      health: {
        ...heartbeat.health,
        fail_closed: {
          command: 'pause',
          failure: 'HTTP 503',
          action: 'process_stopped',
          at: '2026-03-02T10:00:29.000Z',
        },
      },
    });

    // act
    await invoke(nextBatch());

    // assess
    const pages = published().filter((alert) => alert.run_id === session.run_id);
    expect(pages.map((alert) => [alert.kind, alert.severity])).toEqual([['agent.fail_closed', 'CRITICAL']]);
    expect(pages[0]?.message).toContain('risk limit breached');
    expect(pages[0]?.message).toContain('/pause');
    expect((await store.get(session.run_id))?.desired_state).toBe('paused');
  });

  it("ignores strategy locks (also a lock's last-alert update, MODIFY), account leases and dedup markers", async () => {
    // prepare
    await dynamo.doc.send(
      new PutCommand({
        TableName: dynamo.tables.sessions,
        Item: { run_id: 'strategy#lonely', item_type: 'strategy_lock', active_run_id: null },
      }),
    );
    await dynamo.doc.send(
      new UpdateCommand({
        TableName: dynamo.tables.sessions,
        Key: { run_id: 'strategy#lonely' },
        UpdateExpression: 'SET last_alert = :alert',
        ExpressionAttributeValues: {
          ':alert': {
            at: '2026-03-02T10:00:00.000Z',
            severity: 'CRITICAL',
            kind: 'status.stale',
            run_id: 'r',
          },
        },
      }),
    );
    await dynamo.doc.send(
      new PutCommand({
        TableName: dynamo.tables.sessions,
        Item: {
          run_id: 'lease#ac0123456789abcd#BTC/USDT',
          item_type: 'account_lease',
          holder_run_id: 'live-x-000001',
          status: 'running',
        },
      }),
    );
    await dynamo.doc.send(
      new PutCommand({
        TableName: dynamo.tables.sessions,
        Item: { run_id: 'dedup#x', item_type: 'dedup_marker' },
      }),
    );

    // act
    const result = await invoke(nextBatch());

    // assess
    expect(result.batchItemFailures).toEqual([]);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
    expect(TOPIC_ARN).toContain('tradai-alerts');
  });
});
