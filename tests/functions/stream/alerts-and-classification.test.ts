import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  breachAlert,
  pausePagedByItsCause,
  SUBJECT_MAX,
  transitionAlert,
} from '../../../shared/domain/alerts';
import { AlertSchema } from '../../../shared/domain/ports';
import {
  buildSession,
  NewSessionSchema,
  SESSION_STATUSES,
  type Session,
  SessionHealthSchema,
} from '../../../shared/domain/session';
import { classifySessionChange, entriesHeldOf } from '../../../shared/domain/stream';
import { healthySnapshot, LIMITS } from '../../adapters/support/workflow-fixtures';

const NOW = Date.parse('2026-03-02T10:00:00.000Z');

const base = (overrides: Partial<Session> = {}): Session => ({
  ...buildSession(
    NewSessionSchema.parse({
      run_id: 'live-pascal-20260302100000-abc',
      strategy_id: 'pascal',
      strategy_name: 'PascalStrategy',
      trading_mode: 'live',
      risk_limits: LIMITS,
      requested_by: 'ops',
      trace_id: 't-1',
    }),
    NOW - 600_000,
  ),
  ...overrides,
});

const withSnapshot = (session: Session, drawdown: number): Session => ({
  ...session,
  risk: {
    state: 'ok',
    snapshot: { ...healthySnapshot, drawdown_pct: drawdown },
    breaches: [],
    response: null,
    breached_at: null,
  },
});

describe('Domain: alerts', () => {
  it('keeps every transition alert valid for SNS, whatever the names and reasons', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SESSION_STATUSES),
        fc.constantFrom(...SESSION_STATUSES),
        fc.string({ maxLength: 1024 }),
        fc.string({ minLength: 1, maxLength: 128 }),
        (from, to, reason, name) => {
          const session = base({ status: to, status_reason: reason, strategy_name: name, version: 3 });
          const alert = transitionAlert(from, session, NOW);
          expect(AlertSchema.safeParse(alert).success).toBe(true);
          expect(alert.subject.length).toBeLessThanOrEqual(SUBJECT_MAX);
          expect(alert.subject).not.toMatch(/[\r\n]/);
        },
      ),
    );
  });

  it('pages CRITICAL on stale and failed, WARNING on recovery, INFO otherwise', () => {
    // assess
    expect(transitionAlert('running', base({ status: 'stale' }), NOW).severity).toBe('CRITICAL');
    expect(transitionAlert('running', base({ status: 'failed', agent_id: 'agent-1' }), NOW).severity).toBe(
      'CRITICAL',
    );
    expect(transitionAlert('stale', base({ status: 'running' }), NOW)).toMatchObject({
      severity: 'WARNING',
      kind: 'status.recovered',
    });
    expect(transitionAlert('running', base({ status: 'paused' }), NOW).severity).toBe('INFO');
  });

  it.each<[string, Partial<Session>, string, boolean]>([
    ['a live run an agent claimed', { trading_mode: 'live', agent_id: 'agent-1' }, 'CRITICAL', true],
    [
      'a live run no agent ever claimed (account busy, no container)',
      { trading_mode: 'live' },
      'WARNING',
      false,
    ],
    [
      'a dry-run that was trading',
      { trading_mode: 'dry-run', agent_id: 'agent-1', started_at: new Date(NOW).toISOString() },
      'WARNING',
      false,
    ],
    [
      'a dry-run interrupted while launching',
      { trading_mode: 'dry-run', agent_id: 'agent-1' },
      'INFO',
      false,
    ],
    ['a backtest', { trading_mode: 'backtest', agent_id: 'agent-1' }, 'INFO', false],
  ])(
    'pages a failed session by what it may have left on the exchange: %s (CRITICAL check the exchange account for a dry-run)',
    (_case, overrides, severity, sendsToAccount) => {
      // act
      const alert = transitionAlert('launching', base({ status: 'failed', ...overrides }), NOW);

      // assess
      expect(alert.severity).toBe(severity);
      expect(alert.message.includes('exchange account')).toBe(sendsToAccount);
    },
  );

  it('writes a body an on-call person can act on', () => {
    // prepare
    const session = base({
      status: 'stale',
      status_reason: 'no heartbeat for 200 s (threshold 180 s)',
      last_heartbeat: new Date(NOW - 200_000).toISOString(),
      metrics: { total_trades: 3, win_rate: 0.5, pnl_today: -42.5, pnl_total: 100, stake_currency: 'USDT' },
    });

    // act
    const alert = transitionAlert('running', session, NOW, ['nothing automatic']);

    // assess
    for (const text of [
      'Strategy:   pascal (PascalStrategy, live)',
      'Run:        live-pascal-20260302100000-abc',
      'running -> stale',
      'no heartbeat for 200 s',
      '(200 s ago)',
      'today -42.50 USDT',
      'Done:       nothing automatic',
      'To do:',
    ]) {
      expect(alert.message).toContain(text);
    }
  });

  it('names the broken limits in a breach alert', () => {
    // prepare
    const alert = breachAlert(
      base(),
      [{ rule: 'drawdown', limit: 10, observed: 15, message: 'equity drawdown 15% reached the 10% limit' }],
      NOW,
      ['paused'],
    );

    // assess
    expect(alert).toMatchObject({ severity: 'CRITICAL', kind: 'risk.breach' });
    expect(alert.subject).toContain('drawdown');
    expect(alert.message).toContain('equity drawdown 15%');
  });
});

