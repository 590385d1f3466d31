import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import * as z from 'zod';

/**
 * A record of everything in a simulated Freqtrade that can place an order: the process's start and end,
 * every change to its trades (an entry, an exit order, a fill: what a real Freqtrade sends the exchange)
 * and every order-capable REST call (/start, /forceenter, /forceexit). One JSON line each, appended
 * synchronously, with a sub-millisecond wall-clock time, so a test can put the records of two bots on one
 * time line and prove they never overlap. Off unless FREQTRADE_SIM_ORDER_LOG names a file.
 */
export const ORDER_LOG_ENV_VAR = 'FREQTRADE_SIM_ORDER_LOG';

export const OrderLogEventSchema = z.enum([
  'process_started',
  /** The REST API answers and the loop runs: from here this bot manages its trades. */
  'process_ready',
  'trades_changed',
  'api_start',
  'api_forceenter',
  'api_forceexit',
  'process_exiting',
]);
export type OrderLogEvent = z.infer<typeof OrderLogEventSchema>;

export const OrderLogLineSchema = z.strictObject({
  at_ms: z.number(),
  pid: z.number().int(),
  run_id: z.string().nullable(),
  event: OrderLogEventSchema,
});
export type OrderLogLine = z.infer<typeof OrderLogLineSchema>;

/** REST calls that can place orders or let the bot place them, by their /api/v1 path. */
export const ORDER_CAPABLE_CALLS: Readonly<Record<string, OrderLogEvent>> = {
  '/api/v1/start': 'api_start',
  '/api/v1/forceenter': 'api_forceenter',
  '/api/v1/forcebuy': 'api_forceenter',
  '/api/v1/forceexit': 'api_forceexit',
  '/api/v1/forcesell': 'api_forceexit',
};

export class OrderLog {
  readonly #path: string;
  readonly #runId: string | null;

  constructor(path: string, runId: string | null) {
    this.#path = path;
    this.#runId = runId;
  }

  record(event: OrderLogEvent): void {
    const line: OrderLogLine = {
      at_ms: performance.timeOrigin + performance.now(),
      pid: process.pid,
      run_id: this.#runId,
      event,
    };
    appendFileSync(this.#path, `${JSON.stringify(line)}\n`);
  }
}

/** Every line of an order log, parsed; a missing file is an empty log. */
export const readOrderLog = (path: string): OrderLogLine[] =>
  existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => OrderLogLineSchema.parse(JSON.parse(line)))
    : [];
