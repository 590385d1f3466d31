import fc from 'fast-check';

/**
 * fast-check arbitraries for every external input, shared by the CI fuzz tests (small, seeded runs) and
 * `npm run bench -- --only fuzz` (10,000 cases per target). Each mixes valid values, near misses (one
 * field wrong) and junk, so a run exercises both the accept and the refuse paths.
 */

// -- DynamoDB stream records and ECS events (from tests/functions/event-parsers.fuzz.test.ts) ------------

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

/** Anything an event source could hand over, from garbage to almost-right AWS shapes. */
export const streamRecord = fc.oneof(
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

export const ecsEvent = fc.oneof(
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

// -- Numbers and strings that have broken parsers elsewhere ---------------------------------------------

/** Extremes: what JSON.parse makes of `1e400` (Infinity), `1e-200`, `-0`, and the integer edge. */
export const nastyNumber = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(1e300, 1e-200, -0, Number.MAX_SAFE_INTEGER + 2, -1, 0, 0.5),
);
export const nastyString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(
    '',
    ' ',
    '__proto__',
    'constructor',
    '../../etc/passwd',
    'file:///etc/passwd',
    '\u0000',
    'a'.repeat(2000),
  ),
);
/** Any JSON value, including deep nesting (DynamoDB allows 32 levels). */
export const anyJson = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.integer({ min: 30, max: 40 }).map((depth) => {
    let value: unknown = 1;
    for (let level = 0; level < depth; level += 1) value = { n: value };
    return value;
  }),
);

// -- Path parameters ------------------------------------------------------------------------------------

export const validStrategyId = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?$/);
export const strategyIdParam = fc.oneof(
  validStrategyId,
  fc.constantFrom('pnl', 'A', '-a', 'a-', 'a'.repeat(41), '%2e%2e', 'a/b'),
  nastyString,
);
export const runIdParam = fc.oneof(
  fc.stringMatching(/^[a-z0-9][a-z0-9-]{2,30}$/),
  fc.constantFrom('ab', 'A-b-c', 'x'.repeat(81)),
  nastyString,
);

// -- Request bodies -------------------------------------------------------------------------------------

const name = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/);

export const validRiskLimits = fc.record(
  {
    max_drawdown_pct: fc.double({ min: 0.1, max: 50, noNaN: true }),
    max_daily_loss: fc.double({ min: 1, max: 10_000, noNaN: true }),
    max_open_trades: fc.integer({ min: 1, max: 50 }),
    max_leverage: fc.double({ min: 1, max: 10, noNaN: true }),
    max_monitor_failures: fc.integer({ min: 1, max: 10 }),
    breach_ladder: fc.constantFrom(['pause'], ['pause', 'flatten'], ['pause', 'flatten', 'stop']),
    escalation_grace_s: fc.integer({ min: 0, max: 86_400 }),
  },
  {
    requiredKeys: [
      'max_drawdown_pct',
      'max_daily_loss',
      'max_open_trades',
      'max_leverage',
      'max_monitor_failures',
    ],
  },
);

export const validStartBody = fc.record(
  {
    strategy: name,
    mode: fc.constantFrom('dry-run', 'backtest', 'live'),
    alias: name,
    overrides: fc.constantFrom({}, { stake_amount: 10 }, { max_open_trades: 2 }),
    risk_limits: validRiskLimits,
    reason: fc.string({ minLength: 1, maxLength: 40 }).filter((text) => text.trim().length > 0),
  },
  { requiredKeys: ['strategy', 'mode'] },
);

/** One field of a good value replaced by anything; unknown keys; or no object at all. */
const mutated = (valid: fc.Arbitrary<Record<string, unknown>>, fields: readonly string[]) =>
  fc
    .tuple(
      valid,
      fc.constantFrom(...fields, 'extra', '__proto__'),
      fc.oneof(nastyNumber, nastyString, anyJson),
    )
    .map(([body, field, value]) => ({ ...body, [field]: value }));

const START_FIELDS = ['strategy', 'mode', 'alias', 'stage', 'overrides', 'risk_limits', 'reason'] as const;
export const startBody = fc.oneof(
  { weight: 3, arbitrary: validStartBody },
  { weight: 4, arbitrary: mutated(validStartBody, START_FIELDS) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        validStartBody,
        validRiskLimits,
        fc.constantFrom(
          ...Object.keys({
            max_drawdown_pct: 0,
            max_daily_loss: 0,
            max_open_trades: 0,
            max_leverage: 0,
            max_monitor_failures: 0,
            breach_ladder: 0,
            escalation_grace_s: 0,
          }),
        ),
        fc.oneof(nastyNumber, nastyString, anyJson),
      )
      .map(([body, limits, field, value]) => ({ ...body, risk_limits: { ...limits, [field]: value } })),
  },
  { weight: 1, arbitrary: anyJson },
);

