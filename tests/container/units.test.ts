import { createServer, type Server } from 'node:http';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { actionFor, targetOf } from '../../container/agent/control';
import { metricsTableOf, parseAgentEnv } from '../../container/agent/env';
import { FreqtradeClient } from '../../container/agent/freqtrade/client';
import { createLogger, Redactor } from '../../container/agent/logger';
import { RiskMonitor } from '../../container/agent/risk-monitor';
import { ManualClock } from '../../shared/domain/clock';
import type { RiskLimits, RiskSnapshot, RiskState } from '../../shared/domain/risk';

const ENV = {
  STRATEGY: 'PascalStrategy',
  STRATEGY_ID: 'pascal-btc',
  RUN_ID: 'live-pascal-btc-20260101-abc',
  TRADING_MODE: 'live',
  MLFLOW_TRACKING_URI: 'http://mlflow.tradai-dev.local:5000/mlflow',
  EXCHANGE_SECRET_NAME: 'tradai/exchange/binance',
  DYNAMODB_TABLE: 'tradai-workflow-state-dev',
  ARCTICDB_S3_URI: 's3://tradai-arcticdb-dev',
  S3_CONFIG_BUCKET: 'tradai-configs-dev',
};

describe('Agent env', () => {
  it('reads the seed minimal env with defaults', () => {
    const parsed = parseAgentEnv(ENV);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.options).toMatchObject({
      strategy: 'PascalStrategy',
      metricsTable: 'tradai-session-metrics-dev',
      heartbeatIntervalS: 15,
      riskPollIntervalS: 5,
      controlPollIntervalS: 5,
      health: { host: '127.0.0.1', port: 8004 },
      freqtradeCmd: 'freqtrade',
    });
    expect(parsed.options.attach).toBeUndefined();
  });

  it('falls back to FREQTRADE_STRATEGY and accepts decimal intervals', () => {
    const parsed = parseAgentEnv({
      ...ENV,
      STRATEGY: undefined,
      FREQTRADE_STRATEGY: 'Other',
      HEARTBEAT_INTERVAL_S: '0.05',
    });
    expect(parsed.ok && parsed.options.strategy).toBe('Other');
    expect(parsed.ok && parsed.options.heartbeatIntervalS).toBe(0.05);
  });

  it('names every bad variable in one line and never echoes a value', () => {
    const parsed = parseAgentEnv({
      ...ENV,
      STRATEGY: '',
      RUN_ID: 'BAD ID',
      HEARTBEAT_INTERVAL_S: '0.01',
      EXCHANGE_SECRET_NAME: undefined,
      FREQTRADE_API_URL: 'http://127.0.0.1:8080',
    });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.message.split('\n')).toHaveLength(1);
    for (const name of [
      'STRATEGY',
      'RUN_ID',
      'HEARTBEAT_INTERVAL_S',
      'EXCHANGE_SECRET_NAME',
      'FREQTRADE_API_URL',
    ]) {
      expect(parsed.message).toContain(name);
    }
    expect(parsed.message).not.toContain('BAD ID');
  });

  it('enables attach mode only with url, user and password together', () => {
    const parsed = parseAgentEnv({
      ...ENV,
      FREQTRADE_API_URL: 'http://127.0.0.1:8080',
      FREQTRADE_USERNAME: 'u',
      FREQTRADE_PASSWORD: 'p',
    });
    expect(parsed.ok && parsed.options.attach).toEqual({
      url: 'http://127.0.0.1:8080',
      username: 'u',
      password: 'p',
      auth: 'jwt',
    });
  });

  it('derives the metrics table name', () => {
    expect(metricsTableOf('tradai-workflow-state-prod')).toBe('tradai-session-metrics-prod');
    expect(metricsTableOf('sessions')).toBe('sessions-metrics');
  });

  it('either parses or refuses any environment, never throws (property)', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.constantFrom(...Object.keys(ENV), 'HEARTBEAT_INTERVAL_S', 'HEALTH_PORT'),
          fc.string(),
        ),
        (env) => {
          const parsed = parseAgentEnv({ ...ENV, ...env });
          expect(typeof parsed.ok).toBe('boolean');
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('Logger', () => {
  it('redacts registered secrets from every line, whatever field carries them', () => {
    const lines: string[] = [];
    const redactor = new Redactor();
    redactor.add('CANARY-abcdef123');
    const logger = createLogger({ redactor, write: (line) => lines.push(line) });
    logger.error('exchange said CANARY-abcdef123 is invalid', { detail: { nested: 'x CANARY-abcdef123 y' } });
    expect(lines.join()).not.toContain('CANARY-abcdef123');
    expect(lines.join()).toContain('[REDACTED]');
  });
});

describe('FreqtradeClient', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  const serve = async (handler: (method: string, path: string, auth: string) => [number, unknown]) => {
    const calls: string[] = [];
    server = createServer((request, response) => {
      const path = request.url ?? '';
      calls.push(`${request.method} ${path}`);
      const [status, body] = handler(request.method ?? 'GET', path, request.headers.authorization ?? '');
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    return { url: `http://127.0.0.1:${port}`, calls };
  };

  it('treats HTTP 502 {"error"} as a refusal (the bot is up), and an odd reply as a shape failure', async () => {
    const { url } = await serve((_m, path) =>
      path.endsWith('/balance') ? [502, { error: 'Error getting current tickers.' }] : [200, { state: 42 }],
    );
    const client = new FreqtradeClient({ url, username: 'u', password: 'p', auth: 'basic' });
    const balance = await client.balance();
    const config = await client.showConfig();
    expect(!balance.ok && balance.failure.kind).toBe('refused');
    expect(!config.ok && config.failure.kind).toBe('shape');
  });

  it('falls back from /pause to /stopentry on an older Freqtrade', async () => {
    const { url, calls } = await serve((_m, path) =>
      path.endsWith('/pause')
        ? [404, { detail: 'Not Found' }]
        : [200, { status: 'No more entries will occur from now. Run /reload_config to reset.' }],
    );
    const client = new FreqtradeClient({ url, username: 'u', password: 'p', auth: 'basic' });
    const result = await client.control('pause');
    expect(result.ok).toBe(true);
    expect(client.pausesByStopEntry).toBe(true);
    expect(calls).toEqual(['POST /api/v1/pause', 'POST /api/v1/stopentry']);
  });

  it('logs in once with basic credentials, then refreshes the access token on 401', async () => {
    let access = 'a1';
    const { url, calls } = await serve((_m, path, auth) => {
      if (path.endsWith('/token/login'))
        return auth.startsWith('Basic ') ? [200, { access_token: access, refresh_token: 'r1' }] : [401, {}];
      if (path.endsWith('/token/refresh')) {
        if (auth !== 'Bearer r1') return [401, {}];
        access = 'a2';
        return [200, { access_token: access }];
      }
      return auth === `Bearer ${access}` ? [200, { status: 'pong' }] : [401, { detail: 'Unauthorized' }];
    });
    const client = new FreqtradeClient({ url, username: 'u', password: 'p', auth: 'jwt' });
    await Promise.all([client.control('start'), client.control('stop')]);
    access = 'expired';
    const result = await client.control('start');
    expect(result.ok).toBe(true);
    expect(calls.filter((c) => c.endsWith('/token/login'))).toHaveLength(1);
    expect(calls.filter((c) => c.endsWith('/token/refresh'))).toHaveLength(1);
  });

  it('reports an unreachable API as such', async () => {
    const client = new FreqtradeClient({
      url: 'http://127.0.0.1:1',
      username: 'u',
      password: 'p',
      auth: 'basic',
    });
    const result = await client.health();
    expect(!result.ok && result.failure.kind).toBe('unreachable');
  });
});

const LIMITS: RiskLimits = {
  max_drawdown_pct: 10,
  max_daily_loss: 100,
  max_open_trades: 3,
  max_leverage: 3,
  max_monitor_failures: 3,
  breach_ladder: ['pause', 'flatten'],
  escalation_grace_s: 60,
};
const snapshot = (over: Partial<RiskSnapshot> = {}): RiskSnapshot => ({
  equity: 1000,
  peak_equity: 1000,
  drawdown_pct: 0,
  daily_pnl: 0,
  open_trades: 1,
  max_leverage: 1,
  exposure: 100,
  monitor_failures: 0,
  ...over,
});

describe('RiskMonitor', () => {
  it('latches a pause on breach and escalates after the grace period while the breach lasts and exposure has not fallen', () => {
    const monitor = new RiskMonitor(LIMITS, null, 'running');
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    const first = monitor.evaluate(snapshot({ drawdown_pct: 12 }), t0);
    const within = monitor.evaluate(snapshot({ drawdown_pct: 12 }), t0 + 30_000);
    const after = monitor.evaluate(snapshot({ drawdown_pct: 12 }), t0 + 61_000);
    expect(first.newStep).toBe('pause');
    expect(within.newStep).toBeNull();
    expect(after.newStep).toBe('flatten');
    expect(monitor.state(null)).toMatchObject({ state: 'breached', response: { step: 'flatten' } });
  });

  it('does not flatten 121 s after 3 failed polls paused it once the polls are healthy again (escalated after the breach had cleared)', () => {
    // prepare
    const clock = new ManualClock('2026-01-01T00:00:00.000Z');
    const monitor = new RiskMonitor(
      { ...LIMITS, breach_ladder: ['pause', 'flatten', 'stop'], escalation_grace_s: 120 },
      null,
      'running',
    );
    const first = monitor.evaluate(snapshot({ monitor_failures: 3 }), clock.now());
    // act
    clock.advance(121_000);
    const later = monitor.evaluate(snapshot(), clock.now());
    clock.advance(600_000);
    const muchLater = monitor.evaluate(snapshot(), clock.now());
    // assess
    expect(first.newStep).toBe('pause');
    expect([later.newStep, muchLater.newStep]).toEqual([null, null]);
    expect(monitor.response?.step).toBe('pause');
  });

  it("records an operator's resume with the daily PnL of the next poll, and a restarted agent keeps it", () => {
    // prepare
    const day = '2026-01-01';
    const monitor = new RiskMonitor(LIMITS, null, 'running');
    monitor.observeDesired('running', `${day}T08:00:00.000Z`);
    monitor.observeDesired('paused', `${day}T09:00:00.000Z`);
    // act
    monitor.observeDesired('running', `${day}T10:00:00.000Z`);
    monitor.evaluate(snapshot({ daily_pnl: -600 }), Date.parse(`${day}T10:00:05.000Z`));
    monitor.evaluate(snapshot({ daily_pnl: -650 }), Date.parse(`${day}T10:00:10.000Z`));
    const state = monitor.state(snapshot({ daily_pnl: -650 }));
    const restarted = new RiskMonitor(LIMITS, state, 'running');
    // assess
    expect(state.resumed).toEqual({ at: `${day}T10:00:00.000Z`, daily_pnl: -600 });
    expect(restarted.state(null).resumed).toEqual(state.resumed);
  });

  it('sees a pause and resume between two reads by the new stamp of the intent', () => {
    // prepare
    const day = '2026-01-01';
    const monitor = new RiskMonitor(LIMITS, null, 'running');
    monitor.observeDesired('running', `${day}T08:00:00.000Z`);
    // act
    monitor.observeDesired('running', `${day}T10:00:00.000Z`);
    monitor.evaluate(snapshot({ daily_pnl: -42 }), Date.parse(`${day}T10:00:05.000Z`));
    // assess
    expect(monitor.state(null).resumed).toEqual({ at: `${day}T10:00:00.000Z`, daily_pnl: -42 });
  });

  it('records no resume for a desired_state that was running all along', () => {
    const monitor = new RiskMonitor(LIMITS, null, 'running');
    monitor.observeDesired('running', '2026-01-01T08:00:00.000Z');
    monitor.observeDesired('running', '2026-01-01T08:00:00.000Z');
    monitor.evaluate(snapshot({ daily_pnl: -42 }), Date.parse('2026-01-01T10:00:05.000Z'));

    expect(monitor.state(null).resumed ?? null).toBeNull();
  });

  it('is not cleared by a desired_state that was running all along, only by pause-then-resume after the breach', () => {
    const monitor = new RiskMonitor(LIMITS, null, 'running');
    monitor.evaluate(snapshot({ daily_pnl: -150 }), Date.now());
    expect(monitor.observeDesired('running')).toBe(false);
    expect(monitor.latched).toBe(true);
    expect(monitor.observeDesired('paused')).toBe(false);
    expect(monitor.observeDesired('running')).toBe(true);
    expect(monitor.latched).toBe(false);
  });

  it('is cleared by a resume stamped after the breach even when the pause in between was never seen', () => {
    const monitor = new RiskMonitor(LIMITS, null, 'running');
    const breachAt = Date.parse('2026-01-01T00:00:00Z');
    monitor.evaluate(snapshot({ daily_pnl: -150 }), breachAt);

    const before = monitor.observeDesired('running', '2025-12-31T23:59:59.000Z');
    const after = monitor.observeDesired('running', '2026-01-01T00:00:07.000Z');

    expect(before).toBe(false);
    expect(after).toBe(true);
    expect(monitor.latched).toBe(false);
  });

  it('inherits the latch a previous agent reported', () => {
    const previous: RiskState = {
      state: 'breached',
      snapshot: snapshot(),
      breaches: [{ rule: 'drawdown', limit: 10, observed: 12, message: 'dd' }],
      response: { step: 'pause', at: '2026-01-01T00:00:00.000Z', exposure_at_step: 100 },
      breached_at: '2026-01-01T00:00:00.000Z',
    };
    const monitor = new RiskMonitor(LIMITS, previous, 'running');
    expect(monitor.response?.step).toBe('pause');
    expect(monitor.state(snapshot()).breaches).toHaveLength(1);
  });
});

describe('Control: target state', () => {
  it('lets the most restrictive reason win', () => {
    expect(targetOf({ desired: 'running', riskStep: null, failClosed: false })).toBe('running');
    expect(targetOf({ desired: 'running', riskStep: 'pause', failClosed: false })).toBe('paused');
    expect(targetOf({ desired: 'running', riskStep: null, failClosed: true })).toBe('paused');
    expect(targetOf({ desired: 'paused', riskStep: 'stop', failClosed: false })).toBe('stopped');
    expect(targetOf({ desired: 'stopped', riskStep: null, failClosed: false })).toBe('stopped');
  });

  it('maps observed and target states to the REST call', () => {
    expect(actionFor('running', 'paused')).toBe('pause');
    expect(actionFor('paused', 'running')).toBe('start');
    expect(actionFor('paused', 'paused')).toBeNull();
    expect(actionFor('unknown', 'paused')).toBe('pause');
    expect(actionFor('unknown', 'running')).toBeNull();
  });
});
