import { describe, expect, it } from 'vitest';
import {
  chooseInterval,
  type FleetUsage,
  heartbeatCurve,
  type IndexShape,
  indexWriteUnits,
  itemSize,
  monthlyCost,
  type Prices,
  PricesSchema,
  readUnitsOf,
  SECONDS_PER_MONTH,
  sqsRequestsOf,
  storedSecretsOf,
  writeUnitsOf,
} from '../../bench/cost-model';
import pricesJson from '../../bench/prices.json' with { type: 'json' };
import { loadServerlessConfig } from '../../local/serverless/config';
import { quietSnapshotEveryS } from '../../shared/domain/heartbeat';

const prices: Prices = {
  region: 'us-east-1',
  currency: 'USD',
  taken_at: '2026-12-01',
  dynamodb: { write_request_unit_per_million: 1, read_request_unit_per_million: 0.5 },
  lambda: { request_per_million: 0.2, gb_second: 0.00001 },
  step_functions: { standard_transition_per_thousand: 0.025 },
  sns: { publish_per_million: 0.5 },
  cloudwatch: { custom_metric_per_month: 0.3, alarm_per_month: 0.1, log_ingestion_per_gb: 0.5 },
  secrets_manager: { api_call_per_ten_thousand: 0.05, secret_per_month: 0.4 },
  sqs: { request_per_million: 0.4 },
};

const empty: FleetUsage = {
  windowS: SECONDS_PER_MONTH,
  strategies: 1,
  dynamodb: { writeUnits: 0, readUnits: 0 },
  lambda: [],
  stepFunctionsTransitions: 0,
  snsPublishes: 0,
  sqsRequests: 0,
  secretsManagerCalls: 0,
  customMetrics: 0,
  alarms: 0,
  logBytes: 0,
  secretsStored: 0,
};

describe('bench/prices.json', () => {
  it('parses with the cost model schema (a price file missing a line is refused, not priced at zero)', () => {
    expect(() => PricesSchema.parse(pricesJson)).not.toThrow();
    const { sns: _dropped, ...missing } = pricesJson;
    expect(() => PricesSchema.parse(missing)).toThrow(/sns/);
  });
});

describe('capacity units', () => {
  it.each([
    [1, 1],
    [1024, 1],
    [1025, 2],
    [3000, 3],
  ])('a %i-byte write costs %i WCU', (bytes, units) => expect(writeUnitsOf(bytes)).toBe(units));

  it.each([
    [100, true, 1],
    [100, false, 0.5],
    [4097, true, 2],
    [8192, false, 1],
  ])('a %i-byte read (consistent %s) costs %d RCU', (bytes, consistent, units) =>
    expect(readUnitsOf(bytes, consistent)).toBe(units),
  );

  it.each([
    [{ a: 'xy' }, 3],
    [{ name: 'abc', n: 12345 }, 4 + 3 + 1 + 4],
    [{ ok: true, nothing: null }, 2 + 1 + 7 + 1],
  ])('item %j is %i bytes', (item, bytes) => expect(itemSize(item as Record<string, unknown>)).toBe(bytes));
});

describe('GSI write units (an index with ALL projection is rewritten on every update of an item in it)', () => {
  const statusIndex: IndexShape = { name: 'status', keys: ['status', 'created_at'], projection: 'ALL' };
  const keysOnly: IndexShape = { name: 'hb', keys: ['hb_shard', 'last_heartbeat'], projection: 'KEYS_ONLY' };
  const big = 'x'.repeat(1500);
  const cases: [
    string,
    IndexShape,
    Record<string, unknown> | undefined,
    Record<string, unknown> | undefined,
    number,
  ][] = [
    ['not in the index', statusIndex, { run_id: 'a' }, { run_id: 'a', n: 1 }, 0],
    ['enters the index', statusIndex, undefined, { run_id: 'a', status: 'running', created_at: 't' }, 1],
    [
      'same keys, a 1.5 KB item updated: billed on the larger image',
      statusIndex,
      { run_id: 'a', status: 'running', created_at: 't', blob: big },
      { run_id: 'a', status: 'running', created_at: 't', blob: big, seq: 2 },
      2,
    ],
    [
      'key changes: a delete and a put',
      statusIndex,
      { run_id: 'a', status: 'running', created_at: 't' },
      { run_id: 'a', status: 'paused', created_at: 't' },
      2,
    ],
    [
      'keys-only index, unprojected attribute changed: no index write',
      keysOnly,
      { run_id: 'a', hb_shard: 1, last_heartbeat: 't1', blob: big },
      { run_id: 'a', hb_shard: 1, last_heartbeat: 't1', blob: `${big}y` },
      0,
    ],
    [
      'keys-only index, key moved: two small writes whatever the item size',
      keysOnly,
      { run_id: 'a', hb_shard: 1, last_heartbeat: 't1', blob: big },
      { run_id: 'a', hb_shard: 1, last_heartbeat: 't2', blob: big },
      2,
    ],
  ];
  it.each(cases)('%s', (_title, index, previous, current, units) =>
    expect(indexWriteUnits(previous, current, index, ['run_id'])).toBe(units),
  );
});

