import { type AgentDeps, type AgentHandle, runAgent } from '../../../container/agent/agent';
import type { AgentOptions } from '../../../container/agent/env';
import { createLogger, Redactor } from '../../../container/agent/logger';

export interface RunningAgent {
  handle: AgentHandle;
  logs: string[];
  exits: number[];
}

/** Runs the agent in-process, capturing its log lines (after redaction, as they would leave the process). */
export const startAgent = async (options: AgentOptions, deps: AgentDeps = {}): Promise<RunningAgent> => {
  const logs: string[] = [];
  const exits: number[] = [];
  const redactor = deps.redactor ?? new Redactor();
  const logger =
    deps.logger ??
    createLogger({
      level: 'debug',
      redactor,
      context: { run_id: options.runId },
      write: (line) => {
        logs.push(line);
        if (process.env.AGENT_TEST_LOGS) process.stdout.write(`${line}\n`);
      },
    });
  const handle = await runAgent(options, { redactor, logger, exit: (code) => exits.push(code), ...deps });
  return { handle, logs, exits };
};