describe('Domain: session change classification', () => {
  it('releases the launch only once launching has both a token and a heartbeat', () => {
    // prepare
    const launching = base({ status: 'launching' });
    const withToken = { ...launching, launch_token: 'tok' };
    const withBoth = { ...withToken, last_heartbeat: new Date(NOW).toISOString(), heartbeat_seq: 1 };

    // assess
    expect(classifySessionChange(launching, withToken)).toEqual([]);
    expect(classifySessionChange(withToken, withBoth)).toEqual([{ type: 'release_launch', token: 'tok' }]);
  });

  it('reports a breach only when the previous image was not breached', () => {
    // prepare
    const running = base({ status: 'running' });
    const ok = withSnapshot(running, 1);
    const breached = withSnapshot(running, 12);

    // assess
    expect(classifySessionChange(ok, breached).map((effect) => effect.type)).toEqual(['risk_breach']);
    expect(classifySessionChange(breached, { ...breached, heartbeat_seq: 9 })).toEqual([]);
  });

  it('recovers stale to what the operator wants and tears down on every end state', () => {
    // prepare
    const stale = base({ status: 'stale', heartbeat_seq: 4 });

    // assess
    expect(classifySessionChange(stale, { ...stale, heartbeat_seq: 5, desired_state: 'paused' })).toEqual([
      { type: 'recover_stale', to: 'paused' },
    ]);
    for (const end of ['stopped', 'failed', 'completed'] as const) {
      expect(
        classifySessionChange(base({ status: 'running' }), base({ status: end })).map((e) => e.type),
      ).toContain('teardown');
    }
    expect(classifySessionChange(undefined, base())).toEqual([]);
  });

  it('moves the status between running and paused only when a heartbeat confirms what Freqtrade does', () => {
    // prepare
    const health = { cpu_percent: 1, memory_mb: 100, exchange_connected: true, last_trade_at: null };
    const running = base({
      status: 'running',
      heartbeat_seq: 7,
      desired_state: 'paused',
      health: { ...health, freqtrade_state: 'running' },
    });
    const confirmedPaused = {
      ...running,
      heartbeat_seq: 8,
      health: { ...health, freqtrade_state: 'paused' as const },
    };
    const paused = base({
      status: 'paused',
      heartbeat_seq: 9,
      health: { ...health, freqtrade_state: 'paused' },
    });

    // act
    const asked = classifySessionChange(base({ status: 'running', heartbeat_seq: 7 }), running);
    const confirmed = classifySessionChange(running, confirmedPaused);
    const resumed = classifySessionChange(paused, {
      ...paused,
      heartbeat_seq: 10,
      health: { ...health, freqtrade_state: 'running' },
    });
    const unknown = classifySessionChange(running, {
      ...running,
      heartbeat_seq: 8,
      health: { ...health, freqtrade_state: 'unknown' },
    });

    // assess
    expect(asked).toEqual([]);
    expect(confirmed).toEqual([{ type: 'confirm_state', from: 'running', to: 'paused' }]);
    expect(resumed).toEqual([{ type: 'confirm_state', from: 'paused', to: 'running' }]);
    expect(unknown).toEqual([]);
  });

  it("leaves the status alone when a draining agent reports its handover pause (restart paged 'paused' then 'resumed')", () => {
    // prepare
    const health = { cpu_percent: 1, memory_mb: 100, exchange_connected: true, last_trade_at: null };
    const running = base({
      status: 'running',
      heartbeat_seq: 7,
      health: { ...health, freqtrade_state: 'running' },
    });

    // act
    const effects = classifySessionChange(running, {
      ...running,
      heartbeat_seq: 8,
      health: { ...health, freqtrade_state: 'paused', draining: true },
    });

    // assess
    expect(effects).toEqual([]);
  });

  it.each(['fail_closed', 'takeover_guard', 'draining'] as const)(
    "leaves the status alone when the agent reports entries held by its own guard (%s) (its pause paged 'paused', then 'resumed')",
    (reason) => {
      // prepare
      const health = { cpu_percent: 1, memory_mb: 100, exchange_connected: true, last_trade_at: null };
      const running = base({
        status: 'running',
        heartbeat_seq: 7,
        health: { ...health, freqtrade_state: 'running' },
      });

      // act
      const held = classifySessionChange(running, {
        ...running,
        heartbeat_seq: 8,
        health: { ...health, freqtrade_state: 'paused', entries_held: reason },
      });
      const released = classifySessionChange(running, {
        ...running,
        heartbeat_seq: 8,
        health: { ...health, freqtrade_state: 'paused', entries_held: null },
      });

      // assess
      expect(held).toEqual([]);
      expect(released).toEqual([{ type: 'confirm_state', from: 'running', to: 'paused' }]);
    },
  );

  it('reads entries_held from new items and draining from items written before it', () => {
    // prepare
    const health = { cpu_percent: 1, memory_mb: 100, exchange_connected: true, last_trade_at: null };

    // act / assess
    expect(entriesHeldOf(SessionHealthSchema.parse({ ...health, entries_held: 'fail_closed' }))).toBe(
      'fail_closed',
    );
    expect(entriesHeldOf(SessionHealthSchema.parse({ ...health, draining: true }))).toBe('draining');
    expect(entriesHeldOf(SessionHealthSchema.parse(health))).toBeNull();
    expect(SessionHealthSchema.safeParse({ ...health, entries_held: 'coffee_break' }).success).toBe(false);
  });

  it("does not page the paused status a breach caused (CRITICAL, then INFO 'paused'), and pages an operator pause", () => {
    // prepare
    const breached = withSnapshot(base({ status: 'paused', desired_state: 'paused' }), 15);
    const operator = withSnapshot(base({ status: 'paused', desired_state: 'paused' }), 1);

    // act / assess
    expect(pausePagedByItsCause('running', breached)).toBe(true);
    expect(pausePagedByItsCause('running', operator)).toBe(false);
  });
});
