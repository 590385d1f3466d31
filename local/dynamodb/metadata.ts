import { join } from 'node:path';
import * as z from 'zod';
import { DataDirLayout } from './constants';
import { LocalDynamoError } from './errors';
import { readFileIfPresent, writeFileAtomically } from './persistence';
import { StreamViewTypeSchema } from './schemas';

/*
 * What the gateway knows about a table that dynalite does not keep: its stream and its TTL setting.
 */

const StreamStateSchema = z.object({
  enabled: z.boolean(),
  viewType: StreamViewTypeSchema,
  /** Like AWS's LatestStreamLabel: the ISO time the stream was enabled. Part of the stream ARN. */
  label: z.string(),
});
export type StreamState = z.infer<typeof StreamStateSchema>;

const TimeToLiveStateSchema = z.object({ enabled: z.boolean(), attributeName: z.string() });
export type TimeToLiveState = z.infer<typeof TimeToLiveStateSchema>;

const TableMetadataSchema = z.object({
  stream: StreamStateSchema.optional(),
  timeToLive: TimeToLiveStateSchema.optional(),
});
export type TableMetadata = z.infer<typeof TableMetadataSchema>;

const MetadataFileSchema = z.object({
  version: z.literal(1),
  tables: z.record(z.string(), TableMetadataSchema),
});

export class TableMetadataStore {
  private readonly tables = new Map<string, TableMetadata>();
  private readonly file: string | undefined;

  /** Loads the metadata kept in dataDir, if any; without dataDir it lives in memory only. */
  constructor(dataDir: string | undefined) {
    this.file = dataDir === undefined ? undefined : join(dataDir, DataDirLayout.metadata);
    const text = this.file === undefined ? undefined : readFileIfPresent(this.file);
    if (text === undefined) return;
    const parsed = MetadataFileSchema.safeParse(JSON.parse(text));
    if (!parsed.success) {
      throw new LocalDynamoError(`Unreadable table metadata in ${this.file}`, { cause: parsed.error });
    }
    for (const [tableName, metadata] of Object.entries(parsed.data.tables)) {
      this.tables.set(tableName, metadata);
    }
  }

  get(tableName: string): TableMetadata {
    return this.tables.get(tableName) ?? {};
  }

  /** Tables whose TTL is enabled, with their TTL attribute. */
  tablesWithTimeToLive(): Array<{ tableName: string; attributeName: string }> {
    const found: Array<{ tableName: string; attributeName: string }> = [];
    for (const [tableName, { timeToLive }] of this.tables) {
      if (timeToLive?.enabled) found.push({ tableName, attributeName: timeToLive.attributeName });
    }
    return found;
  }

  /** Tables that have (or had, until disabled) a stream. */
  tablesWithStreams(): Array<{ tableName: string; stream: StreamState }> {
    const found: Array<{ tableName: string; stream: StreamState }> = [];
    for (const [tableName, { stream }] of this.tables) {
      if (stream !== undefined) found.push({ tableName, stream });
    }
    return found;
  }

  update(tableName: string, change: Partial<TableMetadata>): void {
    this.tables.set(tableName, { ...this.get(tableName), ...change });
    this.save();
  }

  /** A new table of that name starts with nothing of the old one's settings. */
  replace(tableName: string, metadata: TableMetadata): void {
    this.tables.set(tableName, metadata);
    this.save();
  }

  forget(tableName: string): void {
    if (this.tables.delete(tableName)) this.save();
  }

  private save(): void {
    if (this.file === undefined) return;
    const content = { version: 1, tables: Object.fromEntries(this.tables) };
    writeFileAtomically(this.file, `${JSON.stringify(content, null, 2)}\n`);
  }
}
