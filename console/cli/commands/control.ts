import { ReasonSchema } from '../../../functions/api/shared/schemas';
import type { CommandContext } from '../context';
import { CliError, UsageError } from '../errors';
import { EXIT } from '../exit-codes';
import { statusCell } from '../format';
import { CommandReplySchema, type SessionView, SessionViewSchema, StrategyReplySchema } from '../replies';
import { strategyIdOf } from './read';

export type ControlAction = 'pause' | 'resume' | 'stop';

export interface ControlOptions {
  reason: string;
  yes?: boolean;
  flatten?: boolean;
  wait?: boolean;
  timeout: number;
}

/** The status the agent confirms once it has applied the command. */
const CONFIRMED: Readonly<Record<ControlAction, readonly SessionView['status'][]>> = {
  pause: ['paused'],
  resume: ['running'],
  stop: ['stopped', 'failed'],
};

export const reasonOf = (value: string): string => {
  const parsed = ReasonSchema.safeParse(value);
  if (!parsed.success) throw new UsageError(`--reason: ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
  return parsed.data;
};

/**
 * Reads the session first: a live one is confirmed by typing its strategy id (or --yes), since a pause or
 * stop of real money should never be one mistyped line in the shell history away. Then the command; with
 * --wait, until the agent confirms it (paused, running, stopped).
 */
export const controlCommand = async (
  ctx: CommandContext,
  action: ControlAction,
  strategy: string,
  options: ControlOptions,
): Promise<void> => {
  const id = strategyIdOf(strategy);
  const reason = reasonOf(options.reason);
  const api = await ctx.api();
  const { session } = await api.get(`/strategies/${id}`, StrategyReplySchema);
  if (session.trading_mode === 'live' && session.active && options.yes !== true) {
    const what = action === 'stop' && options.flatten === true ? 'stop and FLATTEN' : action;
    await ctx.confirm(
      `${what} the LIVE strategy ${id} (run ${session.run_id}, ${session.status})? Type ${id} to confirm: `,
      id,
      `${id} is a live session: ${action} needs --yes when there is no terminal to confirm on; nothing was sent`,
    );
  }
  const body =
    action === 'stop' ? { reason, ...(options.flatten === true ? { flatten: true } : {}) } : { reason };
  const accepted = await api.post(`/strategies/${id}/${action}`, body, CommandReplySchema);
  if (options.wait !== true) {
    if (ctx.json) ctx.printJson(accepted);
    else
      ctx.print(
        `${action} accepted for ${id} (run ${accepted.run_id}): desired ${accepted.desired_state}, status ${statusCell(accepted.status, ctx.paint)}${accepted.flatten_on_stop ? ', flattening open positions' : ''}; the agent applies it at its next control poll`,
      );
    return;
  }
  const deadline = Date.now() + options.timeout * 1000;
  let current: SessionView | undefined;
  while (!ctx.io.signal.aborted) {
    current = await api.get(`/sessions/${accepted.run_id}`, SessionViewSchema);
    if (CONFIRMED[action].includes(current.status)) break;
    if (Date.now() > deadline) {
      throw new CliError(
        `${action} of ${id} accepted, but the session is still ${current.status} after ${options.timeout}s (tradai show ${id})`,
        EXIT.error,
        { run_id: accepted.run_id, status: current.status },
      );
    }
    await ctx.sleep(500);
  }
  if (ctx.json) ctx.printJson(current ?? accepted);
  else if (current !== undefined)
    ctx.print(
      `${id} (run ${current.run_id}) is ${statusCell(current.status, ctx.paint)}${current.status_reason ? `: ${current.status_reason}` : ''}`,
    );
};
