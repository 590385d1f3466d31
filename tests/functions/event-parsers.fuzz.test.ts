import { PublishCommand } from '@aws-sdk/client-sns';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleTaskStateChange } from '../../functions/ecs-events/handler';
import { imagesOf } from '../../functions/stream/session-events/handler';
import { CorruptRecordError, InvalidInputError, ManualClock } from '../../shared/domain';
import { InMemoryDedupLedger } from '../../shared/runtime/events-dedup';
import { awsAdapters, silentLogger } from '../adapters/support/workflow-fixtures';
import { ecsEvent, streamRecord } from '../support/arbitraries';
import { startTestDynamo, type TestDynamo } from '../support/dynamo';

/** What a bad event may legitimately cause: a typed refusal that fails only its own record. */
const isTypedRefusal = (error: unknown) =>
  error instanceof InvalidInputError || error instanceof CorruptRecordError;

describe('Event parsers: fuzzed input', () => {
  let dynamo: TestDynamo;
  beforeAll(async () => {
    dynamo = await startTestDynamo();
  });
  afterAll(async () => {
    await dynamo.close();
  });

  it('reads any stream record as session images, nothing, or a typed refusal; never a crash', () => {
    fc.assert(
      fc.property(streamRecord, (record) => {
        try {
          imagesOf(record as never);
        } catch (error) {
          expect(isTypedRefusal(error), String(error)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('answers any ECS event with an outcome or a typed refusal, and writes nothing for what is not ours', async () => {
    const adapters = awsAdapters();
    const sns = mockClient(adapters.sns);
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
    const deps = {
      store: dynamo.newStore(new ManualClock('2026-03-02T10:05:00.000Z')),
      alerts: adapters.alerts,
      ledger: new InMemoryDedupLedger(),
      clock: new ManualClock('2026-03-02T10:05:00.000Z'),
      logger: silentLogger(),
      platform: { containerGone: async () => true },
    };
    const before = await dynamo.doc.send(new ScanCommand({ TableName: dynamo.tables.sessions }));

    await fc.assert(
      fc.asyncProperty(ecsEvent, async (event) => {
        try {
          const outcome = await handleTaskStateChange(deps, event);
          expect(outcome.outcome).toBe('ignored');
        } catch (error) {
          expect(isTypedRefusal(error), String(error)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );

    const after = await dynamo.doc.send(new ScanCommand({ TableName: dynamo.tables.sessions }));
    expect(after.Items).toEqual(before.Items);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
  });
});
