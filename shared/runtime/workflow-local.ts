import { randomUUID } from 'node:crypto';
import { TradaiError } from '../domain/errors';

/**
 * Running statemachines/*.asl.json on one machine (aws-local-stepfunctions) with its Task states bound
 * to local handlers. Nothing here imports a local engine or an AWS SDK; the local cloud and the tests
 * pass the engine's `taskResourceLocalHandlers` what `bindLocalTasks` returns.
 *
 * Binding scheme (statemachines/README.md):
 * - a Task with `Resource: arn:aws:states:::lambda:invoke` calls the function named by
 *   `Parameters.FunctionName`, a placeholder `#{<LogicalId>.Arn}` (the CloudFormation logical id of a
 *   serverless.yml function: `launchStep` -> `LaunchStepLambdaFunction`), with `Parameters.Payload`,
 *   and returns what Step Functions returns: `{ ExecutedVersion, Payload, StatusCode }`;
 * - `...lambda:invoke.waitForTaskToken` calls the function the same way, then waits until the token is
 *   released through `LocalTaskTokens.succeed/fail` (the local LaunchWorkflow), and returns the success
 *   output as Step Functions does. The engine's TimeoutSeconds(Path) still applies.
 * The task token comes from the Context Object: pass `context: { Task: { Token } }` to the engine's run.
 */

export type LocalLambda = (payload: unknown) => Promise<unknown>;

/** JSON, as the engine passes state input and expects task results. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type LocalTaskHandler = (input: JsonValue) => Promise<JsonValue>;

const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';
const LAMBDA_INVOKE_WAIT = 'arn:aws:states:::lambda:invoke.waitForTaskToken';
const PLACEHOLDER = /^#\{([A-Za-z0-9]+)\.Arn\}$/;

/** Named as the Step Functions API names its errors, so callers treat local and AWS alike. */
export class TaskTokenError extends TradaiError {
  constructor(name: 'TaskTimedOut' | 'InvalidToken' | 'TaskDoesNotExist', message: string) {
    super(message);
    this.name = name;
  }
}

/** A task failed through SendTaskFailure: its name is the error the workflow's Catch sees. */
class ReportedTaskError extends Error {
  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
  }
}

/** The local side of `.waitForTaskToken`: what SendTaskSuccess / SendTaskFailure do in AWS. */
export class LocalTaskTokens {
  readonly #waiting = new Map<
    string,
    { resolve: (output: unknown) => void; reject: (error: Error) => void }
  >();
  readonly #spent = new Set<string>();

  /** A token for one execution's wait; pass it as the Context Object's Task.Token. */
  issue(executionName: string): string {
    return `local-task-token:${executionName}:${randomUUID()}`;
  }

  /** Registers the wait before the task's function runs, so an early release is not lost. */
  wait(token: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.#waiting.set(token, { resolve, reject });
    });
  }

  async succeed(token: string, output: Record<string, unknown>): Promise<void> {
    this.#take(token).resolve(JSON.parse(JSON.stringify(output)));
  }

  async fail(token: string, error: string, cause: string): Promise<void> {
    this.#take(token).reject(new ReportedTaskError(error, cause));
  }

  /** The execution ended (or timed out): later releases fail as in AWS. */
  expire(token: string): void {
    this.#waiting.delete(token);
    this.#spent.add(token);
  }

  get pending(): number {
    return this.#waiting.size;
  }

  #take(token: string) {
    const waiter = this.#waiting.get(token);
    if (waiter === undefined) {
      throw this.#spent.has(token)
        ? new TaskTokenError('TaskTimedOut', 'Task Timed Out: the task of this token is over')
        : new TaskTokenError('InvalidToken', 'Invalid token');
    }
    this.#waiting.delete(token);
    this.#spent.add(token);
    return waiter;
  }
}

interface TaskStateLike {
  Type: string;
  Resource?: string;
  Parameters?: { FunctionName?: unknown };
}

export interface AslDefinitionLike {
  States: Record<string, TaskStateLike | Record<string, unknown>>;
}

export const logicalIdOf = (functionName: unknown): string => {
  const match = typeof functionName === 'string' ? functionName.match(PLACEHOLDER) : null;
  if (match?.[1] === undefined)
    throw new Error(`FunctionName ${String(functionName)} is not a #{<LogicalId>.Arn} placeholder`);
  return match[1];
};

export interface BindOptions {
  /** Local handlers by CloudFormation logical id (`LaunchStepLambdaFunction`). */
  functions: Readonly<Record<string, LocalLambda>>;
  tokens: LocalTaskTokens;
  /** The token of this execution (the one passed as the Context Object's Task.Token). */
  taskToken: string;
}

/** `taskResourceLocalHandlers` for one execution of `definition`. */
export const bindLocalTasks = (
  definition: AslDefinitionLike,
  options: BindOptions,
): Record<string, LocalTaskHandler> => {
  const bound: Record<string, LocalTaskHandler> = {};
  for (const [name, state] of Object.entries(definition.States)) {
    if (state.Type !== 'Task') continue;
    const resource = (state as TaskStateLike).Resource;
    const functionOf = (input: unknown) => {
      const params = input as { FunctionName?: unknown; Payload?: unknown };
      const id = logicalIdOf(params.FunctionName);
      const fn = options.functions[id];
      if (fn === undefined) throw new Error(`no local function bound for ${id} (state ${name})`);
      return { fn, payload: params.Payload };
    };
    if (resource === LAMBDA_INVOKE) {
      bound[name] = async (input) => {
        const { fn, payload } = functionOf(input);
        const result = (await fn(payload)) as JsonValue;
        return { ExecutedVersion: '$LATEST', Payload: result ?? null, StatusCode: 200 };
      };
    } else if (resource === LAMBDA_INVOKE_WAIT) {
      bound[name] = async (input) => {
        const { fn, payload } = functionOf(input);
        const released = options.tokens.wait(options.taskToken);
        try {
          await fn(payload);
        } catch (error) {
          options.tokens.expire(options.taskToken);
          released.catch(() => undefined);
          throw error;
        }
        return (await released) as JsonValue;
      };
    } else {
      throw new Error(`state ${name}: resource ${String(resource)} has no local binding`);
    }
  }
  return bound;
};
