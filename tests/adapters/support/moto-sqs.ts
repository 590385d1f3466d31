import * as z from 'zod';
import { MOTO_ACCOUNT, MOTO_REGION } from '../../support/moto-server';

/**
 * A few SQS calls over SQS's JSON protocol, as a subscriber of an SNS topic on moto: the project has no
 * SQS SDK client, and an SNS-to-SQS subscription is how a test reads what a topic delivered (moto's
 * HTTP-subscription delivery leaves the message attributes out; AWS's does not).
 */
export class MotoQueue {
  readonly url: string;
  readonly arn: string;
  readonly #endpoint: string;

  private constructor(endpoint: string, url: string, name: string) {
    this.#endpoint = endpoint;
    this.url = url;
    this.arn = `arn:aws:sqs:${MOTO_REGION}:${MOTO_ACCOUNT}:${name}`;
  }

  static async create(endpoint: string, name: string): Promise<MotoQueue> {
    const { QueueUrl } = z
      .object({ QueueUrl: z.string() })
      .parse(await sqs(endpoint, 'CreateQueue', { QueueName: name }));
    return new MotoQueue(endpoint, QueueUrl, name);
  }

  /** Every message now in the queue, deleted as read, in the order they were sent. */
  async drain(): Promise<string[]> {
    const bodies: string[] = [];
    for (;;) {
      const page = z
        .object({
          Messages: z.array(z.object({ Body: z.string(), ReceiptHandle: z.string() })).optional(),
        })
        .parse(
          await sqs(this.#endpoint, 'ReceiveMessage', {
            QueueUrl: this.url,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 0,
          }),
        );
      const messages = page.Messages ?? [];
      if (messages.length === 0) return bodies;
      for (const message of messages) {
        bodies.push(message.Body);
        await sqs(this.#endpoint, 'DeleteMessage', {
          QueueUrl: this.url,
          ReceiptHandle: message.ReceiptHandle,
        });
      }
    }
  }
}

const sqs = async (endpoint: string, action: string, body: unknown): Promise<unknown> => {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': `AmazonSQS.${action}`,
      // moto picks the service from the credential scope of the Authorization header; it checks no signature.
      authorization: `AWS4-HMAC-SHA256 Credential=testing/20260101/${MOTO_REGION}/sqs/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`SQS ${action} answered ${response.status}: ${text}`);
  return text === '' ? {} : JSON.parse(text);
};
