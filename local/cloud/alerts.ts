import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseInput } from '../../shared/domain/errors';
import { type Alert, type AlertPublisher, AlertSchema } from '../../shared/domain/ports';

const COLOURS = { INFO: '\x1b[36m', WARNING: '\x1b[33m', CRITICAL: '\x1b[41m\x1b[97m' } as const;
const RESET = '\x1b[0m';

export interface LocalAlertOptions {
  /** JSON lines, one alert each (`.tradai/alerts.jsonl` under `npm start`). */
  file?: string;
  /** POSTed as JSON, as an SNS HTTPS subscription would receive the message. */
  webhookUrl?: string;
  print?: (line: string) => void;
  colour?: boolean;
}

/** SNS stands in as the console, a JSONL file and an optional webhook: the same Alert the SNS adapter sends. */
export class LocalAlertPublisher implements AlertPublisher {
  readonly #options: LocalAlertOptions;
  readonly published: Alert[] = [];

  constructor(options: LocalAlertOptions = {}) {
    this.#options = options;
  }

  async publish(raw: Alert): Promise<void> {
    // The same typed refusal as the SNS adapter, not a bare ZodError.
    const alert = parseInput(AlertSchema, raw, 'alert');
    this.published.push(alert);
    const at = new Date().toISOString();
    const print = this.#options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
    const tag = this.#options.colour
      ? `${COLOURS[alert.severity]} ${alert.severity} ${RESET}`
      : `[${alert.severity}]`;
    print(`${tag} ${alert.subject}\n${alert.message.replace(/^/gm, '    ')}`);
    if (this.#options.file !== undefined) {
      await mkdir(dirname(this.#options.file), { recursive: true });
      await appendFile(this.#options.file, `${JSON.stringify({ at, ...alert })}\n`);
    }
    if (this.#options.webhookUrl !== undefined) {
      try {
        await fetch(this.#options.webhookUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ at, ...alert }),
          signal: AbortSignal.timeout(5_000),
        });
      } catch (error) {
        // A dead webhook must not stop the console and file from paging.
        print(`[alerts] webhook ${this.#options.webhookUrl} failed: ${String(error)}`);
      }
    }
  }
}
