import {
  CreateQueueCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { LocalPassQueue } from '../../local/cloud/pass-queue';
import { SqsPassScheduler } from '../../shared/adapters/sqs/pass-scheduler';
import { type ChainLink, ChainLinkSchema } from '../../shared/domain/sweep-chain';
import { startMotoServer } from '../support/moto-server';
import { passSchedulerContract } from './pass-scheduler.contract';

passSchedulerContract('local delayed queue (timers, delays scaled to 100 ms a second)', async () => {
  const queue = new LocalPassQueue({ msPerSecond: 100 });
  const received: ChainLink[] = [];
  queue.consume(async (event) => {
    for (const record of event.Records) received.push(ChainLinkSchema.parse(JSON.parse(record.body)));
  });
  return {
    scheduler: queue,
    delivered: async () => received.splice(0),
    close: async () => queue.close(),
  };
});

passSchedulerContract('SQS (moto over HTTP, received as the event source mapping would)', async () => {
  const moto = await startMotoServer();
  const client = new SQSClient(moto.clientConfig);
  const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: 'tradai-test-sweep-passes' }));
  if (QueueUrl === undefined) throw new Error('moto created no queue');
  return {
    scheduler: new SqsPassScheduler(client, QueueUrl),
    delivered: async () => {
      const { Messages = [] } = await client.send(
        new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
      );
      for (const message of Messages)
        await client.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: message.ReceiptHandle }));
      return Messages.map((message) => ChainLinkSchema.parse(JSON.parse(message.Body ?? '')));
    },
    close: async () => {
      client.destroy();
      await moto.close();
    },
  };
});

describe('SqsPassScheduler at the SDK boundary', () => {
  it('sends the link as the body with the delay in whole seconds, capped at SQS maximum of 900', async () => {
    const client = new SQSClient({
      region: 'eu-central-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    const sqs = mockClient(client);
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm' });
    const scheduler = new SqsPassScheduler(client, 'https://sqs.eu-central-1.amazonaws.com/1/q');

    await scheduler.schedule({ generation: 1, seq: 2 }, 4.6);
    await scheduler.schedule({ generation: 1, seq: 3 }, 5_000);

    const sent = sqs.commandCalls(SendMessageCommand).map((call) => call.args[0].input);
    expect(sent).toEqual([
      {
        QueueUrl: 'https://sqs.eu-central-1.amazonaws.com/1/q',
        MessageBody: '{"generation":1,"seq":2}',
        DelaySeconds: 5,
      },
      {
        QueueUrl: 'https://sqs.eu-central-1.amazonaws.com/1/q',
        MessageBody: '{"generation":1,"seq":3}',
        DelaySeconds: 900,
      },
    ]);
  });
});
