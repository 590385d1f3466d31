import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SnsAlertPublisher } from '../../shared/adapters/sns/sns-alert-publisher';
import { InvalidInputError } from '../../shared/domain/errors';
import type { Alert } from '../../shared/domain/ports';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:tradai-alerts-test';

const alert: Alert = {
  severity: 'CRITICAL',
  subject: '[CRITICAL] pascal live: HEARTBEAT LOST (running -> stale)',
  message: 'Strategy:   pascal\nRun:        live-pascal-1',
  strategy_id: 'pascal',
  run_id: 'live-pascal-1',
  kind: 'status.stale',
  dedup_id: 'live-pascal-1:v7:status.stale',
};

describe('Adapter: SnsAlertPublisher', () => {
  const client = new SNSClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  const sns = mockClient(client);
  const publisher = new SnsAlertPublisher(client, TOPIC);

  beforeEach(() => {
    sns.reset();
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
  });

  it('publishes subject and body with severity, strategy, run and kind as message attributes', async () => {
    // act
    await publisher.publish(alert);

    // assess
    expect(sns.commandCalls(PublishCommand)[0]?.args[0].input).toEqual({
      TopicArn: TOPIC,
      Subject: alert.subject,
      Message: alert.message,
      MessageAttributes: {
        severity: { DataType: 'String', StringValue: 'CRITICAL' },
        strategy_id: { DataType: 'String', StringValue: 'pascal' },
        run_id: { DataType: 'String', StringValue: 'live-pascal-1' },
        kind: { DataType: 'String', StringValue: 'status.stale' },
        dedup_id: { DataType: 'String', StringValue: 'live-pascal-1:v7:status.stale' },
      },
    });
  });

  it('refuses a subject SNS would reject, without calling SNS', async () => {
    // act + assess
    await expect(publisher.publish({ ...alert, subject: 'x'.repeat(101) })).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
  });

  it('lets an SNS failure through so the event is retried', async () => {
    // prepare
    sns.on(PublishCommand).rejects(Object.assign(new Error('throttled'), { name: 'ThrottledException' }));

    // act + assess
    await expect(publisher.publish(alert)).rejects.toMatchObject({ name: 'ThrottledException' });
  });
});
