import * as z from 'zod';
import { AccountIdSchema } from '../../../shared/domain/session';
import { HaltModeSchema, TradingStateSchema } from '../../../shared/domain/trading-scope';
import { ReasonSchema } from '../shared/schemas';

export const AccountParamsSchema = z.strictObject({ accountId: AccountIdSchema });

/** `POST /fleet/halt`, `POST /accounts/{accountId}/halt`: a reason is required, a halt must say why. */
export const HaltBodySchema = z.strictObject({
  mode: HaltModeSchema,
  reason: ReasonSchema,
});
export type HaltBody = z.output<typeof HaltBodySchema>;

/** `POST /fleet/resume`, `POST /accounts/{accountId}/resume`: the manual reset, with its reason. */
export const ScopeResumeBodySchema = z.strictObject({ reason: ReasonSchema });

/** A scope as the API shows it (no table keys). */
export const TradingScopeViewSchema = z
  .strictObject({
    scope: z.enum(['fleet', 'account']),
    account_id: AccountIdSchema.nullable(),
    state: TradingStateSchema,
    generation: z.number().int().nonnegative(),
    previous_state: TradingStateSchema.nullable(),
    changed_by: z.string(),
    reason: z.string(),
    changed_at: z.string(),
  })
  .meta({ id: 'TradingScope' });

const SessionRefSchema = z.looseObject({
  run_id: z.string(),
  strategy_id: z.string(),
  trading_mode: z.string(),
});

/** What a halt or resume did: the scope as written and every session in it, by name. */
export const ScopeChangeResultSchema = TradingScopeViewSchema.extend({
  changed: z
    .boolean()
    .meta({ description: 'false when the scope already was in that state (the fan-out ran again)' }),
  sessions: z.strictObject({
    acted: z.array(SessionRefSchema.extend({ action: z.string(), note: z.string().nullable() })),
    untouched: z.array(SessionRefSchema.extend({ why: z.string() })),
    held: z
      .array(
        SessionRefSchema.extend({
          reason: z.literal('agent_held'),
          held_by: z.enum(['fail_closed', 'start_failure']),
          message: z.string(),
        }),
      )
      .meta({
        description:
          "Sessions a resume left paused (the scope's hold dropped): their agent holds Freqtrade stopped for the rest of its task; stop and start them",
      }),
    failed: z.array(SessionRefSchema.extend({ error: z.string() })),
    confirmed: z.array(z.string()),
    unconfirmed: z
      .array(
        SessionRefSchema.extend({
          status: z.string(),
          freqtrade_state: z.string().nullable(),
          last_heartbeat: z.string().nullable(),
        }),
      )
      .meta({ description: 'Agents that did not confirm within confirm_timeout_s: never counted as done' }),
  }),
  confirm_timeout_s: z.number(),
}).meta({ id: 'ScopeChangeResult' });

export const FleetStateSchema = z
  .strictObject({ fleet: TradingScopeViewSchema, accounts: z.array(TradingScopeViewSchema) })
  .meta({ id: 'FleetState' });
