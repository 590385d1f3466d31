/**
 * `tsx local/exchange/main.ts [--port 0] [--seed 7]`: the local exchange on its own, for running real
 * Freqtrade by hand. Prints one JSON line `{"url": ...}` once it listens, then the ccxt_config to use.
 */
import { parseArgs } from 'node:util';
import * as z from 'zod';
import { ccxtConfigFor, startLocalExchange } from './server';

const ArgsSchema = z.strictObject({
  port: z.coerce.number().int().min(0).max(65_535).default(0),
  seed: z.coerce.number().int().default(7),
  host: z.literal('127.0.0.1').default('127.0.0.1'),
});

const { values } = parseArgs({
  options: { port: { type: 'string' }, seed: { type: 'string' }, host: { type: 'string' } },
});
const parsed = ArgsSchema.safeParse(values);
if (!parsed.success) {
  const issue = parsed.error.issues[0];
  console.error(`local exchange: --${issue?.path.join('.')}: ${issue?.message}`);
  process.exit(2);
}
const exchange = await startLocalExchange(parsed.data);
console.log(JSON.stringify({ url: exchange.url, ccxt_config: ccxtConfigFor(exchange.url) }));
const stop = () => void exchange.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
