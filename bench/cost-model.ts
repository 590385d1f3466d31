/**
 * The fleet's AWS bill from counted requests: pure functions, no I/O. Counts and item sizes come from the
 * fleet simulator (bench/fleet.ts); prices from bench/prices.json. A month is 30 days: what a simulated
 * window counted is scaled by (30 days / window). Fixed monthly items (custom metrics, stored secrets)
 * are not scaled.
 */
import * as z from 'zod';
import { type ServerlessConfig, taskContainersOf } from '../local/serverless/config';

const perUnit = z.number().nonnegative();
export const PricesSchema = z.object({
  region: z.string(),
  currency: z.literal('USD'),
  taken_at: z.iso.date(),
  dynamodb: z.object({ write_request_unit_per_million: perUnit, read_request_unit_per_million: perUnit }),
  lambda: z.object({ request_per_million: perUnit, gb_second: perUnit }),
  step_functions: z.object({ standard_transition_per_thousand: perUnit }),
  sns: z.object({ publish_per_million: perUnit }),
  cloudwatch: z.object({
    custom_metric_per_month: perUnit,
    alarm_per_month: perUnit,
    log_ingestion_per_gb: perUnit,
  }),
  secrets_manager: z.object({ api_call_per_ten_thousand: perUnit, secret_per_month: perUnit }),
  sqs: z.object({ request_per_million: perUnit }),
});
export type Prices = z.infer<typeof PricesSchema>;

export const SECONDS_PER_MONTH = 30 * 86_400;

export interface LambdaUsage {
  name: string;
  invocations: number;
  /** Sum over invocations of each one's duration rounded up to the millisecond (Lambda's billing). */
  billedMs: number;
  memoryMb: number;
}

/** What the simulated window counted (window-scaled) and what the fleet holds all month (fixed). */
export interface FleetUsage {
  windowS: number;
  strategies: number;
  dynamodb: { writeUnits: number; readUnits: number };
  lambda: LambdaUsage[];
  stepFunctionsTransitions: number;
  snsPublishes: number;
  /** Window-scaled: SQS API requests (each up to 64 KB), the event source mapping's polls included. */
  sqsRequests: number;
  secretsManagerCalls: number;
  /** Fixed: distinct metric series (name × dimensions) alive all month. */
  customMetrics: number;
  /** Fixed: standard-resolution metric alarms the stack defines (serverless.yml), whatever the fleet. */
  alarms: number;
  /** Window-scaled: bytes of EMF and function log lines ingested. */
  logBytes: number;
  /** Fixed: secrets stored (one per exchange account, shared by its strategies, and MLflow's token). */
  secretsStored: number;
}

export interface CostLine {
  line: string;
  per_month: number;
  per_strategy_per_month: number;
}

export interface FleetCost {
  lines: CostLine[];
  total_per_month: number;
  per_strategy_per_month: number;
  largest: string;
}

const GB = 1024 ** 3;

/**
 * DynamoDB's item size, the one rule the bench and the tests use: each attribute's name plus its value
 * (numbers 1 byte per 2 significant digits + 1; maps and lists 3 + 1 per element).
 */
export const attributeValueSize = (value: unknown): number => {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number') {
    const digits = (value.toExponential().split('e')[0] ?? '').replace(/[.-]/g, '').length;
    return Math.ceil(Math.max(1, digits) / 2) + 1;
  }
  if (Array.isArray(value)) return 3 + value.reduce<number>((sum, v) => sum + 1 + attributeValueSize(v), 0);
  if (typeof value === 'object') return 3 + itemSize(value as Record<string, unknown>, 1);
  return Buffer.byteLength(String(value), 'utf8');
};

export const itemSize = (item: Record<string, unknown>, perAttributeOverhead = 0): number =>
  Object.entries(item).reduce(
    (sum, [name, value]) =>
      value === undefined
        ? sum
        : sum + Buffer.byteLength(name, 'utf8') + attributeValueSize(value) + perAttributeOverhead,
    0,
  );

