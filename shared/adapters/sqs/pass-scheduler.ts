import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type ChainLink, ChainLinkSchema, type PassScheduler } from '../../domain/sweep-chain';

/** SQS caps a message's delay at 15 minutes. */
export const MAX_DELAY_S = 900;

/**
 * The chain's next link as an SQS message delayed by the pass interval; the sweep's event source mapping
 * (batch size 1) delivers it. SQS delivers at least once: the lease, not the queue, makes a link run once.
 */
export class SqsPassScheduler implements PassScheduler {
  readonly #client: SQSClient;
  readonly #queueUrl: string;

  constructor(client: SQSClient, queueUrl: string) {
    this.#client = client;
    this.#queueUrl = queueUrl;
  }

  async schedule(link: ChainLink, delayS: number): Promise<void> {
    await this.#client.send(
      new SendMessageCommand({
        QueueUrl: this.#queueUrl,
        MessageBody: JSON.stringify(ChainLinkSchema.parse(link)),
        DelaySeconds: Math.min(MAX_DELAY_S, Math.max(0, Math.round(delayS))),
      }),
    );
  }
}
