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
import { startTestDynamo, type TestDynamo } from '../support/dynamo';

/** Anything an event source could hand over, from garbage to almost-right AWS shapes. */
const attributeValue = fc.oneof(
  fc.record({ S: fc.string() }),
  fc.record({ N: fc.oneof(fc.integer().map(String), fc.string()) }),
  fc.record({ BOOL: fc.boolean() }),
  fc.record({ NULL: fc.constant(true) }),
  fc.anything(),
);
const image = fc.dictionary(
  fc.constantFrom('item_type', 'run_id', 'status', 'heartbeat_seq', 'risk', 'x'),
  attributeValue,
);
const streamRecord = fc.oneof(
  fc.anything(),
  fc.record(
    {
      eventName: fc.oneof(fc.constantFrom('INSERT', 'MODIFY', 'REMOVE'), fc.string()),
      dynamodb: fc.record(
        {
          Keys: image,
          NewImage: image,
          OldImage: image,
          SequenceNumber: fc.oneof(fc.nat().map(String), fc.string()),
        },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: [] },
  ),
);
const ecsEvent = fc.oneof(
  fc.anything(),
  fc.record(
    {
      version: fc.constant('0'),
      id: fc.uuid(),
      source: fc.oneof(fc.constant('aws.ecs'), fc.string()),
      'detail-type': fc.oneof(fc.constant('ECS Task State Change'), fc.string()),
      account: fc.constant('123456789012'),
      time: fc.oneof(fc.constant('2026-03-02T10:05:00Z'), fc.string()),
      region: fc.constant('us-east-1'),
      resources: fc.array(fc.string()),
      detail: fc.record(
        {
          clusterArn: fc.string(),
          taskArn: fc.string(),
          lastStatus: fc.oneof(fc.constant('STOPPED'), fc.string()),
          group: fc.oneof(fc.constant('service:tradai-live-fuzz-000001'), fc.string()),
          startedBy: fc.string(),
          containers: fc.anything(),
        },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: [] },
  ),
);

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