/** One write unit per started KB; a write of any size costs at least one. */
export const writeUnitsOf = (bytes: number): number => Math.max(1, Math.ceil(bytes / 1024));
/** One read unit per started 4 KB, half for an eventually consistent read. */
export const readUnitsOf = (bytes: number, consistent: boolean): number =>
  Math.max(1, Math.ceil(bytes / 4096)) * (consistent ? 1 : 0.5);

export interface IndexShape {
  name: string;
  keys: readonly string[];
  /** 'ALL', 'KEYS_ONLY', or the non-key attributes INCLUDE projects. */
  projection: 'ALL' | 'KEYS_ONLY' | readonly string[];
}

const hasKeys = (item: Record<string, unknown> | undefined, keys: readonly string[]) =>
  item !== undefined && keys.every((key) => item[key] !== undefined && item[key] !== null);

const projected = (
  item: Record<string, unknown>,
  index: IndexShape,
  tableKeys: readonly string[],
): Record<string, unknown> => {
  if (index.projection === 'ALL') return item;
  const kept = new Set([
    ...index.keys,
    ...tableKeys,
    ...(index.projection === 'KEYS_ONLY' ? [] : index.projection),
  ]);
  return Object.fromEntries(Object.entries(item).filter(([name]) => kept.has(name)));
};

/**
 * Write units one table write adds to a GSI (DynamoDB's rules): nothing if neither image is in the index;
 * one write of the projected item if it enters, leaves, or stays with the same keys; a delete plus a put
 * when its index keys change. An update of attributes the index does not project still rewrites it for
 * ALL; for KEYS_ONLY/INCLUDE only if a projected attribute changed.
 */
export const indexWriteUnits = (
  previous: Record<string, unknown> | undefined,
  current: Record<string, unknown> | undefined,
  index: IndexShape,
  tableKeys: readonly string[],
): number => {
  const wasIn = hasKeys(previous, index.keys);
  const isIn = hasKeys(current, index.keys);
  if (!wasIn && !isIn) return 0;
  const oldProjection = wasIn ? projected(previous as Record<string, unknown>, index, tableKeys) : undefined;
  const newProjection = isIn ? projected(current as Record<string, unknown>, index, tableKeys) : undefined;
  if (oldProjection === undefined) return writeUnitsOf(itemSize(newProjection as Record<string, unknown>));
  if (newProjection === undefined) return writeUnitsOf(itemSize(oldProjection));
  const keysChanged = index.keys.some(
    (key) => JSON.stringify(previous?.[key]) !== JSON.stringify(current?.[key]),
  );
  if (keysChanged) return writeUnitsOf(itemSize(oldProjection)) + writeUnitsOf(itemSize(newProjection));
  if (JSON.stringify(oldProjection) === JSON.stringify(newProjection)) return 0;
  return writeUnitsOf(Math.max(itemSize(oldProjection), itemSize(newProjection)));
};

/**
 * Lambda's SQS event source mapping polls a standard queue with long polls (20 s) from several pollers (5
 * while it is quiet, AWS's figure), each billed as a request whether or not it returns a message; each
 * message it returns is one more receive, and its deletion one more request (batch size 1).
 */
export const SQS_ESM_POLLERS = 5;
export const SQS_LONG_POLL_S = 20;

export interface SqsRequests {
  send_message: number;
  receive_message: number;
  delete_message: number;
}

export const sqsRequestsOf = (counted: {
  windowS: number;
  sent: number;
  delivered: number;
  /** Queues with an event source mapping: each is polled, empty or not. */
  queues: number;
}): SqsRequests => ({
  send_message: counted.sent,
  receive_message:
    counted.delivered + Math.ceil((counted.queues * SQS_ESM_POLLERS * counted.windowS) / SQS_LONG_POLL_S),
  delete_message: counted.delivered,
});

