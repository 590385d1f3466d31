import { describe, expect, it } from 'vitest';
import { agentReportAlert, pausePagedByItsCause, transitionAlert } from '../../../shared/domain/alerts';
import {
  buildSession,
  NewSessionSchema,
  type OpenTrade,
  type Session,
  type SessionHealth,
} from '../../../shared/domain/session';
import { classifySessionChange } from '../../../shared/domain/stream';
import { LIMITS } from '../../adapters/support/workflow-fixtures';

const NOW = Date.parse('2026-03-02T10:00:00.000Z');
const iso = (secondsAgo: number) => new Date(NOW - secondsAgo * 1000).toISOString();

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
  agent_id: 'agent-1',
  exchange: 'binance',
  ...overrides,
});

const trade = (tradeId: number, pair: string): OpenTrade => ({
  trade_id: tradeId,
  pair,
  is_short: false,
  amount: 0.5,
  open_rate: 100,
  current_rate: 101,
  stake_amount: 50,
  leverage: 1,
  profit_abs: 0.5,
  profit_ratio: 0.01,
  open_date: iso(300),
});

const health = (extra: Partial<SessionHealth> = {}): SessionHealth => ({
  cpu_percent: 1,
  memory_mb: 100,
  exchange_connected: true,
  last_trade_at: null,
  freqtrade_state: 'running',
  loop_alive: true,
  last_process_at: iso(5),
  freqtrade_restarts: 0,
  ...extra,
});

/** A heartbeat later: the same session with a newer seq and the given health. */
const beat = (session: Session, extra: Partial<SessionHealth>): Session => ({
  ...session,
  heartbeat_seq: session.heartbeat_seq + 1,
  version: session.version + 1,
  health: health(extra),
});

