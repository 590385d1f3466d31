import { type DynamoDBDocumentClient, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import {
  ALERT_FEED,
  type AlertHistory,
  type AlertQuery,
  type AlertRecord,
  AlertRecordSchema,
} from '../../domain/alert-history';
import { parseInput, parseStored } from '../../domain/errors';
import type { LockAlertSchema } from '../../domain/fleet';
import { AlertSeveritySchema } from '../../domain/ports';
import { IsoTimestampSchema, StrategyIdSchema } from '../../domain/session';
import { lockKeyOf, type Page, type PageRequest } from '../../domain/session-store';
import { decodeCursor, encodeCursor } from './cursor';

/** The GSI over every alert by time (PK feed, SK at_key). */
export const ALERT_FEED_INDEX = 'feed-at_key-index';

const PageRequestSchema = z.strictObject({
  limit: z.number().int().min(1).max(1000).optional(),
  cursor: z.string().max(4096).optional(),
});
const AlertQuerySchema = z.strictObject({
  since: IsoTimestampSchema.optional(),
  severity: AlertSeveritySchema.optional(),
  strategy_id: StrategyIdSchema.optional(),
});

/**
 * Table `tradai-alerts-{stage}`: PK strategy_id, SK at_key (`<at>#<dedup_id>`), GSI feed-at_key-index. Both
 * reads are one Query, newest first: a strategy's alerts on the table, the fleet's on the index.
 */
export class DynamoAlertHistory implements AlertHistory {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #sessionsTable: string;

  constructor(doc: DynamoDBDocumentClient, options: { alertsTable: string; sessionsTable: string }) {
    this.#doc = doc;
    this.#table = options.alertsTable;
    this.#sessionsTable = options.sessionsTable;
  }

  async record(raw: AlertRecord): Promise<void> {
    const item = parseInput(AlertRecordSchema, raw, 'alert record');
    // Keyed by time and dedup id: the same alert recorded twice (a retried publish) is one item.
    await this.#doc.send(new PutCommand({ TableName: this.#table, Item: item }));
    await this.#recordOnLock(item);
  }

  /**
   * The strategy's newest alert on its lock item, which the fleet read's lock index Query returns anyway:
   * GET /fleet needs no read of this table. Only a newer alert replaces it, so a publish retried late does
   * not hide the alert after it. A strategy with no lock (an alert naming no strategy that ever started)
   * gets no lock item: locks are made only by a start. Lock items are no sessions, so the stream filter
   * (item_type = session) keeps this write from the stream processor.
   */
  async #recordOnLock(item: AlertRecord): Promise<void> {
    const lastAlert: z.infer<typeof LockAlertSchema> = {
      at: item.at,
      severity: item.severity,
      kind: item.kind,
      run_id: item.run_id,
      subject: item.subject,
    };
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#sessionsTable,
          Key: { run_id: lockKeyOf(item.strategy_id) },
          UpdateExpression: 'SET last_alert = :alert',
          ConditionExpression:
            'attribute_exists(run_id) AND (attribute_not_exists(last_alert) OR last_alert.#at <= :at)',
          ExpressionAttributeNames: { '#at': 'at' },
          ExpressionAttributeValues: { ':alert': lastAlert, ':at': item.at },
        }),
      );
    } catch (error) {
      if (!(error instanceof Error && error.name === 'ConditionalCheckFailedException')) throw error;
    }
  }

  async list(rawQuery: AlertQuery, page: PageRequest = {}): Promise<Page<AlertRecord>> {
    const query = parseInput(AlertQuerySchema, rawQuery, 'alert query');
    const request = parseInput(PageRequestSchema, page, 'page');
    const byStrategy = query.strategy_id !== undefined;
    const names: Record<string, string> = {};
    const values: Record<string, string> = byStrategy
      ? { ':pk': query.strategy_id as string }
      : { ':pk': ALERT_FEED };
    let condition = `#pk = :pk`;
    names['#pk'] = byStrategy ? 'strategy_id' : 'feed';
    if (query.since !== undefined) {
      condition += ' AND #sk >= :since';
      names['#sk'] = 'at_key';
      values[':since'] = query.since;
    }
    if (query.severity !== undefined) {
      names['#severity'] = 'severity';
      values[':severity'] = query.severity;
    }
    const result = await this.#doc.send(
      new QueryCommand({
        TableName: this.#table,
        ...(byStrategy ? {} : { IndexName: ALERT_FEED_INDEX }),
        KeyConditionExpression: condition,
        ...(query.severity === undefined ? {} : { FilterExpression: '#severity = :severity' }),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ScanIndexForward: false,
        Limit: request.limit ?? 100,
        ExclusiveStartKey: decodeCursor(request.cursor),
      }),
    );
    const cursor = encodeCursor(result.LastEvaluatedKey);
    const items = (result.Items ?? []).map((item) => parseStored(AlertRecordSchema, item, 'alert record'));
    return cursor === undefined ? { items } : { items, cursor };
  }
}
