import * as z from 'zod';

const KeyValueSchema = z.object({ name: z.string().optional(), value: z.string().optional() }).loose();

/** The fields of ECS's "ECS Task State Change" detail this function reads; the rest passes through. */
export const EcsTaskStateChangeDetailSchema = z
  .object({
    clusterArn: z.string().min(1),
    taskArn: z.string().min(1),
    lastStatus: z.string(),
    desiredStatus: z.string().optional(),
    group: z.string().optional(),
    startedBy: z.string().optional(),
    stoppedReason: z.string().optional(),
    stopCode: z.string().optional(),
    taskDefinitionArn: z.string().optional(),
    containers: z
      .array(
        z
          .object({
            name: z.string().optional(),
            exitCode: z.number().int().optional(),
            reason: z.string().optional(),
            lastStatus: z.string().optional(),
          })
          .loose(),
      )
      .default([]),
    overrides: z
      .object({
        containerOverrides: z
          .array(
            z
              .object({ name: z.string().optional(), environment: z.array(KeyValueSchema).optional() })
              .loose(),
          )
          .default([]),
      })
      .loose()
      .optional(),
  })
  .loose();
export type EcsTaskStateChangeDetail = z.infer<typeof EcsTaskStateChangeDetailSchema>;

/**
 * The EventBridge envelope, written here rather than taken from Powertools parser, whose schemas import
 * zod's whole namespace (about 300 KB in every bundle).
 */
export const EcsTaskStateChangeEventSchema = z.object({
  version: z.string(),
  id: z.string(),
  source: z.literal('aws.ecs'),
  'detail-type': z.literal('ECS Task State Change'),
  account: z.string(),
  time: z.iso.datetime(),
  region: z.string(),
  resources: z.array(z.string()),
  detail: EcsTaskStateChangeDetailSchema,
});
export type EcsTaskStateChangeEvent = z.infer<typeof EcsTaskStateChangeEventSchema>;