describe('sqsRequestsOf: the pass chain queue', () => {
  it('bills the event source mapping its idle long polls as well as a receive and a delete per message', () => {
    // a day: a link every 5 s sent and delivered, 5 pollers long-polling 20 s each
    const day = sqsRequestsOf({ windowS: 86_400, sent: 17_280, delivered: 17_280, queues: 1 });

    expect(day).toEqual({ send_message: 17_280, receive_message: 17_280 + 21_600, delete_message: 17_280 });
    expect(sqsRequestsOf({ windowS: 86_400, sent: 0, delivered: 0, queues: 0 }).receive_message).toBe(0);
  });
});

describe('monthlyCost', () => {
  const cases: [string, Partial<FleetUsage>, string, number][] = [
    [
      '1M write units in a month at $1/M',
      { dynamodb: { writeUnits: 1e6, readUnits: 0 } },
      'DynamoDB writes',
      1,
    ],
    [
      'a 1-day window is scaled by 30',
      { windowS: 86_400, dynamodb: { writeUnits: 0, readUnits: 1e6 } },
      'DynamoDB reads',
      15,
    ],
    [
      'GB-s from billed ms and memory',
      { lambda: [{ name: 'sweep', invocations: 0, billedMs: 2_000_000, memoryMb: 512 }] },
      'Lambda duration',
      0.01,
    ],
    [
      'custom metrics are per month, not scaled',
      { windowS: 60, customMetrics: 10 },
      'CloudWatch custom metrics',
      3,
    ],
    [
      'secrets stored are per month',
      { windowS: 60, secretsStored: 2 },
      'Secrets Manager secrets stored',
      0.8,
    ],
    ['1 GB of logs', { logBytes: 1024 ** 3 }, 'CloudWatch log ingestion', 0.5],
    ['40,000 transitions', { stepFunctionsTransitions: 40_000 }, 'Step Functions transitions', 1],
    ['2.5M SQS requests at $0.40/M', { sqsRequests: 2_500_000 }, 'SQS requests', 1],
    [
      'alarms are per month, not scaled (they were left out)',
      { windowS: 60, alarms: 10 },
      'CloudWatch alarms',
      1,
    ],
  ];
  it.each(cases)('%s', (_title, usage, line, dollars) => {
    const cost = monthlyCost({ ...empty, ...usage }, prices);
    expect(cost.lines.find((l) => l.line === line)?.per_month).toBeCloseTo(dollars, 6);
    expect(cost.total_per_month).toBeCloseTo(dollars, 6);
    expect(cost.largest).toBe(line);
  });

  it('divides by the fleet size per strategy', () => {
    const cost = monthlyCost({ ...empty, strategies: 4, customMetrics: 4 }, prices);
    expect(cost.per_strategy_per_month).toBeCloseTo(0.3, 6);
  });

  it('refuses an empty window instead of dividing by zero', () => {
    expect(() => monthlyCost({ ...empty, windowS: 0 }, prices)).toThrow(RangeError);
  });
});

