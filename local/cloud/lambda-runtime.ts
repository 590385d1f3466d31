import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

export type LambdaHandler<E = unknown, R = unknown> = (event: E, context: Context) => Promise<R>;

export interface LocalFunction {
  name: string;
  timeoutS: number;
  memoryMb: number;
  handler: LambdaHandler;
}

export class FunctionTimeoutError extends Error {
  constructor(name: string, timeoutS: number) {
    super(`Task timed out after ${timeoutS.toFixed(2)} seconds (${name})`);
    this.name = 'FunctionTimeoutError';
  }
}

/** A Lambda context as the runtime hands it over, so Powertools and middy behave as they do in AWS. */
const contextFor = (fn: LocalFunction, deadline: number, region: string): Context => {
  const requestId = randomUUID();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: fn.name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:${fn.name}`,
    memoryLimitInMB: String(fn.memoryMb),
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${fn.name}`,
    logStreamName: `local/${requestId}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
};

/** Invokes a handler with Lambda's timeout: a handler that overruns fails the invocation, as in AWS. */
export const invokeLocal = async <R>(fn: LocalFunction, event: unknown, region = 'us-east-1'): Promise<R> => {
  const deadline = Date.now() + fn.timeoutS * 1000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new FunctionTimeoutError(fn.name, fn.timeoutS)), fn.timeoutS * 1000);
  });
  try {
    return (await Promise.race([fn.handler(event, contextFor(fn, deadline, region)), timeout])) as R;
  } finally {
    clearTimeout(timer);
  }
};
