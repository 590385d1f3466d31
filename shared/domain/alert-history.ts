import * as z from 'zod';
import type { Clock } from './clock';
import { type Alert, type AlertPublisher, AlertSeveritySchema } from './ports';
import { IsoTimestampSchema, StrategyIdSchema } from './session';
import type { Page, PageRequest } from './session-store';

/** Alerts are kept for a quarter: long enough for a post-mortem, short enough that the table stays small. */
export const ALERT_RETENTION_DAYS = 90;

/** The fleet-wide index's one partition: every alert carries it, so "all alerts since" is one Query. */
export const ALERT_FEED = 'alert';

/** One published alert as stored (table `tradai-alerts-{stage}`: PK strategy_id, SK at_key). */
export const AlertRecordSchema = z.object({
  strategy_id: StrategyIdSchema,
  /** `<at>#<dedup_id>`: time-ordered, and unique per alert so a redelivery overwrites rather than doubles. */
  at_key: z.string().min(1).max(320),
  feed: z.literal(ALERT_FEED),
  at: IsoTimestampSchema,
  severity: AlertSeveritySchema,
  kind: z.string().min(1).max(64),
  run_id: z.string().min(1),
  subject: z.string().min(1).max(100),
  body: z.string().min(1).max(16_384),
  dedup_id: z.string().min(1).max(256),
  /** Epoch seconds; DynamoDB's TTL deletes the item after it. */
  ttl: z.number().int().positive(),
});
export type AlertRecord = z.infer<typeof AlertRecordSchema>;

export const alertKeyOf = (at: string, dedupId: string): string => `${at}#${dedupId}`;

/** Pure: what is stored for an alert published at `atMs`. */
export const alertRecordOf = (alert: Alert, atMs: number): AlertRecord => {
  const at = new Date(atMs).toISOString();
  return {
    strategy_id: alert.strategy_id,
    at_key: alertKeyOf(at, alert.dedup_id),
    feed: ALERT_FEED,
    at,
    severity: alert.severity,
    kind: alert.kind,
    run_id: alert.run_id,
    subject: alert.subject,
    body: alert.message,
    dedup_id: alert.dedup_id,
    ttl: Math.floor(atMs / 1000) + ALERT_RETENTION_DAYS * 86_400,
  };
};

export interface AlertQuery {
  /** ISO timestamp: only alerts at or after it. */
  since?: string;
  severity?: z.infer<typeof AlertSeveritySchema>;
  strategy_id?: string;
}

/** The alert history (DynamoDB): newest first. */
export interface AlertHistory {
  record(record: AlertRecord): Promise<void>;
  list(query: AlertQuery, page?: PageRequest): Promise<Page<AlertRecord>>;
}

/**
 * Records every alert the inner publisher published, so the producers stay as they are. Recorded only after
 * a successful publish (the history says what paged, never what was meant to). A failed record does not fail
 * the publish: the producers retry a failed publish, and paging twice is worse than a gap in the history.
 */
export class RecordingAlertPublisher implements AlertPublisher {
  readonly #inner: AlertPublisher;
  readonly #history: AlertHistory;
  readonly #clock: Clock;
  readonly #onRecordFailed: (alert: Alert, error: unknown) => void;

  constructor(options: {
    inner: AlertPublisher;
    history: AlertHistory;
    clock: Clock;
    onRecordFailed: (alert: Alert, error: unknown) => void;
  }) {
    this.#inner = options.inner;
    this.#history = options.history;
    this.#clock = options.clock;
    this.#onRecordFailed = options.onRecordFailed;
  }

  async publish(alert: Alert): Promise<void> {
    await this.#inner.publish(alert);
    try {
      await this.#history.record(alertRecordOf(alert, this.#clock.now()));
    } catch (error) {
      this.#onRecordFailed(alert, error);
    }
  }
}

/** What leaves the API: allow-listed fields only, and no ARN (container, task, topic) inside the body either. */
export const AlertViewSchema = z.strictObject({
  at: IsoTimestampSchema,
  severity: AlertSeveritySchema,
  kind: z.string(),
  strategy_id: z.string(),
  run_id: z.string(),
  subject: z.string(),
  body: z.string(),
  dedup_id: z.string(),
});
export type AlertView = z.infer<typeof AlertViewSchema>;

const ARN = /\barn:aws[a-z-]*:[^\s,;)]+/g;

export const alertViewOf = (record: AlertRecord): AlertView => ({
  at: record.at,
  severity: record.severity,
  kind: record.kind,
  strategy_id: record.strategy_id,
  run_id: record.run_id,
  subject: record.subject.replace(ARN, '[arn]'),
  body: record.body.replace(ARN, '[arn]'),
  dedup_id: record.dedup_id,
});
