import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import {
  ALERT_FEED,
  type AlertHistory,
  type AlertQuery,
  type AlertRecord,
  AlertRecordSchema,
} from '../../domain/alert-history';
import { parseInput, parseStored } from '../../domain/errors';
import { AlertSeveritySchema } from '../../domain/ports';
import { IsoTimestampSchema, StrategyIdSchema } from '../../domain/session';
import type { Page, PageRequest } from '../../domain/session-store';
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

  constructor(doc: DynamoDBDocumentClient, options: { alertsTable: string }) {
    this.#doc = doc;
    this.#table = options.alertsTable;
  }

  async record(raw: AlertRecord): Promise<void> {
    const item = parseInput(AlertRecordSchema, raw, 'alert record');
    // Keyed by time and dedup id: the same alert recorded twice (a retried publish) is one item.
    await this.#doc.send(new PutCommand({ TableName: this.#table, Item: item }));
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
