import './polyfills';
import { ExecutionError, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';

type JSONValue = null | boolean | number | string | JSONValue[] | { [key: string]: JSONValue };

import { launchInputOf } from '../../shared/adapters/sfn/launch-workflow';
import type { LaunchWorkflow } from '../../shared/domain/ports';
import type { Session } from '../../shared/domain/session';
import { bindLocalTasks, type LocalLambda, LocalTaskTokens } from '../../shared/runtime/workflow-local';

interface Execution {
  arn: string;
  taskToken: string;
  abort: () => void;
  done: Promise<void>;
}

/**
 * Step Functions on one machine: the same ASL run by aws-local-stepfunctions, its Lambda tasks bound to
 * local handlers, `.waitForTaskToken` released through succeed/fail as SendTaskSuccess/Failure would.
 * Executions are named by run id, so a retried start finds the running one, as StartExecution does.
 */
export class LocalLaunchWorkflow implements LaunchWorkflow {
  readonly #definition: StateMachineDefinition;
  readonly #stateMachineArn: string;
  readonly #functions: Readonly<Record<string, LocalLambda>>;
  readonly #tokens = new LocalTaskTokens();
  readonly #executions = new Map<string, Execution>();
  readonly #log: (line: string) => void;

  constructor(options: {
    definition: StateMachineDefinition;
    stateMachineArn: string;
    functions: Readonly<Record<string, LocalLambda>>;
    log: (line: string) => void;
  }) {
    this.#definition = options.definition;
    this.#stateMachineArn = options.stateMachineArn;
    this.#functions = options.functions;
    this.#log = options.log;
  }

  async start(session: Session) {
    const existing = this.#executions.get(session.run_id);
    if (existing !== undefined) return { executionArn: existing.arn };
    const arn = `${this.#stateMachineArn.replace(':stateMachine:', ':execution:')}:${session.run_id}`;
    const taskToken = this.#tokens.issue(session.run_id);
    const machine = new StateMachine(this.#definition, {
      validationOptions: { checkArn: false, checkPaths: true },
    });
    const execution = machine.run(launchInputOf(session), {
      context: {
        Execution: { Id: arn, Name: session.run_id, StartTime: new Date().toISOString() },
        StateMachine: { Id: this.#stateMachineArn, Name: this.#stateMachineArn.split(':').pop() ?? '' },
        Task: { Token: taskToken },
      },
      overrides: {
        taskResourceLocalHandlers: this.#bind(taskToken),
      },
    });
    const done = execution.result
      .then(
        (output) => this.#log(`sfn: ${session.run_id} launch workflow succeeded ${JSON.stringify(output)}`),
        (error: unknown) => {
          const detail = error instanceof ExecutionError ? `${error.name}: ${error.message}` : String(error);
          this.#log(`sfn: ${session.run_id} launch workflow failed (${detail})`);
        },
      )
      .finally(() => this.#tokens.expire(taskToken));
    this.#executions.set(session.run_id, { arn, taskToken, abort: () => execution.abort(), done });
    return { executionArn: arn };
  }

  /** The engine speaks JSON values; our bound tasks take and give plain JSON too. */
  #bind(taskToken: string): Record<string, (input: JSONValue) => Promise<JSONValue>> {
    const bound = bindLocalTasks(this.#definition as never, {
      functions: this.#functions,
      tokens: this.#tokens,
      taskToken,
    });
    return Object.fromEntries(
      Object.entries(bound).map(([state, task]) => [
        state,
        async (input: JSONValue) => (await task(input)) as JSONValue,
      ]),
    );
  }

  async succeed(taskToken: string, output: Record<string, unknown>): Promise<void> {
    await this.#tokens.succeed(taskToken, output);
  }

  async fail(taskToken: string, error: string, cause: string): Promise<void> {
    await this.#tokens.fail(taskToken, error, cause);
  }

  /** Resolves when every execution started so far has ended. */
  async settled(): Promise<void> {
    await Promise.all([...this.#executions.values()].map((execution) => execution.done));
  }

  close(): void {
    for (const execution of this.#executions.values()) execution.abort();
  }
}
