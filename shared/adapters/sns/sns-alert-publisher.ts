import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { parseInput } from '../../domain/errors';
import { type Alert, type AlertPublisher, AlertSchema } from '../../domain/ports';

/**
 * Publishes alerts to the on-call topic. Message attributes carry severity, strategy_id, run_id and kind
 * so subscriptions filter without parsing the body (PagerDuty: severity CRITICAL or kind status.recovered;
 * Slack: everything). Deduplication of redelivered events happens before this (see events-dedup.ts): a
 * standard topic is what PagerDuty, email and HTTPS subscribers accept.
 */
export class SnsAlertPublisher implements AlertPublisher {
  readonly #client: SNSClient;
  readonly #topicArn: string;

  constructor(client: SNSClient, topicArn: string) {
    this.#client = client;
    this.#topicArn = topicArn;
  }

  async publish(raw: Alert): Promise<void> {
    const alert = parseInput(AlertSchema, raw, 'alert');
    const attribute = (value: string) => ({ DataType: 'String', StringValue: value });
    await this.#client.send(
      new PublishCommand({
        TopicArn: this.#topicArn,
        Subject: alert.subject,
        Message: alert.message,
        MessageAttributes: {
          severity: attribute(alert.severity),
          strategy_id: attribute(alert.strategy_id),
          run_id: attribute(alert.run_id),
          kind: attribute(alert.kind),
          dedup_id: attribute(alert.dedup_id),
        },
      }),
    );
  }
}
