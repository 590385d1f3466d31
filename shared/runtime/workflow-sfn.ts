import { SFNClient } from '@aws-sdk/client-sfn';
import * as z from 'zod';
import { StepFunctionsLaunchWorkflow } from '../adapters/sfn/launch-workflow';
import { parseEnv } from './env';

export const WorkflowEnvSchema = z.object({ LAUNCH_STATE_MACHINE_ARN: z.string().startsWith('arn:') });

export const workflowFromEnv = (env: NodeJS.ProcessEnv = process.env): StepFunctionsLaunchWorkflow =>
  new StepFunctionsLaunchWorkflow(
    new SFNClient({ maxAttempts: 5 }),
    parseEnv(WorkflowEnvSchema, env).LAUNCH_STATE_MACHINE_ARN,
  );
