import * as z from 'zod';
import {
  PromoteBodySchema,
  PromotedReplySchema as PromotedApiReplySchema,
} from '../../../functions/api/promote-strategy/schema';
import type { CommandContext } from '../context';
import { UsageError } from '../errors';
import { strategyIdOf } from './read';

export interface PromoteOptions {
  version: string;
  to: string;
  reason: string;
  model?: string;
}

/** Checked loosely: a field the API adds breaks nothing, and `--json` prints the reply as sent. */
export const PromotedReplySchema = z.looseObject(PromotedApiReplySchema.shape);

/**
 * Moves a model version to a stage or alias in the registry. The body is checked with the API's own schema
 * first, so a reserved alias or a missing reason is a usage error and nothing is sent; a refusal (no
 * backtest, a floor, no such version) prints the API's code and message (exit 3).
 */
export const promoteCommand = async (ctx: CommandContext, strategy: string, options: PromoteOptions) => {
  const id = strategyIdOf(strategy);
  const body = {
    version: options.version,
    to: options.to,
    reason: options.reason,
    ...(options.model === undefined ? {} : { model: options.model }),
  };
  const parsed = PromoteBodySchema.safeParse(body);
  if (!parsed.success) {
    throw new UsageError(
      parsed.error.issues.map((issue) => `--${String(issue.path[0] ?? 'body')}: ${issue.message}`).join('; '),
    );
  }
  const api = await ctx.api();
  const promoted = await api.post(`/strategies/${id}/promote`, body, PromotedReplySchema);
  if (ctx.json) {
    ctx.printJson(promoted);
    return;
  }
  const where =
    promoted.kind === 'stage'
      ? `stage ${promoted.stage ?? promoted.to} (was ${promoted.stage_before ?? 'none'})`
      : `alias @${promoted.to}`;
  ctx.print(
    `${promoted.model} v${promoted.version} is now ${where}${promoted.backtest_run_id === null ? '' : `; gate passed on backtest ${promoted.backtest_run_id}`}`,
  );
  if (promoted.active_run_id !== null)
    ctx.note(
      `the running session ${promoted.active_run_id} keeps its version until it is restarted or deployed`,
    );
};
