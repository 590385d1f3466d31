import { readFileSync } from 'node:fs';
import ora from 'ora';
import { StartBodySchema } from '../../../functions/api/start-strategy/schema';
import type { CommandContext } from '../context';
import { CliError, LaunchFailedError, UsageError } from '../errors';
import { EXIT } from '../exit-codes';
import { formatDuration, statusCell } from '../format';
import { launchVerdict } from '../launch';
import { type SessionView, SessionViewSchema, StartReplySchema } from '../replies';
import { strategyIdOf } from './read';

export interface StartOptions {
  model: string;
  mode: string;
  alias?: string;
  stage?: string;
  reason?: string;
  overrides?: string;
  riskLimits?: string;
  yes?: boolean;
  wait: boolean;
  timeout: number;
  interval: number;
}

/** `--overrides '{"...": 1}'` or `--overrides @file.json`. */
export const jsonOption = (name: string, value: string | undefined): unknown => {
  if (value === undefined) return undefined;
  let text = value;
  if (value.startsWith('@')) {
    try {
      text = readFileSync(value.slice(1), 'utf8');
    } catch (error) {
      throw new UsageError(`${name} ${value}: ${(error as Error).message}`);
    }
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`${name} is not JSON: ${(error as Error).message}`);
  }
};

/**
 * The start body, checked with the API's own schema before anything is sent: a wrong field is a usage
 * error naming it (the API would refuse it with a 400 anyway).
 */
export const startBodyOf = (options: StartOptions) => {
  const candidate = {
    strategy: options.model,
    mode: options.mode,
    ...(options.alias === undefined ? {} : { alias: options.alias }),
    ...(options.stage === undefined ? {} : { stage: options.stage }),
    ...(options.reason === undefined ? {} : { reason: options.reason }),
    ...(options.overrides === undefined ? {} : { overrides: jsonOption('--overrides', options.overrides) }),
    ...(options.riskLimits === undefined
      ? {}
      : { risk_limits: jsonOption('--risk-limits', options.riskLimits) }),
  };
  const parsed = StartBodySchema.safeParse(candidate);
  if (!parsed.success) {
    const flagOf: Record<string, string> = { strategy: '--model', risk_limits: '--risk-limits' };
    const issues = parsed.error.issues.map((issue) => {
      const [head = '', ...rest] = issue.path.map(String);
      const flag = flagOf[head] ?? `--${head.replace(/_/g, '-')}`;
      return `${[flag, ...rest].join('.')}: ${issue.message}`;
    });
    throw new UsageError(issues.join('; '));
  }
  return candidate;
};

/**
 * A terminal that reports no width (a pty nobody sized, as some CI runners and editors give) makes ora
 * clear lines without end and block the event loop, so the poll never runs: one line per status there.
 */
export const spinnerFits = (stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }): boolean =>
  stream.isTTY === true && (stream.columns ?? 0) > 0;

/**
 * POST /strategies/{id}/start, then follows the session (GET /sessions/{run}) pending -> launching ->
 * running: exit 0 once it runs, 4 when it fails (with the reason), 1 when --timeout passes first.
 */
export const startCommand = async (
  ctx: CommandContext,
  strategy: string,
  options: StartOptions,
): Promise<void> => {
  const id = strategyIdOf(strategy);
  const body = startBodyOf(options);
  if (body.mode === 'live' && options.yes !== true) {
    await ctx.confirm(
      `start ${id} LIVE (${body.strategy}, real money)? Type ${id} to confirm: `,
      id,
      `a live start of ${id} needs --yes when there is no terminal to confirm on; nothing was sent`,
    );
  }
  const api = await ctx.api();
  const accepted = await api.post(`/strategies/${id}/start`, body, StartReplySchema);
  if (!options.wait) {
    if (ctx.json) ctx.printJson(accepted);
    else ctx.print(`start accepted: ${id} run ${accepted.run_id} is ${accepted.status} (tradai show ${id})`);
    return;
  }

  const began = Date.now();
  // A spinner only on a terminal; elsewhere (a pipe, CI, a test) one line per status change on stderr.
  const spinner = spinnerFits(ctx.io.stderr)
    ? ora({ stream: ctx.io.stderr, text: `${id} ${accepted.status}`, discardStdin: false }).start()
    : undefined;
  const progress = (line: string) => {
    if (spinner === undefined) ctx.note(line);
    else spinner.text = line;
  };
  // Off a terminal a failure is said once, by the error tradai ends with.
  const finish = (ok: boolean, line: string) => {
    if (spinner === undefined) {
      if (ok) ctx.note(line);
    } else if (ok) spinner.succeed(line);
    else spinner.fail(line);
  };
  progress(`${id} ${statusCell(accepted.status, ctx.paint)} (run ${accepted.run_id})`);
  let last: SessionView | undefined;
  try {
    while (!ctx.io.signal.aborted) {
      const session = await api.get(`/sessions/${accepted.run_id}`, SessionViewSchema);
      if (session.status !== last?.status && session.status !== accepted.status) {
        progress(
          `${id} ${statusCell(session.status, ctx.paint)} after ${formatDuration((Date.now() - began) / 1000)}${session.status_reason ? `: ${session.status_reason}` : ''}`,
        );
      }
      last = session;
      const verdict = launchVerdict(session);
      if (verdict.kind === 'launched') {
        finish(true, `${id} is ${session.status} (run ${session.run_id})`);
        break;
      }
      if (verdict.kind === 'failed') {
        finish(false, `${id} did not launch: ${verdict.reason}`);
        throw new LaunchFailedError(`${id} (run ${session.run_id}) did not launch: ${verdict.reason}`, {
          run_id: session.run_id,
          status: session.status,
          status_reason: session.status_reason,
        });
      }
      if (Date.now() - began > options.timeout * 1000) {
        finish(false, `${id} still ${session.status} after ${options.timeout}s`);
        throw new CliError(
          `${id} (run ${session.run_id}) is still ${session.status} after ${options.timeout}s: it may yet run or fail (tradai show ${id})`,
          EXIT.error,
          { run_id: session.run_id, status: session.status },
        );
      }
      await ctx.sleep(options.interval * 1000);
    }
  } finally {
    if (spinner?.isSpinning === true) spinner.stop();
  }
  if (ctx.json && last !== undefined) ctx.printJson(last);
};
