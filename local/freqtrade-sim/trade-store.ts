/**
 * The simulator's trade database at `db_url`, so a restarted simulator sees what a restarted Freqtrade
 * sees in its sqlite database: the same open and closed trades with the same ids, the same wallet
 * (starting capital plus closed profit) and the next id after the highest one.
 *
 * Node 20 has no `node:sqlite`, so the file at the sqlite path holds JSON (format
 * `freqtrade-sim-trades`), replaced atomically (write a temporary file, fsync, rename) after every
 * change: a simulator killed with SIGKILL loses nothing it had answered. The paper market's last prices
 * are kept too, standing in for an exchange whose prices went on while the bot was down.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import * as z from 'zod';
import { ConfigError } from './errors';
import { OrderTypeValueSchema, TradingModeSchema } from './schemas';

export const STORE_FORMAT = 'freqtrade-sim-trades';

const OrderRecordSchema = z.strictObject({
  orderId: z.string().min(1),
  side: z.enum(['buy', 'sell']),
  orderType: OrderTypeValueSchema,
  amount: z.number().nonnegative(),
  price: z.number().positive(),
  placedAt: z.number(),
  filledAt: z.number().nullable(),
  tag: z.string().nullable(),
});

export const TradeRecordSchema = z.strictObject({
  id: z.number().int().positive(),
  pair: z.string().min(1),
  isShort: z.boolean(),
  leverage: z.number().min(1),
  amount: z.number().nonnegative(),
  stakeAmount: z.number().nonnegative(),
  openRate: z.number().positive(),
  openedAt: z.number(),
  fee: z.number().min(0),
  stoploss: z.number(),
  stopLossRate: z.number(),
  liquidationRate: z.number().nullable(),
  tradingMode: TradingModeSchema,
  exchange: z.string(),
  strategy: z.string(),
  timeframeMinutes: z.number(),
  enterTag: z.string().nullable(),
  orders: z.array(OrderRecordSchema).min(1),
  minRate: z.number(),
  maxRate: z.number(),
  closeRate: z.number().nullable(),
  closedAt: z.number().nullable(),
  exitReason: z.enum(['roi', 'stop_loss', 'liquidation', 'force_exit']).nullable(),
  closeProfit: z.number().nullable(),
  closeProfitAbs: z.number().nullable(),
  /** Index in `orders` of an exit order placed and not yet filled (it stays one object with it). */
  pendingExitIndex: z.number().int().min(0).nullable(),
});
export type TradeRecord = z.infer<typeof TradeRecordSchema>;

const StoreFileSchema = z.strictObject({
  format: z.literal(STORE_FORMAT),
  version: z.literal(1),
  saved_at: z.number(),
  trades: z.array(TradeRecordSchema),
  prices: z.record(z.string(), z.number().positive()),
});
export type StoredTrades = Pick<z.infer<typeof StoreFileSchema>, 'trades' | 'prices'>;

/** Where trades live: in memory (`sqlite://`, or no db_url in-process) or in a file. */
export type DbLocation = { kind: 'memory' } | { kind: 'file'; path: string };

const SQLITE_FILE = /^sqlite:\/\/\/(.+)$/;
const IN_MEMORY = new Set(['sqlite://', 'sqlite:///:memory:']);

/**
 * SQLAlchemy's sqlite URLs, as Freqtrade reads `db_url`: `sqlite:////abs/path` (four slashes) is an
 * absolute path, `sqlite:///rel/path` is relative to the working directory, `sqlite://` is in memory.
 */
export const dbLocationOf = (dbUrl: string | undefined, source = 'config'): DbLocation => {
  if (dbUrl === undefined || IN_MEMORY.has(dbUrl)) return { kind: 'memory' };
  const path = SQLITE_FILE.exec(dbUrl)?.[1];
  if (path === undefined) {
    throw new ConfigError(source, [
      {
        field: 'db_url',
        message: 'the simulator keeps trades in a sqlite file (sqlite:///path) or in memory (sqlite://) only',
      },
    ]);
  }
  return { kind: 'file', path: resolve(path) };
};

/** One file of trades; `load` and `save` are synchronous so no answer goes out before its trades are stored. */
export class TradeStoreFile {
  readonly path: string;
  readonly #source: string;

  constructor(path: string, source = 'config') {
    this.path = path;
    this.#source = source;
  }

  #refuse(message: string, cause?: unknown): never {
    throw new ConfigError(this.#source, [{ field: 'db_url', message }], { cause });
  }

  /** null when the file does not exist yet (a new, or lost, trade store); refuses a folder that is missing. */
  load(): StoredTrades | null {
    if (!existsSync(dirname(this.path))) {
      this.#refuse(`unable to open database file: the folder ${dirname(this.path)} does not exist`);
    }
    if (!existsSync(this.path)) return null;
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(this.path, 'utf8'));
    } catch (cause) {
      this.#refuse(`${this.path} is not a trade store the simulator wrote (not JSON)`, cause);
    }
    const parsed = StoreFileSchema.safeParse(json);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      this.#refuse(
        `${this.path} is not a trade store the simulator can read (${first?.path.join('.') || '(root)'}: ${first?.message})`,
      );
    }
    return { trades: parsed.data.trades, prices: parsed.data.prices };
  }

  /** Replaces the file atomically: readers and a restart see the old content or the new, never half. */
  save(stored: StoredTrades, now: number): void {
    const content = JSON.stringify({ format: STORE_FORMAT, version: 1, saved_at: now, ...stored });
    const temporary = `${this.path}.${process.pid}.tmp`;
    const fd = openSync(temporary, 'w', 0o600);
    try {
      writeSync(fd, content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, this.path);
  }
}
