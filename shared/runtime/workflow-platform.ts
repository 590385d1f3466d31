import { ECSClient } from '@aws-sdk/client-ecs';
import * as z from 'zod';
import { EcsContainerPlatform } from '../adapters/ecs/ecs-platform';
import { parseEnv } from './env';

const list = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== ''),
  )
  .pipe(z.array(z.string().min(1)).min(1));

const flag = z
  .enum(['true', 'false', '1', '0', ''])
  .default('false')
  .transform((value) => value === 'true' || value === '1');

export const PlatformEnvSchema = z.object({
  ECS_CLUSTER: z.string().min(1),
  ECS_TASK_DEFINITION: z.string().min(1),
  ECS_CONTAINER_NAME: z.string().min(1).default('strategy'),
  ECS_SUBNETS: list,
  ECS_SECURITY_GROUPS: list,
  ECS_ASSIGN_PUBLIC_IP: flag,
  ECS_ALLOW_SPOT: flag,
});

export const platformFromEnv = (env: NodeJS.ProcessEnv = process.env): EcsContainerPlatform => {
  const parsed = parseEnv(PlatformEnvSchema, env);
  return new EcsContainerPlatform(new ECSClient({ maxAttempts: 5 }), {
    cluster: parsed.ECS_CLUSTER,
    taskDefinition: parsed.ECS_TASK_DEFINITION,
    containerName: parsed.ECS_CONTAINER_NAME,
    subnets: parsed.ECS_SUBNETS,
    securityGroups: parsed.ECS_SECURITY_GROUPS,
    assignPublicIp: parsed.ECS_ASSIGN_PUBLIC_IP,
    allowSpot: parsed.ECS_ALLOW_SPOT,
    tags: { service: 'tradai', stage: env.STAGE ?? 'unknown' },
  });
};
