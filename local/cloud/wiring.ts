import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { createHandler as createControlStrategy } from '../../functions/api/control-strategy/handler';
import { createHandler as createPromoteStrategy } from '../../functions/api/promote-strategy/handler';
import { createHandler as createReadStrategies } from '../../functions/api/read-strategies/handler';
import { createHandler as createStartStrategy } from '../../functions/api/start-strategy/handler';
import { createHandler as createTradingScopes } from '../../functions/api/trading-scope/handler';
import { createHandler as createEcsEvents } from '../../functions/ecs-events/handler';
import { createHandler as createLaunchStep } from '../../functions/launch/step/handler';
import { createHandler as createSessionEvents } from '../../functions/stream/session-events/handler';
import { chainPolicyFromEnv, createHandler as createSweep } from '../../functions/sweep/handler';
import type { DynamoAccountBudgetStore } from '../../shared/adapters/dynamodb/account-budget-store';
import type { DynamoAlertHistory } from '../../shared/adapters/dynamodb/alert-history';
import type { DynamoAuditLog } from '../../shared/adapters/dynamodb/audit-log';
import type { DynamoFleetReader } from '../../shared/adapters/dynamodb/fleet-read';
import type { DynamoSessionStore } from '../../shared/adapters/dynamodb/session-store';
import type { DynamoChainLease } from '../../shared/adapters/dynamodb/sweep-chain-lease';
import type { Clock } from '../../shared/domain/clock';
import type {
  BacktestEvidenceSource,
  ModelPromotionRegistry,
  PromotionFloors,
} from '../../shared/domain/model-promotion';
import type { AlertPublisher } from '../../shared/domain/ports';
import type { IdempotentRunner } from '../../shared/http/idempotency';
import { budgetScopesOf } from '../../shared/runtime/account-budget-scopes';
import { ScopeEnvSchema } from '../../shared/runtime/api-scope-deps';
import { parseEnv } from '../../shared/runtime/env';
import type { DynamoDedupLedger } from '../../shared/runtime/events-dedup';
import {
  CONTROL_PLANE_NAMESPACE,
  LIVE_TRADING_NAMESPACE,
  type WorkflowTimings,
} from '../../shared/runtime/workflow-deps';
import type { LambdaHandler } from './lambda-runtime';
import type { LocalPassQueue } from './pass-queue';
import type { ProcessPlatform } from './process-platform';
import type { LocalLaunchWorkflow } from './step-functions';

/**
 * The adapters the local cloud builds once (local/cloud/cloud.ts) and shares between functions, as one
 * AWS account shares its tables. A function takes from here only what its own deps type names.
 */
export interface LocalAdapters {
  store: DynamoSessionStore;
  /** The sweep's pass chain: its queue (SweepPassQueue) and its lease item in the sessions table. */
  passQueue: LocalPassQueue;
  chainLease: DynamoChainLease;
  audit: DynamoAuditLog;
  idempotency: IdempotentRunner;
  ledger: DynamoDedupLedger;
  /** Every alert published is also recorded in the alert history (RecordingAlertPublisher). */
  alerts: AlertPublisher;
  alertHistory: DynamoAlertHistory;
  /** The account budgets' aggregate, kept by the stream processor (tradai-account-budgets-{stage}). */
  budgets: DynamoAccountBudgetStore;
  fleet: DynamoFleetReader;
  platform: ProcessPlatform;
  workflow: LocalLaunchWorkflow;
  clock: Clock;
  timings: WorkflowTimings;
  /** The registry POST /promote writes: the agents' own (a copy of the demo registry, or a real MLflow). */
  registry: ModelPromotionRegistry;
  backtests: BacktestEvidenceSource;
  promotionFloors: PromotionFloors | null;
}

/** Logger and metrics named after the function, as Powertools names them in Lambda. */
const observabilityOf = (functionName: string, namespace = CONTROL_PLANE_NAMESPACE) => ({
  logger: new Logger({ serviceName: functionName }),
  metrics: new Metrics({ namespace, serviceName: functionName }),
});

/**
 * A handler as its module types it: the event is whatever its serverless.yml event source delivers (the
 * local cloud builds those events as AWS does), so the map does not constrain it.
 */
type FunctionHandler = (event: never, context: Context, ...rest: never[]) => Promise<unknown>;

/** One function's wiring: its module's createHandler and how its deps are built from the shared adapters. */
export interface LocalWiring<D> {
  createHandler: (deps: D) => FunctionHandler;
  depsOf: (adapters: LocalAdapters, functionName: string) => D;
  handlerOf: (adapters: LocalAdapters, functionName: string) => LambdaHandler;
}

/**
 * D is the function's own deps type (from its createHandler). A builder that forgets one of them, or
 * gives one of the wrong type, fails to compile on that function's entry rather than as a 500 at run
 * time; one it does not take fails too ("not assignable to type 'never'" on that property), so no entry
 * grows back into a bag.
 */
