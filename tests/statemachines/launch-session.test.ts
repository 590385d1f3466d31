import '../../local/cloud/polyfills';
import { readFileSync } from 'node:fs';
import {
  CreateServiceCommand,
  DeleteServiceCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { PublishCommand } from '@aws-sdk/client-sns';
import aslValidator from 'asl-validator';
import { ExecutionError, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHandler as createLaunchStep } from '../../functions/launch/step/handler';
import { createHandler as createSessionEvents } from '../../functions/stream/session-events/handler';
import type { DynamoSessionStore } from '../../shared/adapters/dynamodb/session-store';
import { systemClock } from '../../shared/domain/clock';
import type { Session, TradingMode } from '../../shared/domain/session';
import { budgetScopesOf } from '../../shared/runtime/account-budget-scopes';
import { InMemoryDedupLedger } from '../../shared/runtime/events-dedup';
import { bindLocalTasks, LocalTaskTokens } from '../../shared/runtime/workflow-local';
import {
  ACCOUNT,
  awsAdapters,
  CLUSTER,
  capturedMetrics,
  heartbeatOf,
  lambdaContext,
  newSessionInput,
  REGION,
  silentLogger,
} from '../adapters/support/workflow-fixtures';
import { startTestDynamo, type TestDynamo } from '../support/dynamo';

const ASL_PATH = new URL('../../statemachines/launch-session.asl.json', import.meta.url);
const definition = JSON.parse(readFileSync(ASL_PATH, 'utf8')) as StateMachineDefinition & {
  States: Record<string, Record<string, unknown>>;
};

describe('State machine: launch-session', () => {
  let dynamo: TestDynamo;
  let store: DynamoSessionStore;
  const adapters = awsAdapters();
  const ecs = mockClient(adapters.ecs);
  const sns = mockClient(adapters.sns);
  let tokens: LocalTaskTokens;
  let launchTimeoutS = 30;
  let unsubscribe: () => void;
  let delivery: Promise<unknown> = Promise.resolve();
  /** Runs when the container "starts": what the agent in it would do. */
  let onContainerStart: (runId: string) => void = () => undefined;

  beforeAll(async () => {
    dynamo = await startTestDynamo();
    store = dynamo.newStore(systemClock);
    const budgets = dynamo.newBudgets(systemClock);
    tokens = new LocalTaskTokens();
    // The local cloud's stream tap: every committed change goes to the real stream processor, in order.
    const sessionEvents = createSessionEvents({
      store,
      platform: adapters.platform,
      workflow: tokens,
      alerts: adapters.alerts,
      ledger: new InMemoryDedupLedger(),
      clock: systemClock,
      logger: silentLogger(),
      metrics: capturedMetrics('TradAI/ControlPlane').metrics,
      budgets,
      scopes: budgetScopesOf({ store, clock: systemClock }),
    });
    unsubscribe = dynamo.dynamo.streams.subscribe(dynamo.tables.sessions, (record) => {
      delivery = delivery.then(() => sessionEvents({ Records: [record] }, lambdaContext('session-events')));
    });
  });

  afterAll(async () => {
    unsubscribe();
    await delivery;
    await dynamo.close();
  });

  beforeEach(() => {
    ecs.reset();
    sns.reset();
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
    ecs.on(DescribeTaskDefinitionCommand).resolves({
      taskDefinition: {
        family: 'tradai-strategy-test',
        containerDefinitions: [
          {
            name: 'strategy',
            image: 'tradai:1',
            environment: [],
            mountPoints: [{ sourceVolume: 'trade-store', containerPath: '/mnt/trade-store' }],
          },
        ],
        volumes: [{ name: 'trade-store', efsVolumeConfiguration: { fileSystemId: 'fs-1' } }],
        cpu: '1024',
        memory: '2048',
        networkMode: 'awsvpc',
        requiresCompatibilities: ['FARGATE'],
      },
    });
    ecs.on(RegisterTaskDefinitionCommand).callsFake((input) => ({
      taskDefinition: {
        taskDefinitionArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${input.family}:1`,
      },
    }));
    ecs.on(CreateServiceCommand).callsFake((input) => {
      const runId = input.serviceName.replace(/^tradai-/, '');
      setImmediate(() => onContainerStart(runId));
      return {
        service: { serviceArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:service/${CLUSTER}/${input.serviceName}` },
      };
    });
    ecs.on(UpdateServiceCommand).resolves({});
    ecs.on(DeleteServiceCommand).resolves({});
    ecs.on(StopTaskCommand).resolves({});
    ecs.on(DescribeTasksCommand).resolves({ tasks: [{ lastStatus: 'RUNNING' }] });
    onContainerStart = () => undefined;
    launchTimeoutS = 30;
  });

  /** The agent's first moves: claim the session, send a heartbeat. */
  const agentStarts = (runId: string) => {
    void (async () => {
      await store.claimSession({
        run_id: runId,
        agent_id: 'agent-1',
        strategy_version: '2',
        exchange: 'binance',
        pairs: [],
      });
      await store.recordHeartbeat(heartbeatOf({ run_id: runId }, 1, new Date().toISOString()));
    })();
  };

  const pendingSession = async (mode: TradingMode): Promise<Session> => {
    const created = await store.createSession(newSessionInput(mode));
    if (!created.ok) throw new Error(created.message);
    return created.session;
  };

  /** One execution as the local cloud runs it: tasks bound to the real launchStep handler. */
  const execute = async (session: Session) => {
    const launchStep = createLaunchStep({
      store,
      platform: adapters.platform,
      workflow: adapters.workflow,
      clock: systemClock,
      logger: silentLogger(),
      timings: { launchTimeoutS, stopGraceS: 120, taskStopTimeoutS: 120 },
    });
    const taskToken = tokens.issue(session.run_id);
    const machine = new StateMachine(definition, { validationOptions: { checkArn: true, checkPaths: true } });
    const execution = machine.run(
      {
        run_id: session.run_id,
        strategy_id: session.strategy_id,
        strategy_name: session.strategy_name,
        trading_mode: session.trading_mode,
      },
      {
        context: { Task: { Token: taskToken }, Execution: { Name: session.run_id } },
        overrides: {
          taskResourceLocalHandlers: bindLocalTasks(definition, {
            functions: {
              LaunchStepLambdaFunction: (payload) => launchStep(payload, lambdaContext('launchStep')),
            },
            tokens,
            taskToken,
          }),
          retryIntervalOverrides: { StartContainer: 0, Compensate: 0 },
        },
      },
    );
    try {
      return { output: await execution.result, error: undefined, taskToken };
    } catch (error) {
      return { output: undefined, error: error as ExecutionError, taskToken };
    } finally {
      tokens.expire(taskToken);
      await delivery;
    }
  };

  it('is a valid Amazon States Language definition', () => {
    // act
    const { isValid, errorsText } = aslValidator(definition);

    // assess
    expect(errorsText()).toBe('');
    expect(isValid).toBe(true);
  });

  it('binds every Task state to the launchStep function through a #{LogicalId.Arn} placeholder', () => {
    // prepare
    const tasks = Object.values(definition.States).filter((state) => state.Type === 'Task');

    // assess
    expect(tasks.length).toBeGreaterThanOrEqual(6);
    for (const task of tasks) {
      expect(task.Resource).toMatch(/^arn:aws:states:::lambda:invoke(\.waitForTaskToken)?$/);
      expect((task.Parameters as { FunctionName: string }).FunctionName).toBe(
        '#{LaunchStepLambdaFunction.Arn}',
      );
    }
  });

  it('launches a live session as a one-task service and marks it running after the first heartbeat', async () => {
    // prepare
    const session = await pendingSession('live');
    onContainerStart = agentStarts;

    // act
    const { output, error } = await execute(session);

    // assess
    expect(error).toBeUndefined();
    expect(output).toMatchObject({ run_id: session.run_id, result: { status: 'running' } });
    const after = await store.get(session.run_id);
    expect(after).toMatchObject({ status: 'running', launch_token: null, previous_status: 'launching' });
    expect(after?.started_at).not.toBeNull();
    expect(after?.container).toMatchObject({ launch_type: 'service' });
    const created = ecs.commandCalls(CreateServiceCommand)[0]?.args[0].input;
    expect(created).toMatchObject({
      serviceName: `tradai-${session.run_id}`,
      desiredCount: 1,
      launchType: 'FARGATE',
      availabilityZoneRebalancing: 'DISABLED',
      deploymentConfiguration: { maximumPercent: 100, minimumHealthyPercent: 0 },
    });
    expect((await store.getLock(session.strategy_id))?.active_run_id).toBe(session.run_id);
  });

  it('fails the launch when no heartbeat comes within the launch timeout, stops the service and frees the lock', async () => {
    // prepare
    launchTimeoutS = 1;
    const session = await pendingSession('dry-run');

    // act
    const { error, taskToken } = await execute(session);

    // assess
    expect(error).toBeInstanceOf(ExecutionError);
    expect((error?.cause as Error | undefined)?.name).toBe('LaunchFailed');
    const after = await store.get(session.run_id);
    expect(after?.status).toBe('failed');
    expect(after?.status_reason).toBe('launch timed out: no first heartbeat within 1 s');
    expect(ecs.commandCalls(UpdateServiceCommand)[0]?.args[0].input).toMatchObject({ desiredCount: 0 });
    expect(ecs.commandCalls(DeleteServiceCommand).length).toBeGreaterThanOrEqual(1);
    expect((await store.getLock(session.strategy_id))?.active_run_id).toBeNull();
    await expect(tokens.succeed(taskToken, {})).rejects.toMatchObject({ name: 'TaskTimedOut' });
  });

  it('fails the launch with the reason when the container cannot start', async () => {
    // prepare
    ecs
      .on(RunTaskCommand)
      .resolves({ tasks: [], failures: [{ reason: 'MISSING', detail: 'image not found' }] });
    const session = await pendingSession('backtest');

    // act
    const { error } = await execute(session);

    // assess
    expect((error?.cause as Error | undefined)?.name).toBe('LaunchFailed');
    const after = await store.get(session.run_id);
    expect(after?.status).toBe('failed');
    expect(after?.status_reason).toContain('launch failed: ContainerStartError');
    expect(after?.status_reason).toContain('image not found');
    expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(1);
    expect((await store.getLock(session.strategy_id))?.active_run_id).toBeNull();
    const failedPage = sns
      .commandCalls(PublishCommand)
      .find((call) => call.args[0].input.MessageAttributes?.kind?.StringValue === 'status.failed');
    expect(failedPage?.args[0].input.MessageAttributes?.run_id?.StringValue).toBe(session.run_id);
  });

  it('retries a one-shot task on capacity errors before it runs', async () => {
    // prepare
    const session = await pendingSession('backtest');
    const taskArn = `arn:aws:ecs:${REGION}:${ACCOUNT}:task/${CLUSTER}/abc123`;
    ecs
      .on(RunTaskCommand)
      .resolvesOnce({ tasks: [], failures: [{ reason: 'Capacity is unavailable at this time' }] })
      .callsFake(() => {
        setImmediate(() => agentStarts(session.run_id));
        return { tasks: [{ taskArn }] };
      });

    // act
    const { error } = await execute(session);

    // assess
    expect(error).toBeUndefined();
    expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(2);
    expect(ecs.commandCalls(RunTaskCommand)[0]?.args[0].input).toMatchObject({
      startedBy: `tradai/${session.run_id}`,
      capacityProviderStrategy: [{ capacityProvider: 'FARGATE_SPOT', weight: 1 }],
    });
    expect(await store.get(session.run_id)).toMatchObject({
      status: 'running',
      container: { task_arn: taskArn },
    });
  });

  it('ends cancelled, not failed, when the operator stops the session during its launch', async () => {
    // prepare
    const session = await pendingSession('live');
    onContainerStart = (runId) => {
      void store.setDesiredState(runId, 'stopped', 'operator stop during launch');
    };

    // act
    const { output, error } = await execute(session);

    // assess
    expect(error).toBeUndefined();
    expect(output).toMatchObject({ compensation: { status: 'stopped' } });
    expect(await store.get(session.run_id)).toMatchObject({ status: 'stopped' });
    expect((await store.getLock(session.strategy_id))?.active_run_id).toBeNull();
  });
});
