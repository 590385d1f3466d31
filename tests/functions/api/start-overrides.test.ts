import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createHandler } from '../../../functions/api/start-strategy/handler';
import {
  type ApiTestEnv,
  errorOf,
  type Invoke,
  invoker,
  LIVE_GROUPS,
  LIVE_LIMITS,
  startApiTest,
  startBody,
} from './support';

const ROUTE = '/strategies/{strategyId}/start';
/** A value no response, log line or stored item may ever contain. */
const SECRET = 'sk-live-0123456789abcdef-SECRET';

/** Writes to stdout and stderr while `run` runs: where Powertools Logger puts its lines. */
const captureOutput = async <T>(run: () => Promise<T>): Promise<{ result: T; output: string }> => {
  const chunks: string[] = [];
  const keep = (chunk: unknown) => {
    chunks.push(String(chunk));
    return true;
  };
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(keep);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(keep);
  try {
    return { result: await run(), output: chunks.join('') };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
};

describe('Start overrides: an allow-list checked at the API', () => {
  let env: ApiTestEnv;
  let invoke: Invoke;
  let seq = 0;
  const fresh = () => `ovr-${++seq}`;
  const start = (strategyId: string, body: unknown, extra: Partial<Parameters<Invoke>[0]> = {}) =>
    invoke({ method: 'POST', route: ROUTE, params: { strategyId }, body, ...extra });

  beforeAll(async () => {
    env = await startApiTest();
    // Logging at DEBUG, so a refusal that logged the body would show it.
    invoke = invoker(createHandler({ ...env.deps, logger: new Logger({ logLevel: 'DEBUG' }) }));
  });
  afterAll(async () => env.close());

  it.each([
    ['exchange', { exchange: { key: SECRET, secret: SECRET } }, 'overrides.exchange'],
    ['exchange.api_key', { exchange: { api_key: SECRET } }, 'overrides.exchange'],
    ['exchange.password/uid', { exchange: { password: SECRET, uid: SECRET } }, 'overrides.exchange'],
    ['ccxt_config', { ccxt_config: { apiKey: SECRET, secret: SECRET } }, 'overrides.ccxt_config'],
    ['private_key', { private_key: SECRET }, 'overrides.private_key'],
    ['strategy', { strategy: 'SomeOtherStrategy' }, 'overrides.strategy'],
    ['db_url', { db_url: `postgresql://u:${SECRET}@db/trades` }, 'overrides.db_url'],
    ['api_server', { api_server: { enabled: true, password: SECRET } }, 'overrides.api_server'],
    ['telegram', { telegram: { enabled: true, token: SECRET, chat_id: '1' } }, 'overrides.telegram'],
    ['webhook', { webhook: { enabled: true, url: `https://x.example/${SECRET}` } }, 'overrides.webhook'],
    ['dry_run', { dry_run: false }, 'overrides.dry_run'],
    ['user_data_dir', { user_data_dir: '/etc' }, 'overrides.user_data_dir'],
    ['initial_state', { initial_state: 'running' }, 'overrides.initial_state'],
    ['a credential inside an allowed opaque block', { sim: { api_key: SECRET } }, 'overrides.sim.api_key'],
    [
      'an unknown key inside an allowed block',
      { unfilledtimeout: { secret: SECRET } },
      'overrides.unfilledtimeout.secret',
    ],
  ])(
    'refuses an override of %s with a 400 naming the key, writes nothing and never echoes or logs the value (overrides put credentials and another strategy into Freqtrade and plaintext keys on the session item)',
    async (_case, overrides, field) => {
      // prepare
      const strategyId = fresh();
      const before = await env.snapshot();

      // act
      const { result: response, output } = await captureOutput(() =>
        start(strategyId, startBody({ overrides })),
      );

      // assess
      expect(response.statusCode, response.raw).toBe(400);
      expect(errorOf(response).details?.map((issue) => issue.field)).toContain(field);
      expect(response.raw).not.toContain(SECRET);
      expect(output).not.toContain(SECRET);
      expect(await env.snapshot()).toEqual(before);
    },
  );

  it('accepts the documented tuning keys and stores them on the session as given', async () => {
    // prepare
    const strategyId = fresh();
    const overrides = {
      stake_amount: 100,
      max_open_trades: 2,
      tradable_balance_ratio: 0.9,
      available_capital: 1000,
      minimal_roi: { '0': 0.05, '30': 0.02 },
      stoploss: -0.1,
      trailing_stop: true,
      trailing_stop_positive: 0.01,
      trailing_stop_positive_offset: 0.02,
      trailing_only_offset_is_reached: true,
      unfilledtimeout: { entry: 10, exit: 10, unit: 'minutes', exit_timeout_count: 0 },
      internals: { process_throttle_secs: 5 },
      sim: { tick_ms: 200, scenario: { name: 'crash', at_s: 0 } },
      tradai_demo: { entry: 'always' },
    };

    // act
    const response = await start(strategyId, startBody({ overrides }));

    // assess
    expect(response.statusCode, response.raw).toBe(202);
    const session = await env.deps.store.get(response.body.run_id as string);
    expect(session?.overrides).toEqual(overrides);
  });

  it('puts the overrides and risk limits into the audit record of a start (who changed what was not on record)', async () => {
    // prepare
    const strategyId = fresh();
    const overrides = { stake_amount: 50, stoploss: -0.05 };

    // act
    const response = await start(
      strategyId,
      startBody({ mode: 'live', risk_limits: LIVE_LIMITS, overrides }),
      { groups: LIVE_GROUPS },
    );

    // assess
    expect(response.statusCode, response.raw).toBe(202);
    const audit = await env.deps.audit.listByStrategy(strategyId);
    expect(audit.items).toHaveLength(1);
    expect(audit.items[0]).toMatchObject({ overrides, risk_limits: LIVE_LIMITS });
  });

  it.each([
    ['1e400 (Infinity once parsed)', 'max_daily_loss', '1e400'],
    ['1e300 (beyond DynamoDB numbers)', 'max_daily_loss', '1e300'],
    ['1e-200 (below DynamoDB numbers)', 'starting_capital', '1e-200'],
  ])('answers 400 naming the field, not 500, to a risk limit of %s', async (_case, limit, literal) => {
    // prepare
    const strategyId = fresh();
    const before = await env.snapshot();
    const raw = JSON.stringify(
      startBody({ mode: 'dry-run', risk_limits: { ...LIVE_LIMITS, [limit]: '__NUMBER__' } }),
    ).replace('"__NUMBER__"', literal);

    // act
    const response = await start(strategyId, raw);

    // assess
    expect(response.statusCode, response.raw).toBe(400);
    expect(errorOf(response).details?.map((issue) => issue.field)).toContain(`risk_limits.${limit}`);
    expect(await env.snapshot()).toEqual(before);
  });

  it.each([
    ['1e300 in an opaque block', { sim: { tick_ms: 1e300 } }, 'overrides.sim.tick_ms'],
    ['1e-200 in an opaque block', { sim: { drift: 1e-200 } }, 'overrides.sim.drift'],
    ['1e-200 as a stake', { stake_amount: 1e-200 }, 'overrides.stake_amount'],
  ])(
    'answers 400 naming the field, not 500, to an override of %s (DynamoDB cannot store it)',
    async (_case, overrides, field) => {
      // prepare
      const strategyId = fresh();
      const before = await env.snapshot();

      // act
      const response = await start(strategyId, startBody({ overrides }));

      // assess
      expect(response.statusCode, response.raw).toBe(400);
      expect(errorOf(response).details?.map((issue) => issue.field)).toContain(field);
      expect(await env.snapshot()).toEqual(before);
    },
  );

  it('answers 400, not 500, to a body nested deeper than DynamoDB allows (32 levels)', async () => {
    // prepare
    const strategyId = fresh();
    const before = await env.snapshot();
    let deep: unknown = 1;
    for (let level = 0; level < 40; level += 1) deep = { next: deep };

    // act
    const response = await start(strategyId, startBody({ overrides: { sim: deep } }));
    const hugeDepth = await start(strategyId, `{"reason":${'['.repeat(30_000)}${']'.repeat(30_000)}}`);

    // assess
    expect(response.statusCode, response.raw).toBe(400);
    expect(errorOf(response).code).toBe('too_deep');
    expect(hugeDepth.statusCode, hugeDepth.raw).toBe(400);
    expect(await env.snapshot()).toEqual(before);
  });

  it.each([
    ['just over 64 KB', 64 * 1024 + 1, false],
    ['1 MB', 1024 * 1024, false],
    ['5 MB, base64-encoded', 5 * 1024 * 1024, true],
  ])('answers a body of %s with 413 in the one JSON error shape', async (_case, bytes, base64) => {
    // prepare
    const text = JSON.stringify({ reason: 'x'.repeat(bytes) });
    const body = base64 ? Buffer.from(text).toString('base64') : text;

    // act
    const response = await start(fresh(), body, { isBase64Encoded: base64 });

    // assess
    expect(response.statusCode).toBe(413);
    expect(response.body).toEqual({
      error: { code: 'payload_too_large', message: expect.stringContaining('65536 bytes') },
    });
  });
});
