import type { SessionEventsDeps } from '../../../functions/stream/session-events/handler';
import type { DynamoSessionStore } from '../../../shared/adapters/dynamodb/session-store';
import type { ManualClock } from '../../../shared/domain/clock';
import { budgetScopesOf } from '../../../shared/runtime/account-budget-scopes';
import { DynamoDedupLedger } from '../../../shared/runtime/events-dedup';
import { type awsAdapters, capturedMetrics, silentLogger } from '../../adapters/support/workflow-fixtures';
import type { TestDynamo } from '../../support/dynamo';

/**
 * The stream processor's dependencies on the embedded DynamoDB (its dedup ledger on the sessions table, as in
 * AWS), the AWS adapters (SDK-mocked) and a manual clock.
 */
export const sessionEventsDepsOf = (
  dynamo: TestDynamo,
  store: DynamoSessionStore,
  clock: ManualClock,
  adapters: ReturnType<typeof awsAdapters>,
  extra: Partial<SessionEventsDeps> = {},
): SessionEventsDeps => ({
  store,
  platform: adapters.platform,
  workflow: adapters.workflow,
  alerts: adapters.alerts,
  ledger: new DynamoDedupLedger(dynamo.doc, { table: dynamo.tables.sessions, clock }),
  clock,
  logger: silentLogger(),
  metrics: capturedMetrics('TradAI/ControlPlane').metrics,
  budgets: dynamo.newBudgets(clock),
  scopes: budgetScopesOf({ store, clock }),
  ...extra,
});