const validReason = fc.string({ minLength: 1, maxLength: 40 }).filter((text) => text.trim().length > 0);
export const validPauseResumeBody = fc.record({ reason: validReason }, { requiredKeys: [] });
export const validStopBody = fc.record({ flatten: fc.boolean(), reason: validReason }, { requiredKeys: [] });
export const pauseResumeBody = fc.oneof(
  validPauseResumeBody,
  mutated(validPauseResumeBody, ['reason']),
  anyJson,
);
export const stopBody = fc.oneof(validStopBody, mutated(validStopBody, ['flatten', 'reason']), anyJson);
/** POST /deploy: one selection, a handoff, a reason; then every field mutated, then anything. */
export const validDeployBody = fc.oneof(
  fc.record({
    version: fc.constantFrom('3', '4', '99'),
    handoff: fc.constant('carry_positions'),
    reason: validReason,
  }),
  fc.record({
    alias: fc.constantFrom('champion', 'challenger'),
    handoff: fc.constant('wait_flat'),
    wait_flat_s: fc.integer({ min: 1, max: 3600 }),
    reason: validReason,
  }),
);
export const deployBody = fc.oneof(
  validDeployBody,
  mutated(validDeployBody, ['version', 'alias', 'stage', 'handoff', 'wait_flat_s', 'reason']),
  anyJson,
);
export const restartBody = fc.oneof(validPauseResumeBody, mutated(validPauseResumeBody, ['reason']), anyJson);

// -- Query strings and headers --------------------------------------------------------------------------

const isoTimestamp = fc
  .date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2030-01-01T00:00:00Z'), noInvalidDate: true })
  .map((date) => date.toISOString());
export const historyQuery = fc.dictionary(
  fc.constantFrom('from', 'to', 'limit', 'cursor', 'run_id', 'x'),
  fc.oneof(isoTimestamp, fc.integer({ min: -5, max: 2000 }).map(String), nastyString),
  { maxKeys: 4 },
);

/** Headers a client may send: idempotency keys good and bad, content types, junk names. */
export const requestHeaders = fc.dictionary(
  fc.constantFrom('idempotency-key', 'content-type', 'x-forwarded-for', 'x-junk'),
  fc.oneof(
    fc.stringMatching(/^[\x21-\x7e]{1,40}$/),
    fc.constantFrom('application/json', 'text/plain', 'application/json; charset=utf-8', ''),
    nastyString,
  ),
  { maxKeys: 3 },
);

// -- Internal inputs: launch steps, env, replies --------------------------------------------------------

export const launchStepInput = fc.oneof(
  fc.record(
    {
      action: fc.oneof(
        fc.constantFrom(
          'markLaunching',
          'startContainer',
          'recordContainer',
          'awaitHeartbeat',
          'markRunning',
          'compensate',
        ),
        fc.string(),
      ),
      run_id: runIdParam,
      task_token: fc.oneof(fc.string(), fc.string({ minLength: 2049, maxLength: 2100 })),
      container: anyJson,
      launch_timeout_s: nastyNumber,
    },
    { requiredKeys: [] },
  ),
  anyJson,
);

/** An environment: known variable names with plausible or broken values. */
export const envVars = (names: readonly string[]) =>
  fc.dictionary(
    fc.oneof(fc.constantFrom(...names), fc.string({ maxLength: 10 })),
    fc.oneof(
      fc.constantFrom(
        '',
        'live',
        'dry-run',
        'true',
        'false',
        '0',
        '60',
        '-1',
        '1e9',
        'abc',
        'http://127.0.0.1:1',
        's3://bucket/prefix',
        'file:///etc/passwd',
      ),
      nastyString,
    ),
    { maxKeys: names.length },
  );

/** A JSON reply of an HTTP service: right fields with any values, or anything. */
export const jsonReply = (fields: readonly string[]) =>
  fc.oneof(
    fc.dictionary(fc.constantFrom(...fields), fc.oneof(nastyNumber, nastyString, anyJson, fc.constant(null))),
    fc.array(
      fc.dictionary(fc.constantFrom(...fields), fc.oneof(nastyNumber, nastyString, fc.constant(null))),
      { maxLength: 3 },
    ),
    anyJson,
  );
