import {
  ExecutionAlreadyExists,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { LaunchWorkflow } from '../../domain/ports';
import type { Session } from '../../domain/session';

/** The launch workflow's input: the state machine reads nothing else. */
export const launchInputOf = (session: Session) => ({
  run_id: session.run_id,
  strategy_id: session.strategy_id,
  strategy_name: session.strategy_name,
  trading_mode: session.trading_mode,
});

export class StepFunctionsLaunchWorkflow implements LaunchWorkflow {
  readonly #client: SFNClient;
  readonly #stateMachineArn: string;

  constructor(client: SFNClient, stateMachineArn: string) {
    this.#client = client;
    this.#stateMachineArn = stateMachineArn;
  }

  async start(session: Session) {
    const executionArn = `${this.#stateMachineArn.replace(':stateMachine:', ':execution:')}:${session.run_id}`;
    try {
      const result = await this.#client.send(
        new StartExecutionCommand({
          stateMachineArn: this.#stateMachineArn,
          name: session.run_id,
          input: JSON.stringify(launchInputOf(session)),
          traceHeader: session.trace_id,
        }),
      );
      // A retry while the execution runs (same name, same input) is answered like the first call.
      return { executionArn: result.executionArn ?? executionArn };
    } catch (error) {
      // The execution of this run has ended (or had other input): it is still the run's one execution.
      if (error instanceof ExecutionAlreadyExists) return { executionArn };
      throw error;
    }
  }

  async succeed(taskToken: string, output: Record<string, unknown>) {
    await this.#client.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
  }

  async fail(taskToken: string, error: string, cause: string) {
    await this.#client.send(
      new SendTaskFailureCommand({ taskToken, error: error.slice(0, 256), cause: cause.slice(0, 32_768) }),
    );
  }
}
