import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import type { Context } from 'aws-lambda';
import { EcsContainerPlatform } from '../../../shared/adapters/ecs/ecs-platform';
import { StepFunctionsLaunchWorkflow } from '../../../shared/adapters/sfn/launch-workflow';
import { SnsAlertPublisher } from '../../../shared/adapters/sns/sns-alert-publisher';
import type { Heartbeat } from '../../../shared/domain/heartbeat';
import type { RiskLimits, RiskSnapshot } from '../../../shared/domain/risk';
import type { NewSession, Session, TradingMode } from '../../../shared/domain/session';
import type { SessionStore } from '../../../shared/domain/session-store';

// EMF output would flood the test log; tests that assert metrics spy on publishStoredMetrics.
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

export const REGION = 'us-east-1';
export const ACCOUNT = '123456789012';
export const CLUSTER = 'tradai-test';
export const CLUSTER_ARN = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${CLUSTER}`;
export const TOPIC_ARN = `arn:aws:sns:${REGION}:${ACCOUNT}:tradai-alerts-test`;
export const STATE_MACHINE_ARN = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:tradai-launch-session-test`;
export const TASK_DEFINITION = 'tradai-strategy-test';

export const LIMITS: RiskLimits = {
  max_drawdown_pct: 10,
  max_daily_loss: 500,
  max_open_trades: 3,
  max_leverage: 2,
  max_monitor_failures: 3,
  breach_ladder: ['pause'],
  escalation_grace_s: 120,
};

export const silentLogger = () => new Logger({ serviceName: 'tradai-test', logLevel: 'SILENT' });

export interface CapturedMetrics {
  metrics: Metrics;
  /** Every EMF document the code published, in order. */
  emitted: Record<string, unknown>[];
}

export const capturedMetrics = (namespace = 'TradAI/LiveTrading'): CapturedMetrics => {
  const metrics = new Metrics({ namespace, serviceName: 'tradai-control-plane' });
  const emitted: Record<string, unknown>[] = [];
  const original = metrics.publishStoredMetrics.bind(metrics);
  metrics.publishStoredMetrics = () => {
    if (metrics.hasStoredMetrics())
      emitted.push(metrics.serializeMetrics() as unknown as Record<string, unknown>);
    return original();
  };
  return { metrics, emitted };
};

export const lambdaContext = (name = 'test-function'): Context => ({
  callbackWaitsForEmptyEventLoop: false,
  functionName: name,
  functionVersion: '$LATEST',
  invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`,
  memoryLimitInMB: '256',
  awsRequestId: 'test-request',
  logGroupName: `/aws/lambda/${name}`,
  logStreamName: 'test',
  getRemainingTimeInMillis: () => 30_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
});

/** Real AWS adapters on clients that aws-sdk-client-mock stubs at the SDK boundary. */
export const awsAdapters = () => {
  const ecs = new ECSClient({ region: REGION, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const sns = new SNSClient({ region: REGION, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const sfn = new SFNClient({ region: REGION, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  return {
    ecs,
    sns,
    sfn,
    platform: new EcsContainerPlatform(ecs, {
      cluster: CLUSTER_ARN,
      taskDefinition: TASK_DEFINITION,
      containerName: 'strategy',
      subnets: ['subnet-a', 'subnet-b'],
      securityGroups: ['sg-strategy'],
      allowSpot: true,
    }),
    alerts: new SnsAlertPublisher(sns, TOPIC_ARN),
    workflow: new StepFunctionsLaunchWorkflow(sfn, STATE_MACHINE_ARN),
  };
};

let sequence = 0;
/** Unique ids per call, so tests sharing one embedded DynamoDB never collide. */
export const uniqueIds = (mode: TradingMode = 'live') => {
  sequence += 1;
  const suffix = `${process.pid.toString(36)}${sequence.toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  return { strategy_id: `s-${suffix}`, run_id: `${mode}-s-${suffix}-run` };
};

export const newSessionInput = (
  mode: TradingMode = 'live',
  overrides: Partial<NewSession> = {},
): NewSession => {
  const ids = uniqueIds(mode);
  return {
    run_id: ids.run_id,
    strategy_id: ids.strategy_id,
    strategy_name: 'PascalStrategy',
    trading_mode: mode,
    risk_limits: LIMITS,
    requested_by: 'operator@example.com',
    trace_id: `trace-${ids.run_id}`,
    ...overrides,
  };
};

export const healthySnapshot: RiskSnapshot = {
  equity: 10_000,
  peak_equity: 10_000,
  drawdown_pct: 0,
  daily_pnl: 25,
  open_trades: 1,
  max_leverage: 1,
  exposure: 1_000,
  monitor_failures: 0,
};

export const heartbeatOf = (
  session: Pick<Session, 'run_id'>,
  seq: number,
  at: string,
  options: { snapshot?: RiskSnapshot; pnlToday?: number; exchangeConnected?: boolean; agentId?: string } = {},
): Heartbeat => {
  const snapshot = options.snapshot ?? healthySnapshot;
  return {
    run_id: session.run_id,
    agent_id: options.agentId ?? 'agent-1',
    seq,
    at,
    metrics: {
      total_trades: 4,
      win_rate: 0.5,
      pnl_today: options.pnlToday ?? snapshot.daily_pnl,
      pnl_total: 120,
      open_trade_count: snapshot.open_trades,
      stake_currency: 'USDT',
    },
    health: {
      cpu_percent: 10,
      memory_mb: 300,
      exchange_connected: options.exchangeConnected ?? true,
      last_trade_at: null,
    },
    risk: { state: 'ok', snapshot, breaches: [], response: null, breached_at: null },
    open_trades: [],
  };
};

/** pending -> launching -> (claimed, first heartbeat) -> running, as the workflow and agent do it. */
export const runningSession = async (
  store: SessionStore,
  at: string,
  mode: TradingMode = 'live',
  container: Session['container'] = {
    platform: 'ecs',
    launch_type: 'service',
    cluster: CLUSTER_ARN,
    service_arn: `arn:aws:ecs:${REGION}:${ACCOUNT}:service/${CLUSTER}/svc`,
  },
): Promise<Session> => {
  const created = await store.createSession(newSessionInput(mode));
  if (!created.ok) throw new Error(created.message);
  const runId = created.session.run_id;
  await store.transition(runId, 'launching', { from: ['pending'] });
  await store.update(runId, { container }, ['launching']);
  await store.claimSession({
    run_id: runId,
    agent_id: 'agent-1',
    strategy_version: '2',
    exchange: 'binance',
    pairs: [],
  });
  const beat = await store.recordHeartbeat(heartbeatOf(created.session, 1, at));
  if (!beat.ok) throw new Error(beat.message);
  const running = await store.transition(runId, 'running', {
    from: ['launching'],
    patch: { started_at: at },
  });
  if (!running.ok) throw new Error(running.message);
  return running.session;
};