const wire = <D, R extends D>(
  createHandler: (deps: D) => FunctionHandler,
  depsOf: (adapters: LocalAdapters, functionName: string) => R & { [K in Exclude<keyof R, keyof D>]: never },
): LocalWiring<D> => ({
  createHandler,
  depsOf,
  // Middy's optional third argument and the event's type are the event source's business, as in Lambda.
  handlerOf: (adapters, functionName) =>
    createHandler(depsOf(adapters, functionName)) as unknown as LambdaHandler,
});

/**
 * Every serverless.yml function, by its name there, with exactly its typed dependencies. Keys are checked
 * against serverless.yml by tests/local/cloud/wiring.test.ts and at start-up (startLocalCloud).
 */
export const LOCAL_FUNCTIONS = {
  startStrategy: wire(createStartStrategy, (a, name) => ({
    store: a.store,
    audit: a.audit,
    idempotency: a.idempotency,
    launchWorkflow: a.workflow,
    clock: a.clock,
    ...observabilityOf(name),
  })),
  controlStrategy: wire(createControlStrategy, (a, name) => ({
    store: a.store,
    audit: a.audit,
    idempotency: a.idempotency,
    clock: a.clock,
    ...observabilityOf(name),
  })),
  promoteStrategy: wire(createPromoteStrategy, (a, name) => ({
    store: a.store,
    audit: a.audit,
    idempotency: a.idempotency,
    registry: a.registry,
    backtests: a.backtests,
    promotionFloors: a.promotionFloors,
    clock: a.clock,
    ...observabilityOf(name),
  })),
  tradingScopes: wire(createTradingScopes, (a, name) => ({
    store: a.store,
    budgets: a.budgets,
    audit: a.audit,
    idempotency: a.idempotency,
    alerts: a.alerts,
    clock: a.clock,
    // The function's own serverless.yml environment (FAST shortens it), as in Lambda.
    confirmTimeoutMs: parseEnv(ScopeEnvSchema, process.env).SCOPE_CONFIRM_TIMEOUT_S * 1000,
    ...observabilityOf(name),
  })),
  readStrategies: wire(createReadStrategies, (a, name) => ({
    store: a.store,
    alertHistory: a.alertHistory,
    audit: a.audit,
    fleet: a.fleet,
    staleAfterS: a.timings.staleAfterS,
    clock: a.clock,
    ...observabilityOf(name),
  })),
  launchStep: wire(createLaunchStep, (a, name) => ({
    store: a.store,
    platform: a.platform,
    workflow: a.workflow,
    clock: a.clock,
    timings: a.timings,
    logger: observabilityOf(name).logger,
  })),
  sessionEvents: wire(createSessionEvents, (a, name) => ({
    store: a.store,
    budgets: a.budgets,
    scopes: budgetScopesOf({ store: a.store, clock: a.clock }),
    platform: a.platform,
    workflow: a.workflow,
    alerts: a.alerts,
    ledger: a.ledger,
    clock: a.clock,
    ...observabilityOf(name),
  })),
  // The sweep publishes the seed's live-trading alarms' metrics (HeartbeatAgeSeconds, PnLDaily...).
  sweep: wire(createSweep, (a, name) => ({
    store: a.store,
    platform: a.platform,
    alerts: a.alerts,
    ledger: a.ledger,
    clock: a.clock,
    timings: a.timings,
    chain: { lease: a.chainLease, scheduler: a.passQueue, policy: chainPolicyFromEnv(process.env) },
    ...observabilityOf(name, LIVE_TRADING_NAMESPACE),
  })),
  ecsEvents: wire(createEcsEvents, (a, name) => ({
    store: a.store,
    platform: a.platform,
    alerts: a.alerts,
    ledger: a.ledger,
    clock: a.clock,
    logger: observabilityOf(name).logger,
  })),
} satisfies Record<string, Pick<LocalWiring<unknown>, 'handlerOf'>>;

export type LocalFunctionName = keyof typeof LOCAL_FUNCTIONS;

const isLocalFunctionName = (name: string): name is LocalFunctionName => Object.hasOwn(LOCAL_FUNCTIONS, name);

/** Builds one function's handler; a serverless.yml function missing from LOCAL_FUNCTIONS is refused. */
export const localHandlerOf = (functionName: string, adapters: LocalAdapters): LambdaHandler => {
  if (!isLocalFunctionName(functionName)) {
    throw new Error(
      `serverless.yml function ${functionName} has no entry in LOCAL_FUNCTIONS (local/cloud/wiring.ts)`,
    );
  }
  return LOCAL_FUNCTIONS[functionName].handlerOf(adapters, functionName);
};