describe('Domain: pages for what the agent reports (stops, Freqtrade start-up and crashes, takeover, fail-closed)', () => {
  const running = base({ status: 'running', heartbeat_seq: 5, health: health() });

  it.each<[string, Partial<SessionHealth>, string | undefined]>([
    ['nothing new', {}, undefined],
    [
      'start-up failure breach',
      {
        freqtrade_state: 'unknown',
        loop_alive: false,
        start_failure: {
          restarts: 5,
          window_s: 600,
          since: iso(600),
          last_exit: 'code 1',
          action: 'restarts_stopped',
        },
      },
      'start_failure',
    ],
    [
      'trades missing at takeover',
      {
        missing_trades: {
          trade_ids: [7, 9],
          expected: 3,
          found: 1,
          account: 'binance via tradai/exchange/prod',
          action: 'entries_paused',
          at: iso(1),
        },
      },
      'missing_trades',
    ],
    [
      'fail-closed process stop',
      {
        fail_closed: { command: 'pause', failure: 'HTTP 502', action: 'process_stopped', at: iso(1) },
      },
      'fail_closed',
    ],
    ['a Freqtrade crash, restarted', { freqtrade_restarts: 1, restarts_in_window: 1 }, 'freqtrade_restart'],
    [
      'a Freqtrade crash, reported before the new process answers',
      {
        freqtrade_restarts: 1,
        restarts_in_window: 1,
        last_process_at: null,
        loop_alive: false,
        previousHadLoop: true,
      } as never,
      'freqtrade_restart',
    ],
    [
      'restarts of a Freqtrade that never had a trading loop (start-up failures, paged once by the breach)',
      { freqtrade_restarts: 1, restarts_in_window: 1, last_process_at: null, loop_alive: false },
      undefined,
    ],
  ])('classifies %s', (_case, extra, expected) => {
    // prepare
    // The previous heartbeat had a trading loop unless the case is about one that never had any.
    const hadLoop =
      (extra as { previousHadLoop?: boolean }).previousHadLoop ?? extra.last_process_at !== null;
    const { previousHadLoop: _ignored, ...now } = extra as Partial<SessionHealth> & {
      previousHadLoop?: boolean;
    };
    const previous = {
      ...running,
      health: hadLoop ? health() : health({ last_process_at: null, loop_alive: false }),
    };

    // act
    const effects = classifySessionChange(previous, beat(previous, now));

    // assess
    const reports = effects.filter((effect) => effect.type === 'agent_report');
    expect(reports.map((effect) => effect.type === 'agent_report' && effect.report)).toEqual(
      expected === undefined ? [] : [expected],
    );
  });

  it('warns on a crash that fell between a heartbeat that saw the dead loop and the restart (no page when neither heartbeat had a loop)', () => {
    // prepare: the heartbeat after the crash (loop gone, no restart yet), then the restart's own heartbeat
    const trading = beat(running, { freqtrade_crashes: 0 });
    const loopGone = beat(trading, { loop_alive: false, last_process_at: null, freqtrade_crashes: 0 });
    const restarted = beat(loopGone, {
      loop_alive: false,
      last_process_at: null,
      freqtrade_restarts: 1,
      restarts_in_window: 1,
      freqtrade_crashes: 1,
    });

    // act
    const effects = [trading, loopGone, restarted].flatMap((now, index, beats) =>
      classifySessionChange(index === 0 ? running : beats[index - 1], now),
    );

    // assess
    const reports = effects.filter((effect) => effect.type === 'agent_report');
    expect(reports.map((effect) => effect.type === 'agent_report' && effect.report)).toEqual([
      'freqtrade_restart',
    ]);
  });

  it('pages no crash for restarts of a Freqtrade that never reached a trading loop, as the agent counts them', () => {
    // prepare
    const starting = beat(running, { loop_alive: false, last_process_at: null, freqtrade_crashes: 0 });

    // act
    const effects = classifySessionChange(
      starting,
      beat(starting, {
        loop_alive: false,
        last_process_at: iso(1),
        freqtrade_restarts: 2,
        freqtrade_crashes: 0,
      }),
    );

    // assess
    expect(effects.filter((effect) => effect.type === 'agent_report')).toEqual([]);
  });

  it('reports a fail-closed stop once per agent and command, even when the agent restamps it', () => {
    // prepare
    const report = { command: 'pause' as const, failure: 'HTTP 503', action: 'process_stopped' as const };
    const first = beat(running, { fail_closed: { ...report, at: iso(2) } });

    // act
    const restamped = classifySessionChange(first, beat(first, { fail_closed: { ...report, at: iso(1) } }));

    // assess
    expect(restamped.filter((effect) => effect.type === 'agent_report')).toEqual([]);
  });

  it('reports each incident once: the next heartbeat repeating the same report is not a new incident', () => {
    // prepare
    const failClosed = {
      fail_closed: {
        command: 'stop' as const,
        failure: 'timeout',
        action: 'process_killed' as const,
        at: iso(1),
      },
    };
    const first = beat(running, failClosed);

    // act
    const again = classifySessionChange(first, beat(first, failClosed));

    // assess
    expect(again.filter((effect) => effect.type === 'agent_report')).toEqual([]);
  });

  it('pages a start-up failure CRITICAL, naming the restarts and that entries are off', () => {
    // act
    const alert = agentReportAlert(
      'start_failure',
      beat(running, {
        start_failure: {
          restarts: 11,
          window_s: 600,
          since: iso(600),
          last_exit: 'code 1',
          action: 'restarts_stopped',
        },
      }),
      NOW,
    );

    // assess
    expect(alert?.severity).toBe('CRITICAL');
    expect(alert?.message).toContain('11 restarts');
    expect(alert?.message).toContain('code 1');
  });

  it('pages trades missing at takeover CRITICAL, naming the trades and the account', () => {
    // act
    const alert = agentReportAlert(
      'missing_trades',
      beat(running, {
        missing_trades: {
          trade_ids: [7, 9],
          expected: 3,
          found: 1,
          account: 'binance via tradai/exchange/prod',
          action: 'entries_paused',
          at: iso(1),
        },
      }),
      NOW,
    );

    // assess
    expect(alert?.severity).toBe('CRITICAL');
    expect(alert?.message).toContain('#7, #9');
    expect(alert?.message).toContain('binance via tradai/exchange/prod');
  });

  it.each<[string, 'process_stopped' | 'process_stop_failed' | 'attach_mode_no_process', string]>([
    ['stopped', 'process_stopped', 'stopped the Freqtrade process'],
    ['could not stop', 'process_stop_failed', 'may still be trading'],
    ['does not own', 'attach_mode_no_process', 'by hand'],
  ])(
    'pages a fail-closed stop CRITICAL, naming the failed command, when the agent %s the process',
    (_case, action, said) => {
      // act
      const alert = agentReportAlert(
        'fail_closed',
        beat(running, {
          fail_closed: { command: 'pause', failure: 'HTTP 502 Bad Gateway', action, at: iso(1) },
        }),
        NOW,
      );

      // assess
      expect(alert?.severity).toBe('CRITICAL');
      expect(alert?.message).toContain('/pause');
      expect(alert?.message).toContain('HTTP 502 Bad Gateway');
      expect(alert?.message).toContain(said);
    },
  );

  it('warns on a Freqtrade crash with the restart count, and escalates when it repeats', () => {
    // act
    const once = agentReportAlert(
      'freqtrade_restart',
      beat(running, { freqtrade_restarts: 1, restarts_in_window: 1 }),
      NOW,
    );
    const repeated = agentReportAlert(
      'freqtrade_restart',
      beat(running, { freqtrade_restarts: 4, restarts_in_window: 3 }),
      NOW,
    );

    // assess
    expect(once?.severity).toBe('WARNING');
    expect(once?.message).toContain('restart 1');
    expect(repeated?.severity).toBe('CRITICAL');
    expect(repeated?.message).toContain('3 in the current window');
    expect(once?.dedup_id).not.toBe(repeated?.dedup_id);
  });

  it.each<[string, Partial<Session>, boolean]>([
    [
      'paused by the startup guard, desired running',
      {
        health: health({
          freqtrade_state: 'paused',
          missing_trades: {
            trade_ids: [1],
            expected: 1,
            found: 0,
            account: 'binance',
            action: 'entries_paused',
            at: iso(1),
          },
        }),
      },
      true,
    ],
    [
      'paused by the operator',
      { desired_state: 'paused', health: health({ freqtrade_state: 'paused' }) },
      false,
    ],
    ['paused with no report of the agent', { health: health({ freqtrade_state: 'paused' }) }, false],
  ])('does not page a pause a second time when its cause paged already: %s', (_case, overrides, skipped) => {
    // act + assess
    expect(pausePagedByItsCause('running', base({ status: 'paused', ...overrides }))).toBe(skipped);
  });

  it.each<[string, Partial<Session>, string, string[]]>([
    [
      'a live stop that left positions open (paged INFO "nothing; for information")',
      {
        stop_outcome: {
          plan: 'operator_stop',
          positions: 'left_open',
          open_trade_ids: [3, 4],
          detail: 'stop requested',
          at: iso(1),
        },
        open_trades: [trade(3, 'BTC/USDT'), trade(4, 'ETH/USDT')],
      },
      'WARNING',
      ['#3 BTC/USDT', '#4 ETH/USDT', 'Close or hedge'],
    ],
    [
      'a live stop whose flatten failed',
      {
        flatten_on_stop: true,
        stop_outcome: {
          plan: 'operator_stop_flatten',
          positions: 'flatten_failed',
          open_trade_ids: [5],
          detail: 'flatten left 1 open',
          at: iso(1),
        },
        open_trades: [trade(5, 'SOL/USDT')],
      },
      'CRITICAL',
      ['#5 SOL/USDT', 'FLATTEN FAILED'],
    ],
    [
      'a live stop whose flatten failed without the agent reading the trades',
      {
        flatten_on_stop: true,
        stop_outcome: {
          plan: 'operator_stop_flatten',
          positions: 'flatten_failed',
          open_trade_ids: [],
          detail: 'flatten left unknown open',
          at: iso(1),
        },
        open_trades: [trade(11, 'DOGE/USDT')],
      },
      'CRITICAL',
      ['#11 DOGE/USDT', 'FLATTEN FAILED'],
    ],
    [
      'a forced stop of a hung agent whose last heartbeat had open trades',
      {
        status_reason: 'forced stop: the agent did not confirm the stop within 120 s',
        open_trades: [trade(6, 'XRP/USDT')],
      },
      'WARNING',
      ['#6 XRP/USDT', 'not confirmed'],
    ],
    [
      'a forced stop with flatten asked, never confirmed',
      { flatten_on_stop: true, open_trades: [trade(8, 'ADA/USDT')] },
      'CRITICAL',
      ['#8 ADA/USDT'],
    ],
    [
      'a stop that flattened everything',
      {
        stop_outcome: {
          plan: 'operator_stop_flatten',
          positions: 'flattened',
          open_trade_ids: [],
          detail: 'ok',
          at: iso(1),
        },
      },
      'INFO',
      ['no open positions'],
    ],
    [
      'a stop with nothing open',
      {
        stop_outcome: {
          plan: 'operator_stop',
          positions: 'none',
          open_trade_ids: [],
          detail: 'ok',
          at: iso(1),
        },
      },
      'INFO',
      ['no open positions'],
    ],
  ])('pages %s by what it left on the exchange', (_case, overrides, severity, contains) => {
    // act
    const alert = transitionAlert('stopping', base({ status: 'stopped', ...overrides }), NOW);

    // assess
    expect(alert.severity).toBe(severity);
    expect(alert.kind).toBe('status.stopped');
    for (const text of contains) expect(alert.message).toContain(text);
  });
});
