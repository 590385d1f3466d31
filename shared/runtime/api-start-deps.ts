import { randomBytes } from 'node:crypto';
import { SFNClient } from '@aws-sdk/client-sfn';
import * as z from 'zod';
import { StepFunctionsLaunchWorkflow } from '../adapters/sfn/launch-workflow';
import type { LaunchWorkflow } from '../domain/ports';
import { type CommandDeps, defaultCommandDeps } from './api-command-deps';
import { parseEnv } from './env';

export interface StartDeps extends CommandDeps {
  launchWorkflow: LaunchWorkflow;
  /** The random tail of a run id; injectable so tests can force collisions. */
  randomSuffix?: () => string;
}

export const randomRunSuffix = (): string => randomBytes(4).toString('hex');

export const LaunchEnvSchema = z.object({
  LAUNCH_STATE_MACHINE_ARN: z.string().regex(/^arn:aws[\w-]*:states:/, 'must be a state machine ARN'),
});

export const defaultStartDeps = (env: NodeJS.ProcessEnv = process.env): StartDeps => {
  const { LAUNCH_STATE_MACHINE_ARN } = parseEnv(LaunchEnvSchema, env);
  return {
    ...defaultCommandDeps(env),
    launchWorkflow: new StepFunctionsLaunchWorkflow(
      new SFNClient({ maxAttempts: 3 }),
      LAUNCH_STATE_MACHINE_ARN,
    ),
  };
};
