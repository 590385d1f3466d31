import { PublishCommand } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSweep } from '../../../functions/sweep/handler';
import type { DynamoSessionStore } from '../../../shared/adapters/dynamodb/session-store';
import { ManualClock } from '../../../shared/domain/clock';
import { FLEET } from '../../../shared/domain/trading-scope';
import { awsAdapters, runningSession } from '../../adapters/support/workflow-fixtures';
import { startTestDynamo, type TestDynamo } from '../../support/dynamo';
import { at, sweepDepsOf, T0 } from './support';

describe('Handler: sweep (trading-scope backstop)', () => {
  let dynamo: TestDynamo;
  let store: DynamoSessionStore;
  const clock = new ManualClock(T0);
  const adapters = awsAdapters();
  const sns = mockClient(adapters.sns);

  beforeAll(async () => {
    dynamo = await startTestDynamo({ now: () => clock.now() });
    store = dynamo.newStore(clock);
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
  });
  afterAll(async () => {
    await dynamo.close();
  });

  it('holds a session a halt never reached (its Lambda ended after the scope write), within one full pass, and nothing twice', async () => {
    // prepare: the fleet written reducing, its fan-out never run
    const session = await runningSession(store, at(0));
    const changed = await store.changeTradingScope({
      scope: FLEET,
      to: 'reducing',
      expectedGeneration: 0,
      actor: 'alice',
      reason: 'incident',
    });
    expect(changed.ok).toBe(true);
    const deps = sweepDepsOf(store, clock, adapters);

    // act
    await runSweep(deps, { full: true });
    const held = await store.get(session.run_id);
    await runSweep(deps, { full: true });
    const again = await store.get(session.run_id);

    // assess
    expect(held).toMatchObject({
      desired_state: 'paused',
      scope_holds: ['scope#fleet'],
      scope_cause: 'scope#fleet',
    });
    expect(again?.version).toBe(held?.version);
  });
});