/**
 * The secrets the stack keeps all month: each exchange account's credentials (one secret per distinct
 * EXCHANGE_SECRET_NAME its task definitions name: every strategy on an account reads the same one, as the
 * seed's `tradai/exchange/binance`) and MLflow's bearer token. Not one per strategy.
 */
export const storedSecretsOf = (resources: ServerlessConfig['resources']): number => {
  const exchangeSecrets = new Set(
    taskContainersOf(resources.Resources).flatMap((container) =>
      (container.Environment ?? [])
        .filter((variable) => variable.Name === 'EXCHANGE_SECRET_NAME')
        .map((variable) => JSON.stringify(variable.Value)),
    ),
  );
  const tokenSecrets =
    (resources.Parameters as Record<string, unknown> | undefined)?.MlflowTokenSecretArn === undefined ? 0 : 1;
  return exchangeSecrets.size + tokenSecrets;
};

const round = (value: number, digits = 4) => Math.round(value * 10 ** digits) / 10 ** digits;

export const monthlyCost = (usage: FleetUsage, prices: Prices): FleetCost => {
  if (usage.windowS <= 0) throw new RangeError('windowS must be positive');
  if (usage.strategies <= 0) throw new RangeError('strategies must be positive');
  const scale = SECONDS_PER_MONTH / usage.windowS;
  const lambdaRequests = usage.lambda.reduce((sum, fn) => sum + fn.invocations, 0);
  const gbSeconds = usage.lambda.reduce((sum, fn) => sum + (fn.billedMs / 1000) * (fn.memoryMb / 1024), 0);
  const raw: [string, number][] = [
    [
      'DynamoDB writes',
      (usage.dynamodb.writeUnits * scale * prices.dynamodb.write_request_unit_per_million) / 1e6,
    ],
    [
      'DynamoDB reads',
      (usage.dynamodb.readUnits * scale * prices.dynamodb.read_request_unit_per_million) / 1e6,
    ],
    ['Lambda requests', (lambdaRequests * scale * prices.lambda.request_per_million) / 1e6],
    ['Lambda duration', gbSeconds * scale * prices.lambda.gb_second],
    [
      'Step Functions transitions',
      (usage.stepFunctionsTransitions * scale * prices.step_functions.standard_transition_per_thousand) / 1e3,
    ],
    ['SNS publishes', (usage.snsPublishes * scale * prices.sns.publish_per_million) / 1e6],
    ['SQS requests', (usage.sqsRequests * scale * prices.sqs.request_per_million) / 1e6],
    ['CloudWatch custom metrics', usage.customMetrics * prices.cloudwatch.custom_metric_per_month],
    ['CloudWatch alarms', usage.alarms * prices.cloudwatch.alarm_per_month],
    ['CloudWatch log ingestion', ((usage.logBytes * scale) / GB) * prices.cloudwatch.log_ingestion_per_gb],
    [
      'Secrets Manager API calls',
      (usage.secretsManagerCalls * scale * prices.secrets_manager.api_call_per_ten_thousand) / 1e4,
    ],
    ['Secrets Manager secrets stored', usage.secretsStored * prices.secrets_manager.secret_per_month],
  ];
  const lines = raw.map(([line, perMonth]) => ({
    line,
    per_month: round(perMonth),
    per_strategy_per_month: round(perMonth / usage.strategies),
  }));
  const total = raw.reduce((sum, [, perMonth]) => sum + perMonth, 0);
  const largest = raw.reduce(
    (best, entry) => (entry[1] > best[1] ? entry : best),
    raw[0] as [string, number],
  );
  return {
    lines,
    total_per_month: round(total),
    per_strategy_per_month: round(total / usage.strategies),
    largest: largest[0],
  };
};

/**
 * The trade-off of item 1 (issue 14): cost per strategy per month against the heartbeat interval, and what
 * each interval allows the stale threshold to be. A fleet run at one interval is split into what grows with
 * the heartbeats (the beats), what grows with the snapshots (the session item's write, the fleet index it
 * rewrites, the history point, the stream's invocations: once a minute while quiet, so with 1/H only for
 * H over a minute), what grows with the heartbeat index's steps (a delete and a put each time hb_at
 * moves), and the rest.
 */
