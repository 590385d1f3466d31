import { CreateStateMachineCommand, DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import * as z from 'zod';
import { LocalLaunchWorkflow } from '../../local/cloud/step-functions';
import { StepFunctionsLaunchWorkflow } from '../../shared/adapters/sfn/launch-workflow';
import { MOTO_ACCOUNT, MOTO_REGION, startMotoServer } from '../support/moto-server';
import { launchWorkflowContract, type WorkflowOutcome } from './launch-workflow.contract';
import { MotoQueue } from './support/moto-sqs';

const STATE_MACHINE = 'tradai-launch-contract';
const STATE_MACHINE_ARN = `arn:aws:states:${MOTO_REGION}:${MOTO_ACCOUNT}:stateMachine:${STATE_MACHINE}`;

const WaitPayloadSchema = z.object({ run_id: z.string(), task_token: z.string(), input: z.unknown() });

/**
 * The local engine binds Lambda tasks to local functions: AwaitHeartbeat hands its token to one, and two
 * report states tell the harness how the execution ended (LocalLaunchWorkflow keeps no execution history).
 */
const localDefinition = {
  StartAt: 'AwaitHeartbeat',
  States: {
    AwaitHeartbeat: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      Parameters: {
        FunctionName: '#{AwaitLambdaFunction.Arn}',
        Payload: { 'run_id.$': '$.run_id', 'input.$': '$', 'task_token.$': '$$.Task.Token' },
      },
      TimeoutSeconds: 60,
      ResultPath: '$.released',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'ReportFailure' }],
      Next: 'ReportSuccess',
    },
    ReportSuccess: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: {
        FunctionName: '#{ReportLambdaFunction.Arn}',
        Payload: { 'run_id.$': '$.run_id', status: 'SUCCEEDED', 'output.$': '$.released' },
      },
      End: true,
    },
    ReportFailure: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: {
        FunctionName: '#{ReportLambdaFunction.Arn}',
        Payload: {
          'run_id.$': '$.run_id',
          status: 'FAILED',
          'error.$': '$.error.Error',
          'cause.$': '$.error.Cause',
        },
      },
      Next: 'Failed',
    },
    Failed: { Type: 'Fail' },
  },
};

launchWorkflowContract('aws-local-stepfunctions (local cloud)', async () => {
  const waits = new Map<string, { tokens: string[]; input: unknown }>();
  const outcomes = new Map<string, WorkflowOutcome>();
  const workflow = new LocalLaunchWorkflow({
    definition: localDefinition as unknown as StateMachineDefinition,
    stateMachineArn: STATE_MACHINE_ARN,
    functions: {
      AwaitLambdaFunction: async (payload) => {
        const wait = WaitPayloadSchema.parse(payload);
        const seen = waits.get(wait.run_id) ?? { tokens: [], input: wait.input };
        seen.tokens.push(wait.task_token);
        waits.set(wait.run_id, seen);
        return null;
      },
      ReportLambdaFunction: async (payload) => {
        const { run_id, ...outcome } = payload as { run_id: string } & WorkflowOutcome;
        outcomes.set(run_id, outcome);
        return null;
      },
    },
    log: () => undefined,
  });
  return {
    workflow,
    stateMachineName: STATE_MACHINE,
    tokensOf: async (runId) => waits.get(runId)?.tokens ?? [],
    inputOf: async (runId) => waits.get(runId)?.input,
    outcomeOf: async (runId) => outcomes.get(runId),
    close: async () => workflow.close(),
  };
});

/**
 * Step Functions on moto, executing the definition (moto's `execute_state_machine` mode). moto runs
 * Lambda tasks only in Docker, which this machine has not, so AwaitHeartbeat hands its token out through
 * SQS (`sqs:sendMessage.waitForTaskToken`) instead of the launchStep function: the token, the wait and its
 * release by SendTaskSuccess / SendTaskFailure are the real API's. The launch ASL itself runs on the local
 * engine (tests/statemachines/).
 *
 * Where moto 5.2.5 departs from AWS (skipped, not faked):
 * - its SendTaskFailure handler passes `error` on and drops `cause`, so the execution fails with an empty
 *   cause (AWS: the Catch and DescribeExecution see both; API reference, SendTaskFailure);
 * - it accepts SendTaskFailure for a token whose execution has already ended (it looks through every
 *   execution, not the running ones, as its SendTaskSuccess does); AWS answers TaskTimedOut or
 *   InvalidToken, as the local engine does.
 */
launchWorkflowContract(
  'Step Functions (moto over HTTP, executing)',
  async () => {
    const moto = await startMotoServer();
    await moto.configure({ stepfunctions: { execute_state_machine: true } });
    const client = new SFNClient(moto.clientConfig);
    const queue = await MotoQueue.create(moto.endpoint, 'await-heartbeat');
    const definition = {
      StartAt: 'AwaitHeartbeat',
      States: {
        AwaitHeartbeat: {
          Type: 'Task',
          Resource: 'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
          Parameters: {
            QueueUrl: queue.url,
            MessageBody: { 'run_id.$': '$.run_id', 'input.$': '$', 'task_token.$': '$$.Task.Token' },
          },
          TimeoutSeconds: 60,
          End: true,
        },
      },
    };
    const { stateMachineArn } = await client.send(
      new CreateStateMachineCommand({
        name: STATE_MACHINE,
        definition: JSON.stringify(definition),
        roleArn: `arn:aws:iam::${MOTO_ACCOUNT}:role/tradai-launch-session`,
      }),
    );
    if (stateMachineArn === undefined) throw new Error('moto created no state machine');
    const tokens = new Map<string, string[]>();
    const executionArnOf = (runId: string) =>
      `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${runId}`;
    const describe = (runId: string) =>
      client.send(new DescribeExecutionCommand({ executionArn: executionArnOf(runId) }));
    return {
      workflow: new StepFunctionsLaunchWorkflow(client, stateMachineArn),
      stateMachineName: STATE_MACHINE,
      tokensOf: async (runId) => {
        for (const body of await queue.drain()) {
          const wait = WaitPayloadSchema.parse(JSON.parse(body));
          tokens.set(wait.run_id, [...(tokens.get(wait.run_id) ?? []), wait.task_token]);
        }
        return tokens.get(runId) ?? [];
      },
      inputOf: async (runId) => JSON.parse((await describe(runId)).input ?? 'null'),
      outcomeOf: async (runId) => {
        const execution = await describe(runId);
        if (execution.status === 'SUCCEEDED')
          return { status: 'SUCCEEDED', output: JSON.parse(execution.output ?? 'null') };
        if (execution.status === 'RUNNING') return undefined;
        return { status: 'FAILED', error: execution.error ?? '', cause: execution.cause ?? '' };
      },
      close: async () => {
        client.destroy();
        await moto.close();
      },
    };
  },
  { dropsFailureCause: true, acceptsFailureOfSpentToken: true },
);
