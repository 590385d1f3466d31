import * as z from 'zod';
import { ReasonSchema } from '../../../functions/api/shared/schemas';
import { AccountIdSchema } from '../../../shared/domain/session';
import { HaltModeSchema } from '../../../shared/domain/trading-scope';
import type { CommandContext } from '../context';
import { CliError, UsageError } from '../errors';
import { EXIT } from '../exit-codes';
import { renderTable } from '../format';

const SessionRefSchema = z.looseObject({
  run_id: z.string(),
  strategy_id: z.string(),
  trading_mode: z.string(),
});

/** 200 of POST /fleet/halt|resume and /accounts/{id}/halt|resume. */
export const ScopeChangeReplySchema = z.looseObject({
  scope: z.enum(['fleet', 'account']),
  account_id: z.string().nullable(),
  state: z.string(),
  previous_state: z.string().nullable(),
  changed_by: z.string(),
  reason: z.string(),
  changed: z.boolean(),
  sessions: z.looseObject({
    acted: z.array(SessionRefSchema.extend({ action: z.string() })),
    untouched: z.array(SessionRefSchema.extend({ why: z.string() })),
    // A resume's: left paused because their agent holds Freqtrade stopped (a halt's reply has none).
    held: z.array(SessionRefSchema.extend({ held_by: z.string(), message: z.string() })).default([]),
    failed: z.array(SessionRefSchema.extend({ error: z.string() })),
    confirmed: z.array(z.string()),
    unconfirmed: z.array(
      SessionRefSchema.extend({ status: z.string(), freqtrade_state: z.string().nullable() }),
    ),
  }),
  confirm_timeout_s: z.number(),
});
export type ScopeChangeReply = z.infer<typeof ScopeChangeReplySchema>;

export interface ScopeOptions {
  account?: string;
  mode?: string;
  reason: string;
  yes?: boolean;
}

const checked = <T>(schema: z.ZodType<T>, value: unknown, flag: string): T => {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new UsageError(`${flag}: ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
  return parsed.data;
};

const scopePath = (account: string | undefined) =>
  account === undefined ? '/fleet' : `/accounts/${checked(AccountIdSchema, account, '--account')}`;

const scopeName = (reply: ScopeChangeReply) =>
  reply.scope === 'fleet' ? 'fleet' : `account ${reply.account_id}`;

/**
 * Sessions a resume left paused: their agent stopped Freqtrade itself (fail-closed, start failure) and never
 * restarts it in that task, so resuming the scope cannot make them trade; only a stop and a new start can.
 */
const reportHeld = (ctx: CommandContext, held: ScopeChangeReply['sessions']['held']) => {
  ctx.print(
    renderTable(
      ['STRATEGY', 'RUN', 'STATE'],
      held.map((item) => [
        item.strategy_id,
        item.run_id,
        ctx.paint.yellow(`kept paused: agent held (${item.held_by})`),
      ]),
      ctx.paint,
    ),
  );
  for (const item of held)
    ctx.print(
      `${item.strategy_id}: ${item.message}\n  what to do: check its positions on the exchange, then tradai stop ${item.strategy_id} --reason "<why>" and tradai start ${item.strategy_id} (a fresh task)`,
    );
};

/**
 * The halt's or resume's outcome: what changed, and every session the agents have not confirmed or the
 * control plane could not write, by name; those make the exit code 1, since the brake is not known to hold.
 */
const reportChange = (ctx: CommandContext, reply: ScopeChangeReply) => {
  const { sessions } = reply;
  if (ctx.json) ctx.printJson(reply);
  else {
    ctx.print(
      `${scopeName(reply)} ${reply.changed ? `is now ${reply.state} (was ${reply.previous_state ?? 'active'})` : `was already ${reply.state}`}: ${sessions.acted.length} session(s) acted on, ${sessions.confirmed.length} confirmed, ${sessions.untouched.length} left alone${sessions.held.length > 0 ? `, ${sessions.held.length} kept paused (agent held)` : ''}`,
    );
    if (sessions.held.length > 0) reportHeld(ctx, sessions.held);
    const problems = [
      ...sessions.unconfirmed.map((item) => [
        item.strategy_id,
        item.run_id,
        ctx.paint.red('not confirmed'),
        `${item.status}, freqtrade ${item.freqtrade_state ?? 'unknown'}`,
      ]),
      ...sessions.failed.map((item) => [
        item.strategy_id,
        item.run_id,
        ctx.paint.red('not written'),
        item.error,
      ]),
    ];
    if (problems.length > 0)
      ctx.print(renderTable(['STRATEGY', 'RUN', 'PROBLEM', 'LAST SEEN'], problems, ctx.paint));
  }
  if (sessions.unconfirmed.length > 0 || sessions.failed.length > 0) {
    throw new CliError(
      `${scopeName(reply)} ${reply.state}, but ${sessions.unconfirmed.length} session(s) did not confirm within ${reply.confirm_timeout_s}s and ${sessions.failed.length} could not be written: check them (tradai show <strategy>)`,
      EXIT.error,
      {
        unconfirmed: sessions.unconfirmed.map((item) => item.run_id),
        failed: sessions.failed.map((item) => item.run_id),
      },
    );
  }
};

/**
 * The brake. `reducing` never asks (it only stops new entries); `halted`, which closes positions, is confirmed
 * like a live session's stop. The API waits (bounded) for the agents; the reply names any that did not confirm.
 */
export const haltCommand = async (ctx: CommandContext, options: ScopeOptions): Promise<void> => {
  const path = scopePath(options.account);
  const body = {
    mode: checked(HaltModeSchema, options.mode, '--mode'),
    reason: checked(ReasonSchema, options.reason, '--reason'),
  };
  if (body.mode === 'halted' && options.yes !== true) {
    // Reducing only stops new entries; halted closes every position and stops every session in the scope.
    const name = options.account ?? 'fleet';
    await ctx.confirm(
      `HALT ${options.account === undefined ? 'the whole fleet' : `account ${name}`}: flatten every position and stop every session? Type ${name} to confirm: `,
      name,
      'halt --mode halted needs --yes when there is no terminal to confirm on (--mode reducing never asks); nothing was sent',
    );
  }
  const api = await ctx.api();
  if (!ctx.json)
    ctx.note(
      ctx.paint.dim(
        `${body.mode === 'halted' ? 'halting' : 'reducing'} ${options.account === undefined ? 'the fleet' : `account ${options.account}`}; waiting for the agents to confirm...`,
      ),
    );
  reportChange(ctx, await api.post(`${path}/halt`, body, ScopeChangeReplySchema));
};

/** Puts money back at risk: confirmed by typing the scope's name (or --yes), like a live session's command. */
export const resumeScopeCommand = async (ctx: CommandContext, options: ScopeOptions): Promise<void> => {
  const path = scopePath(options.account);
  const body = { reason: checked(ReasonSchema, options.reason, '--reason') };
  const name = options.account ?? 'fleet';
  if (options.yes !== true) {
    await ctx.confirm(
      `resume trading for ${options.account === undefined ? 'the whole fleet' : `account ${name}`}? Type ${name} to confirm: `,
      name,
      `resume-fleet needs --yes when there is no terminal to confirm on; nothing was sent`,
    );
  }
  const api = await ctx.api();
  reportChange(ctx, await api.post(`${path}/resume`, body, ScopeChangeReplySchema));
};
