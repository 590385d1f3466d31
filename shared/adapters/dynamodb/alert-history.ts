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
import { type LatestAlert, LatestAlertSchema, type LatestAlerts } from '../../domain/fleet';
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
/** The feed index partition of each strategy's newest alert, and that item's partition key prefix. */
const LATEST_FEED = 'latest';
const LATEST_PREFIX = 'latest#';
/** 1 MB pages of ~250-byte items: one page holds some 4,000 strategies. */
const MAX_LATEST_PAGES = 10;

export class DynamoAlertHistory implements AlertHistory, LatestAlerts {
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
    await this.#recordLatest(item);
  }

  /**
   * The strategy's newest alert, one small item per strategy in the feed index's `latest` partition, so
   * GET /fleet reads every strategy's last alert in one Query. Its key is outside every strategy's own
   * partition (`latest#<id>`) and outside the `alert` feed, so neither listing sees it. Only a newer alert
   * replaces it: a publish retried late does not hide the alert after it.
   */
  async #recordLatest(item: AlertRecord): Promise<void> {
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            strategy_id: `${LATEST_PREFIX}${item.strategy_id}`,
            at_key: item.strategy_id,
            feed: LATEST_FEED,
            latest_of: item.strategy_id,
            at: item.at,
            severity: item.severity,
            kind: item.kind,
            run_id: item.run_id,
            subject: item.subject,
            ttl: item.ttl,
          },
          ConditionExpression: 'attribute_not_exists(#at) OR #at <= :at',
          ExpressionAttributeNames: { '#at': 'at' },
          ExpressionAttributeValues: { ':at': item.at },
        }),
      );
    } catch (error) {
      if (!(error instanceof Error && error.name === 'ConditionalCheckFailedException')) throw error;
    }
  }

  /** Every strategy's newest alert (kept 90 days, as the history): one Query of the `latest` partition. */
  async latestAlerts(): Promise<LatestAlert[]> {
    const found: LatestAlert[] = [];
    let start: Record<string, unknown> | undefined;
    let pages = 0;
    do {
      const page = await this.#doc.send(
        new QueryCommand({
          TableName: this.#table,
          IndexName: ALERT_FEED_INDEX,
          KeyConditionExpression: 'feed = :feed',
          ExpressionAttributeValues: { ':feed': LATEST_FEED },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? [])
        found.push(parseStored(LatestAlertSchema, { ...item, strategy_id: item.latest_of }, 'latest alert'));
      start = page.LastEvaluatedKey;
      pages += 1;
    } while (start !== undefined && pages < MAX_LATEST_PAGES);
    return found;
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
