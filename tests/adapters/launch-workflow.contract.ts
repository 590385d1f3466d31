import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LaunchWorkflow } from '../../shared/domain/ports';
import type { Session } from '../../shared/domain/session';

export type WorkflowOutcome =
  | { status: 'SUCCEEDED'; output: unknown }
  | { status: 'FAILED'; error: string; cause: string };

export interface WorkflowHarness {
  /** Runs a state machine whose one Task waits for a task token (`.waitForTaskToken`), as AwaitHeartbeat does. */
  workflow: LaunchWorkflow;
  stateMachineName: string;
  /** Every token the waiting state handed out for the run so far (one per execution that reached it). */
  tokensOf(runId: string): Promise<string[]>;
  /** The input the run's execution received. */
  inputOf(runId: string): Promise<unknown>;
  /** How the run's execution ended; undefined while it runs. */
  outcomeOf(runId: string): Promise<WorkflowOutcome | undefined>;
  close(): Promise<void>;
}

/** What the stream processor treats as "this wait is already over" (session-events handler). */
const SPENT_TOKEN_ERRORS = ['TaskTimedOut', 'InvalidToken', 'TaskDoesNotExist'];

let sequence = 0;
const sessionOf = (): Session => {
  sequence += 1;
  const runId = `dry-run-workflow-${String(sequence).padStart(6, '0')}`;
  // Only what launchInputOf and the adapters read; the rest of a session is not the workflow's business.
  return {
    run_id: runId,
    strategy_id: 'workflow',
    strategy_name: 'PascalStrategy',
    trading_mode: 'dry-run',
    trace_id: 'Root=1-67891233-abcdef012345678912345678',
  } as Session;
};

const eventually = async <T>(read: () => Promise<T | undefined>, what: string, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

/** What a stand-in gets wrong; each is written down where the harness is made, and skipped, not faked. */
export interface WorkflowLimits {
  /** moto's SendTaskFailure handler drops `cause` (the execution fails with an empty cause). */
  dropsFailureCause?: boolean;
  /** moto accepts SendTaskFailure for a token whose execution has ended; AWS refuses it. */
  acceptsFailureOfSpentToken?: boolean;
}

/** The behaviour every LaunchWorkflow adapter must have (Step Functions in AWS, aws-local-stepfunctions locally). */
export const launchWorkflowContract = (
  adapterName: string,
  start: () => Promise<WorkflowHarness>,
  limits: WorkflowLimits = {},
) => {
  describe(`LaunchWorkflow contract: ${adapterName}`, () => {
    let harness: WorkflowHarness;
    beforeAll(async () => {
      harness = await start();
    });
    afterAll(async () => {
      await harness?.close();
    });

    const tokenOf = (runId: string) =>
      eventually(async () => (await harness.tokensOf(runId))[0], `the task token of ${runId}`);
    const outcomeOf = (runId: string) => eventually(() => harness.outcomeOf(runId), `the end of ${runId}`);
    const spentRefusal = (release: Promise<void>) =>
      release.then(
        () => 'released',
        (error: unknown) => (error instanceof Error ? error.name : String(error)),
      );

    it('starts an execution named after the run, with the launch input, that waits for its token', async () => {
      // prepare
      const session = sessionOf();

      // act
      const started = await harness.workflow.start(session);

      // assess
      expect(started.executionArn).toMatch(
        new RegExp(`:execution:${harness.stateMachineName}:${session.run_id}$`),
      );
      expect(await harness.inputOf(session.run_id)).toEqual({
        run_id: session.run_id,
        strategy_id: session.strategy_id,
        strategy_name: session.strategy_name,
        trading_mode: session.trading_mode,
      });
      await tokenOf(session.run_id);
      expect(await harness.outcomeOf(session.run_id)).toBeUndefined();
    });

    it('answers the same execution to a retried start while it runs, and starts no second one', async () => {
      // prepare
      const session = sessionOf();
      const first = await harness.workflow.start(session);
      await tokenOf(session.run_id);

      // act
      const again = await harness.workflow.start(session);

      // assess
      expect(again).toEqual(first);
      expect(await harness.tokensOf(session.run_id)).toHaveLength(1);
    });

    it('ends the wait with SendTaskSuccess: the execution succeeds with the output given', async () => {
      // prepare
      const session = sessionOf();
      await harness.workflow.start(session);
      const token = await tokenOf(session.run_id);

      // act
      await harness.workflow.succeed(token, { heartbeat_seq: 1, agent_id: 'agent-a' });

      // assess
      expect(await outcomeOf(session.run_id)).toEqual({
        status: 'SUCCEEDED',
        output: { heartbeat_seq: 1, agent_id: 'agent-a' },
      });
    });

    const failedRun = async () => {
      const session = sessionOf();
      await harness.workflow.start(session);
      await harness.workflow.fail(
        await tokenOf(session.run_id),
        'ContainerExited',
        'the agent exited with code 3 before its first heartbeat',
      );
      return outcomeOf(session.run_id);
    };

    it('fails the wait with SendTaskFailure: the workflow sees the error', async () => {
      // act
      const outcome = await failedRun();

      // assess
      expect(outcome).toMatchObject({ status: 'FAILED', error: 'ContainerExited' });
    });

    it.skipIf(limits.dropsFailureCause)('passes the cause of a SendTaskFailure to the workflow', async () => {
      // act
      const outcome = await failedRun();

      // assess
      expect(outcome).toMatchObject({ cause: 'the agent exited with code 3 before its first heartbeat' });
    });

    const spentToken = async () => {
      const session = sessionOf();
      await harness.workflow.start(session);
      const token = await tokenOf(session.run_id);
      await harness.workflow.succeed(token, { heartbeat_seq: 1 });
      await outcomeOf(session.run_id);
      return token;
    };

    it('refuses a second SendTaskSuccess of the same token as spent, and an unknown token likewise', async () => {
      // prepare
      const token = await spentToken();

      // act
      const twice = await spentRefusal(harness.workflow.succeed(token, { heartbeat_seq: 2 }));
      const unknown = await spentRefusal(harness.workflow.succeed('no-such-token', {}));

      // assess
      expect(SPENT_TOKEN_ERRORS).toContain(twice);
      expect(SPENT_TOKEN_ERRORS).toContain(unknown);
    });

    it.skipIf(limits.acceptsFailureOfSpentToken)('refuses a SendTaskFailure of a spent token', async () => {
      // prepare
      const token = await spentToken();

      // act + assess
      expect(SPENT_TOKEN_ERRORS).toContain(
        await spentRefusal(harness.workflow.fail(token, 'Late', 'too late')),
      );
    });

    it('answers the same execution to a start after it ended, and launches the run no second time', async () => {
      // prepare
      const session = sessionOf();
      const first = await harness.workflow.start(session);
      await harness.workflow.succeed(await tokenOf(session.run_id), { heartbeat_seq: 1 });
      await outcomeOf(session.run_id);

      // act
      const again = await harness.workflow.start(session);

      // assess
      expect(again).toEqual(first);
      expect(await harness.tokensOf(session.run_id)).toHaveLength(1);
    });
  });
};
