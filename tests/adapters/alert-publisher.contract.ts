import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../shared/domain/errors';
import type { Alert, AlertPublisher } from '../../shared/domain/ports';

/** What a subscriber of the on-call channel got: the text, and the attributes it can filter on. */
export interface DeliveredAlert {
  subject: string;
  message: string;
  attributes: Record<string, string>;
}

export interface AlertHarness {
  publisher: AlertPublisher;
  /** Everything delivered to a subscriber since the last `clear()`, in publish order. */
  delivered(): Promise<DeliveredAlert[]>;
  clear(): Promise<void>;
  close(): Promise<void>;
}

export const criticalAlert: Alert = {
  severity: 'CRITICAL',
  subject: '[CRITICAL] pascal live: HEARTBEAT LOST (running -> stale)',
  message: 'Strategy:   pascal\nRun:        live-pascal-1\nTo do:      look at the container — ±2 % ✓',
  strategy_id: 'pascal',
  run_id: 'live-pascal-1',
  kind: 'status.stale',
  dedup_id: 'live-pascal-1:v7:status.stale',
};

const routingOf = (alert: Alert): Record<string, string> => ({
  severity: alert.severity,
  strategy_id: alert.strategy_id,
  run_id: alert.run_id,
  kind: alert.kind,
  dedup_id: alert.dedup_id,
});

/** The behaviour every AlertPublisher adapter must have (SNS in AWS; console, file and webhook locally). */
export const alertPublisherContract = (adapterName: string, start: () => Promise<AlertHarness>) => {
  describe(`AlertPublisher contract: ${adapterName}`, () => {
    let harness: AlertHarness;
    beforeAll(async () => {
      harness = await start();
    });
    afterAll(async () => {
      await harness?.close();
    });
    beforeEach(async () => {
      await harness.clear();
    });

    it('delivers subject and message unchanged, with severity, strategy, run, kind and dedup id to filter on', async () => {
      // act
      await harness.publisher.publish(criticalAlert);

      // assess
      expect(await harness.delivered()).toEqual([
        {
          subject: criticalAlert.subject,
          message: criticalAlert.message,
          attributes: routingOf(criticalAlert),
        },
      ]);
    });

    it('delivers each publish once, in order', async () => {
      // prepare
      const recovered: Alert = {
        ...criticalAlert,
        severity: 'INFO',
        subject: '[INFO] pascal live: recovered',
        kind: 'status.recovered',
        dedup_id: 'live-pascal-1:v8:status.recovered',
      };

      // act
      await harness.publisher.publish(criticalAlert);
      await harness.publisher.publish(recovered);

      // assess
      expect((await harness.delivered()).map((alert) => alert.attributes.kind)).toEqual([
        'status.stale',
        'status.recovered',
      ]);
    });

    it('refuses a subject longer than SNS accepts with InvalidInputError naming subject, delivering nothing', async () => {
      // act
      const refusal = await harness.publisher
        .publish({ ...criticalAlert, subject: 'x'.repeat(101) })
        .catch((error: unknown) => error);

      // assess
      expect(refusal).toBeInstanceOf(InvalidInputError);
      expect((refusal as InvalidInputError).issues.map((issue) => issue.field)).toEqual(['subject']);
      expect(await harness.delivered()).toEqual([]);
    });

    it.each(['strategy_id', 'run_id', 'kind', 'dedup_id'] as const)(
      'refuses an empty %s with InvalidInputError (SNS rejects an empty message attribute value)',
      async (field) => {
        // act
        const refusal = await harness.publisher
          .publish({ ...criticalAlert, [field]: '' })
          .catch((error: unknown) => error);

        // assess
        expect(refusal).toBeInstanceOf(InvalidInputError);
        expect((refusal as InvalidInputError).issues.map((issue) => issue.field)).toEqual([field]);
        expect(await harness.delivered()).toEqual([]);
      },
    );
  });
};
