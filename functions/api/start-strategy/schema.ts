import * as z from 'zod';
import { HandoffModeSchema, MAX_WAIT_FLAT_S } from '../../../shared/domain/handoff';
import { CheckedOverridesSchema } from '../../../shared/domain/overrides';
import { deploymentBoundIssues, RiskLimitsSchema } from '../../../shared/domain/risk';
import { TradingModeSchema } from '../../../shared/domain/session';
import { ReasonSchema } from '../shared/schemas';

/** MLflow registered-model names, aliases and stages: plain names, since they reach config and env vars. */
const registryName = (maxLength: number) =>
  z
    .string()
    .min(1)
    .max(maxLength)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be letters, digits, dots, dashes or underscores');
const AliasSchema = registryName(128);
const StageSchema = registryName(64);

/** `POST /strategies/{strategyId}/start`. */
export const StartBodySchema = z
  .strictObject({
    /** The strategy's name in the model registry, e.g. `PascalStrategy`. */
    strategy: registryName(128),
    mode: TradingModeSchema,
    alias: AliasSchema.optional(),
    stage: StageSchema.optional(),
    /**
     * Deep-merged over the registry's Freqtrade config by the agent's loader: only the allow-list of
     * shared/domain/overrides (README, "Start overrides"); anything else is a 400 naming the key.
     */
    overrides: CheckedOverridesSchema.optional(),
    risk_limits: RiskLimitsSchema.optional(),
    reason: ReasonSchema.optional(),
  })
  .refine((body) => body.alias === undefined || body.stage === undefined, {
    message: 'give either alias or stage, not both',
    path: ['stage'],
  })
  // A body refused anyway also names the risk limits beyond the deployment bounds, so a live start is fixed
  // in one go (issue 10); a body that parses gets the same check, with its own code, from the handler.
  .superRefine(
    (body: unknown, ctx) => {
      if (typeof body !== 'object' || body === null) return;
      const { risk_limits: limits, mode } = body as { risk_limits?: unknown; mode?: unknown };
      for (const issue of deploymentBoundIssues(limits, mode)) {
        ctx.addIssue({ code: 'custom', path: issue.field.split('.'), message: issue.message });
      }
    },
    { when: (payload) => payload.issues.length > 0 },
  );
export type StartBody = z.output<typeof StartBodySchema>;

/** `POST /strategies/{strategyId}/deploy`: the version to roll the running session to, and how. */
export const DeployBodySchema = z
  .strictObject({
    /** An exact registry version, e.g. `"4"`. */
    version: z
      .string()
      .regex(/^\d{1,10}$/, 'must be a registry version number')
      .optional(),
    alias: AliasSchema.optional(),
    stage: StageSchema.optional(),
    handoff: HandoffModeSchema,
    /** wait_flat: how long the old version may take to close its trades before they are carried (default 300). */
    wait_flat_s: z.number().int().min(1).max(MAX_WAIT_FLAT_S).optional(),
    reason: ReasonSchema,
  })
  .refine(
    (body) => [body.version, body.alias, body.stage].filter((value) => value !== undefined).length === 1,
    { message: 'give exactly one of version, alias or stage', path: ['version'] },
  )
  .refine((body) => body.handoff === 'wait_flat' || body.wait_flat_s === undefined, {
    message: 'is only for handoff wait_flat',
    path: ['wait_flat_s'],
  });
export type DeployBody = z.output<typeof DeployBodySchema>;

/** `POST /strategies/{strategyId}/restart`: the same version on a fresh task (fresh exchange credentials). */
export const RestartBodySchema = z.strictObject({ reason: ReasonSchema });
export type RestartBody = z.output<typeof RestartBodySchema>;

/** 202 of `POST /strategies/{strategyId}/start` (the OpenAPI document and the console page read it). */
export const StartAcceptedSchema = z
  .strictObject({
    run_id: z.string(),
    strategy_id: z.string(),
    status: z.literal('pending'),
  })
  .meta({ id: 'StartAccepted' });
