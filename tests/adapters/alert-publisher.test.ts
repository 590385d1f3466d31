import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import * as z from 'zod';
import { LocalAlertPublisher } from '../../local/cloud/alerts';
import { SnsAlertPublisher } from '../../shared/adapters/sns/sns-alert-publisher';
import { startMotoServer } from '../support/moto-server';
import { alertPublisherContract, type DeliveredAlert } from './alert-publisher.contract';
import { MotoQueue } from './support/moto-sqs';

const bodyOf = async (request: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

const WebhookAlertSchema = z.object({
  subject: z.string(),
  message: z.string(),
  severity: z.string(),
  strategy_id: z.string(),
  run_id: z.string(),
  kind: z.string(),
  dedup_id: z.string(),
});

alertPublisherContract('local (console, file, webhook on 127.0.0.1)', async () => {
  const received: DeliveredAlert[] = [];
  const server = createServer(async (request, response) => {
    const { subject, message, ...attributes } = WebhookAlertSchema.parse(JSON.parse(await bodyOf(request)));
    received.push({ subject, message, attributes });
    response.writeHead(204).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const publisher = new LocalAlertPublisher({ webhookUrl: `http://127.0.0.1:${port}/`, print: () => {} });
  return {
    publisher,
    // The webhook is awaited inside publish(), so what was published is already here.
    delivered: async () => [...received],
    clear: async () => {
      received.length = 0;
    },
    close: async () => {
      server.close();
      await once(server, 'close');
    },
  };
});

const SnsEnvelopeSchema = z.object({
  Type: z.literal('Notification'),
  Subject: z.string(),
  Message: z.string(),
  MessageAttributes: z.record(z.string(), z.object({ Type: z.literal('String'), Value: z.string() })),
});

alertPublisherContract('SNS (moto over HTTP, read through an SQS subscription)', async () => {
  const moto = await startMotoServer();
  const client = new SNSClient(moto.clientConfig);
  const { TopicArn } = await client.send(new CreateTopicCommand({ Name: 'tradai-alerts-test' }));
  if (TopicArn === undefined) throw new Error('moto created no topic');
  const queue = await MotoQueue.create(moto.endpoint, 'on-call');
  await client.send(new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: queue.arn }));
  return {
    publisher: new SnsAlertPublisher(client, TopicArn),
    delivered: async () =>
      (await queue.drain()).map((body) => {
        const envelope = SnsEnvelopeSchema.parse(JSON.parse(body));
        return {
          subject: envelope.Subject,
          message: envelope.Message,
          attributes: Object.fromEntries(
            Object.entries(envelope.MessageAttributes).map(([name, value]) => [name, value.Value]),
          ),
        };
      }),
    clear: async () => {
      await queue.drain();
    },
    close: async () => {
      client.destroy();
      await moto.close();
    },
  };
});