describe('Cost model: the heartbeat interval curve', () => {
  const split = {
    heartbeatS: 30,
    strategies: 10,
    perHeartbeatPerMonth: 3,
    perSnapshotPerMonth: 0,
    heartbeatIndexPerMonth: 1,
    fixedPerMonth: 5,
  };
  const options = {
    intervalsS: [5, 15, 30, 60],
    runStepS: 15,
    passEveryS: 5,
    streamMarginS: 2,
    thresholdMarginS: 5,
    snapshotEveryS: quietSnapshotEveryS,
  };

  it('scales the heartbeat lines with 1/H and the index with 1/max(H, step), and leaves the rest', () => {
    const points = heartbeatCurve(split, options);

    // The run (H = 30, step 15): the index moved every 30 s. At each H the step is threshold - H = H + 5:
    // H = 5 moves every 10 s (3 ×), 15 every 20 s (1.5 ×), 30 every 35 s, 60 every 65 s.
    expect(points.map((p) => p.per_strategy_per_month)).toEqual([
      (5 + 18 + 3) / 10,
      (5 + 6 + 1.5) / 10,
      Math.round(((5 + 3 + 30 / 35) / 10) * 1e4) / 1e4,
      Math.round(((5 + 1.5 + 30 / 65) / 10) * 1e4) / 1e4,
    ]);
  });

  it('scales the snapshots with their own interval, a minute while quiet whatever H under it (every heartbeat was priced as a snapshot)', () => {
    const points = heartbeatCurve(
      { ...split, perHeartbeatPerMonth: 0, heartbeatIndexPerMonth: 0, perSnapshotPerMonth: 2 },
      options,
    );

    // The run (H = 30) snapshotted every 60 s; H = 5 every 20 s (every fourth heartbeat), 15 every 60 s, 60 every 60 s.
    expect(points.map((p) => p.per_strategy_per_month)).toEqual([
      (5 + 2 * 3) / 10,
      (5 + 2) / 10,
      (5 + 2) / 10,
      (5 + 2) / 10,
    ]);
    expect([1, 5, 10, 15, 20, 25, 30, 45, 60, 90].map((h) => quietSnapshotEveryS(h))).toEqual([
      4, 20, 40, 60, 60, 75, 60, 90, 60, 90,
    ]);
  });

  it('derives the fail-closed window (2H), a threshold a margin above it, the step as threshold - H, and the page bound', () => {
    const [fast, fifteen, thirty] = heartbeatCurve(split, options);

    expect(fast).toMatchObject({ fail_closed_s: 10, stale_after_s: 15, hb_step_s: 10, page_within_s: 22 });
    expect(fifteen).toMatchObject({ fail_closed_s: 30, stale_after_s: 35, hb_step_s: 20, page_within_s: 42 });
    expect(thirty).toMatchObject({ fail_closed_s: 60, stale_after_s: 65, hb_step_s: 35, page_within_s: 72 });
  });

  it('chooses the cheapest interval that pages in time, and says when none is within budget', () => {
    const points = heartbeatCurve(split, options);

    expect(chooseInterval(points, 45, 1.5)).toMatchObject({ point: { heartbeat_s: 15 }, withinBudget: true });
    expect(chooseInterval(points, 45, 1)).toMatchObject({ point: { heartbeat_s: 15 }, withinBudget: false });
    expect(chooseInterval(points, 20, 1).point).toBeUndefined();
  });

  it('refuses a run with no interval or no strategies', () => {
    expect(() => heartbeatCurve({ ...split, heartbeatS: 0 }, options)).toThrow(RangeError);
  });
});

describe('Cost model: the secrets the stack stores', () => {
  it('counts one exchange secret per account its strategies share and MLflow’s token, not one per strategy', async () => {
    // Prepare: the packaged stack, and the same stack with a second account's task definition.
    const config = await loadServerlessConfig({ stage: 'dev' });
    const resources = config.resources;
    const task = Object.values(resources.Resources).find((r) => r.Type === 'AWS::ECS::TaskDefinition');
    if (task === undefined) throw new Error('the stack has no task definition');
    const second = structuredClone(task) as unknown as {
      Properties: { ContainerDefinitions: { Environment?: { Name: string; Value: unknown }[] }[] };
    };
    for (const container of second.Properties.ContainerDefinitions)
      for (const variable of container.Environment ?? [])
        if (variable.Name === 'EXCHANGE_SECRET_NAME') variable.Value = 'tradai/dev/exchange/second-account';

    // Act
    const stored = storedSecretsOf(resources);
    const withSecondAccount = storedSecretsOf({
      ...resources,
      Resources: { ...resources.Resources, SecondAccountTask: second as never },
    });

    // Assess: the task definition names one exchange secret; the MLflow token is the other.
    expect(stored).toBe(2);
    expect(withSecondAccount).toBe(3);
  });
});
