import { SNSClient } from '@aws-sdk/client-sns';
import * as z from 'zod';
import { DynamoAlertHistory } from '../adapters/dynamodb/alert-history';
import { createDocumentClient } from '../adapters/dynamodb/client';
import { SnsAlertPublisher } from '../adapters/sns/sns-alert-publisher';
import { RecordingAlertPublisher } from '../domain/alert-history';
import { systemClock } from '../domain/clock';
import type { Alert, AlertPublisher } from '../domain/ports';
import { parseEnv } from './env';

export const AlertsEnvSchema = z.object({
  ALERTS_TOPIC_ARN: z.string().startsWith('arn:'),
  ALERTS_TABLE: z.string().min(3).max(255),
  /** Each strategy's last alert is also kept on its lock item, for GET /fleet. */
  SESSIONS_TABLE: z.string().min(3).max(255),
});

/** A history write that failed: the alert paged, so this is logged (CloudWatch), not retried or thrown. */
export const logUnrecordedAlert = (alert: Alert, error: unknown): void => {
  console.error(
    JSON.stringify({
      level: 'WARN',
      message: 'alert published but not recorded in the alert history',
      kind: alert.kind,
      strategy_id: alert.strategy_id,
      dedup_id: alert.dedup_id,
      error: error instanceof Error ? error.message : String(error),
    }),
  );
};

/** SNS, with every published alert also recorded in the alert history (GET /alerts). */
export const alertsFromEnv = (env: NodeJS.ProcessEnv = process.env): AlertPublisher => {
  const { ALERTS_TOPIC_ARN, ALERTS_TABLE, SESSIONS_TABLE } = parseEnv(AlertsEnvSchema, env);
  return new RecordingAlertPublisher({
    inner: new SnsAlertPublisher(new SNSClient({ maxAttempts: 5 }), ALERTS_TOPIC_ARN),
    history: new DynamoAlertHistory(createDocumentClient(), {
      alertsTable: ALERTS_TABLE,
      sessionsTable: SESSIONS_TABLE,
    }),
    clock: systemClock,
    onRecordFailed: logUnrecordedAlert,
  });
};