export interface HeartbeatCostSplit {
  /** The interval the run used. */
  heartbeatS: number;
  strategies: number;
  /** $ per month of the beats at `heartbeatS`, fleet-wide. */
  perHeartbeatPerMonth: number;
  /** $ per month of the snapshots at `heartbeatS`, fleet-wide. */
  perSnapshotPerMonth: number;
  /** $ per month of the heartbeat index at `heartbeatS`, fleet-wide. */
  heartbeatIndexPerMonth: number;
  /** $ per month that the interval does not change, fleet-wide. */
  fixedPerMonth: number;
}

export interface CurveOptions {
  intervalsS: readonly number[];
  /** The hb_at step the run was measured with (shared/domain/sweep.ts HEARTBEAT_BUCKET_S). */
  runStepS: number;
  /** A suspect pass every this many seconds. */
  passEveryS: number;
  /** The stream processor's share of a page (batch window plus invocation). */
  streamMarginS: number;
  /** The threshold above the fail-closed window (2H). */
  thresholdMarginS: number;
  /** A quiet agent's snapshot interval at heartbeat interval H (shared/domain/heartbeat.ts). */
  snapshotEveryS: (heartbeatS: number) => number;
}

export interface CurvePoint {
  heartbeat_s: number;
  fail_closed_s: number;
  stale_after_s: number;
  /** hb_at's step: threshold - interval, the longest that keeps a healthy agent out of the suspects. */
  hb_step_s: number;
  /** A hung agent is paged within this (threshold + one pass + the stream). */
  page_within_s: number;
  per_strategy_per_month: number;
}

/**
 * At interval H: the agent fails closed after 2H (container/agent/env.ts refuses less), the threshold lies
 * a margin above that, and hb_at's step is threshold - H: the longest step at which a healthy agent's
 * hb_at stays after the suspects' cutoff (hb_at > last heartbeat - step >= now - H - step), so the index
 * key moves once per step. The costs scale with 1/H, with 1/(the snapshot interval at H) and with
 * 1/max(H, step).
 */
export const heartbeatCurve = (split: HeartbeatCostSplit, options: CurveOptions): CurvePoint[] => {
  if (split.heartbeatS <= 0 || split.strategies <= 0)
    throw new RangeError('heartbeatS and strategies must be positive');
  const runMovesEvery = Math.max(split.heartbeatS, options.runStepS);
  return options.intervalsS.map((h) => {
    const failClosed = 2 * h;
    const stale = failClosed + options.thresholdMarginS;
    const step = stale - h;
    const perMonth =
      split.fixedPerMonth +
      split.perHeartbeatPerMonth * (split.heartbeatS / h) +
      split.perSnapshotPerMonth * (options.snapshotEveryS(split.heartbeatS) / options.snapshotEveryS(h)) +
      split.heartbeatIndexPerMonth * (runMovesEvery / Math.max(h, step));
    return {
      heartbeat_s: h,
      fail_closed_s: failClosed,
      stale_after_s: stale,
      hb_step_s: step,
      page_within_s: stale + options.passEveryS + options.streamMarginS,
      per_strategy_per_month: round(perMonth / split.strategies),
    };
  });
};

/**
 * The cheapest interval that pages within `pageWithinS` and stays within `budget` per strategy; the
 * cheapest that pages in time when none is within budget (then `withinBudget` is false).
 */
export const chooseInterval = (
  points: readonly CurvePoint[],
  pageWithinS: number,
  budget: number,
): { point: CurvePoint | undefined; withinBudget: boolean } => {
  const inTime = points.filter((point) => point.page_within_s <= pageWithinS);
  const cheapest = [...inTime].sort((a, b) => a.per_strategy_per_month - b.per_strategy_per_month)[0];
  return {
    point: cheapest,
    withinBudget: cheapest !== undefined && cheapest.per_strategy_per_month <= budget,
  };
};
