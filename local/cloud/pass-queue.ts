import { createHash, randomUUID } from 'node:crypto';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { type Clock, systemClock } from '../../shared/domain/clock';
import { type ChainLink, ChainLinkSchema, type PassScheduler } from '../../shared/domain/sweep-chain';

export interface LocalPassQueueOptions {
  /** The queue's ARN in the events it delivers (the function reads nothing from it). */
  arn?: string;
  region?: string;
  /** Real milliseconds per second of delay or visibility timeout (tests scale the chain down). */
  msPerSecond?: number;
  /** A consumer that failed sees the message again after this (SQS's visibility timeout). */
  visibilityTimeoutS?: number;
  /** Deliveries of one message at most (its retention, as SQS forgets a message after its retention period). */
  maxReceives?: number;
  /** At least once, as SQS: the link is delivered twice when this says so. */
  duplicate?: (link: ChainLink) => boolean;
  /** The link is lost (a send that vanished, a delivery that never came): the chain dies there. */
  drop?: (link: ChainLink) => boolean;
  /**
   * Without timers nothing is delivered until deliverDue(): messages fall due by `clock` (a manual clock in
   * tests), so a test steps the chain through simulated time. With timers (default) they fall due in real time.
   */
  timers?: boolean;
  clock?: Clock;
}

interface Pending {
  link: ChainLink;
  body: string;
  dueAtMs: number;
  receiveCount: number;
}

/**
 * The sweep's pass queue on this machine: a delayed queue with SQS's contract (at least once, a message
 * whose consumer fails comes back after the visibility timeout), delivering to the consumer one message per
 * event (batch size 1). It can be told to duplicate and to drop, so tests show the chain never forks on a
 * duplicate and survives a drop through the schedule's re-seed.
 */
export class LocalPassQueue implements PassScheduler {
  readonly #options: LocalPassQueueOptions;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #pending: Pending[] = [];
  #consumer: ((event: SQSEvent) => Promise<unknown>) | undefined;
  #closed = false;
  /** Links accepted by schedule(), in order (dropped and duplicated ones too). */
  readonly sent: ChainLink[] = [];
  /** Links handed to the consumer, in order (a duplicate twice). */
  readonly delivered: ChainLink[] = [];

  constructor(options: LocalPassQueueOptions = {}) {
    this.#options = options;
  }

  /** The event source mapping: one consumer, as the sweep is the queue's only one. */
  consume(consumer: (event: SQSEvent) => Promise<unknown>): void {
    this.#consumer = consumer;
  }

  async schedule(link: ChainLink, delayS: number): Promise<void> {
    const parsed = ChainLinkSchema.parse(link);
    if (this.#closed) throw new Error('the pass queue is closed');
    this.sent.push(parsed);
    if (this.#options.drop?.(parsed) === true) return;
    const body = JSON.stringify(parsed);
    const copies = this.#options.duplicate?.(parsed) === true ? 2 : 1;
    for (let copy = 0; copy < copies; copy += 1) this.#later({ link: parsed, body, receiveCount: 1 }, delayS);
  }

  /** Links of the messages not yet delivered (delayed or waiting out a visibility timeout), copies too. */
  get pending(): ChainLink[] {
    return this.#pending.map((message) => message.link);
  }

  /** Without timers: delivers every message due by the clock, earliest first, one event each. */
  async deliverDue(): Promise<number> {
    let delivered = 0;
    for (;;) {
      const nowMs = this.#clock.now();
      const due = this.#pending
        .filter((message) => message.dueAtMs <= nowMs)
        .sort((a, b) => a.dueAtMs - b.dueAtMs)[0];
      if (due === undefined || this.#closed) return delivered;
      this.#pending.splice(this.#pending.indexOf(due), 1);
      await this.#deliver(due);
      delivered += 1;
    }
  }

  close(): void {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#pending.length = 0;
  }

  get #clock(): Clock {
    return this.#options.clock ?? systemClock;
  }

  #later(message: Omit<Pending, 'dueAtMs'>, seconds: number) {
    // No retry once closed (the cloud shut down under a consumer): no timer may hold the process.
    if (this.#closed) return;
    const pending = { ...message, dueAtMs: this.#clock.now() + Math.max(0, seconds) * 1000 };
    this.#pending.push(pending);
    if (this.#options.timers === false) return;
    const timer = setTimeout(
      () => {
        this.#timers.delete(timer);
        const index = this.#pending.indexOf(pending);
        if (this.#closed || index < 0) return;
        this.#pending.splice(index, 1);
        void this.#deliver(pending);
      },
      Math.max(0, seconds) * (this.#options.msPerSecond ?? 1000),
    );
    this.#timers.add(timer);
  }

  async #deliver(message: Pending): Promise<void> {
    const consumer = this.#consumer;
    if (consumer === undefined) return;
    this.delivered.push(message.link);
    try {
      await consumer({ Records: [this.#recordOf(message.body, message.receiveCount)] });
    } catch {
      if (message.receiveCount >= (this.#options.maxReceives ?? 5)) return;
      this.#later(
        { ...message, receiveCount: message.receiveCount + 1 },
        this.#options.visibilityTimeoutS ?? 60,
      );
    }
  }

  #recordOf(body: string, receiveCount: number): SQSRecord {
    const nowMs = String(Date.now());
    return {
      messageId: randomUUID(),
      receiptHandle: randomUUID(),
      body,
      attributes: {
        ApproximateReceiveCount: String(receiveCount),
        SentTimestamp: nowMs,
        SenderId: 'local',
        ApproximateFirstReceiveTimestamp: nowMs,
      },
      messageAttributes: {},
      md5OfBody: createHash('md5').update(body).digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: this.#options.arn ?? 'arn:aws:sqs:us-east-1:000000000000:tradai-sweep-passes-local',
      awsRegion: this.#options.region ?? 'us-east-1',
    };
  }
}
