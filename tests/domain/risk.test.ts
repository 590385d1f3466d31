import { describe, expect, it } from 'vitest';
import {
  buildSession,
  classifySessionChange,
  DEFAULT_RISK_LIMITS,
  decideHighLossPause,
  decideRiskResponse,
  drawdownPct,
  evaluateRisk,
  ManualClock,
  NewSessionSchema,
  type RiskLimits,
  RiskLimitsSchema,
  type RiskSnapshot,
  type RiskState,
  RiskStateSchema,
  validateDeploymentBounds,
} from '../../shared/domain';

const limits: RiskLimits = {
  max_drawdown_pct: 10,
  max_daily_loss: 500,
  max_open_trades: 3,
  max_leverage: 2,
  max_monitor_failures: 3,
  breach_ladder: ['pause', 'flatten', 'stop'],
  escalation_grace_s: 60,
};

const calm: RiskSnapshot = {
  equity: 10_000,
  peak_equity: 10_000,
  drawdown_pct: 0,
  daily_pnl: 12,
  open_trades: 2,
  max_leverage: 1,
  exposure: 400,
  monitor_failures: 0,
};

describe('Domain: risk', () => {
  it('reports no breach for a calm snapshot', () => {
    expect(evaluateRisk(limits, calm)).toEqual({ breached: false, breaches: [] });
  });

  it.each([
    ['drawdown', { drawdown_pct: 10 }],
    ['daily_loss', { daily_pnl: -500 }],
    ['open_trades', { open_trades: 4 }],
    ['leverage', { max_leverage: 2.5 }],
    ['monitor_failures', { monitor_failures: 3 }],
  ] as const)('names the %s rule when its limit is reached', (rule, change) => {
    const assessment = evaluateRisk(limits, { ...calm, ...change });

    expect(assessment.breached).toBe(true);
    expect(assessment.breaches.map((breach) => breach.rule)).toEqual([rule]);
    expect(assessment.breaches[0]?.message).toMatch(/limit/);
  });

  it('reports every rule breached at once', () => {
    const assessment = evaluateRisk(limits, {
      ...calm,
      drawdown_pct: 30,
      daily_pnl: -900,
      open_trades: 9,
      max_leverage: 5,
      monitor_failures: 7,
    });

    expect(assessment.breaches).toHaveLength(5);
  });

  it('measures drawdown from the peak and never below zero', () => {
    expect(drawdownPct(10_000, 9_000)).toBeCloseTo(10);
    expect(drawdownPct(10_000, 11_000)).toBe(0);
    expect(drawdownPct(0, 5)).toBe(0);
  });

  it('refuses live deployment without explicit limits', () => {
    expect(validateDeploymentBounds(undefined, 'live')).toEqual({
      ok: false,
      violations: [
        { field: 'risk_limits', message: expect.stringContaining('live mode requires explicit risk limits') },
      ],
    });
  });

  it('gives dry-run the default limits when none are given', () => {
    expect(validateDeploymentBounds(undefined, 'dry-run')).toEqual({ ok: true, limits: DEFAULT_RISK_LIMITS });
  });

  it('refuses limits beyond the deployment bounds, naming each field', () => {
    const result = validateDeploymentBounds({ ...limits, max_leverage: 20, max_drawdown_pct: 80 }, 'live');

    expect(result.ok).toBe(false);
    expect(!result.ok && result.violations.map((violation) => violation.field).sort()).toEqual([
      'risk_limits.max_drawdown_pct',
      'risk_limits.max_leverage',
    ]);
  });

  it('refuses unknown and malformed limit fields with their path', () => {
    const result = validateDeploymentBounds({ ...limits, max_daily_loss: -1, yolo: true }, 'live');

    expect(!result.ok && result.violations.map((violation) => violation.field).sort()).toEqual([
      'risk_limits',
      'risk_limits.max_daily_loss',
    ]);
  });

  it('refuses a ladder that does not start with pause', () => {
    const result = validateDeploymentBounds({ ...limits, breach_ladder: ['flatten'] }, 'dry-run');

    expect(!result.ok && result.violations[0]?.field).toBe('risk_limits.breach_ladder');
  });
});

describe('Domain: breach ladder', () => {
  const t0 = Date.parse('2026-01-01T00:00:00.000Z');
  const breach = evaluateRisk(limits, { ...calm, drawdown_pct: 12 });

  it('pauses first on a breach', () => {
    expect(decideRiskResponse(limits, breach, null, 400, t0)).toEqual({
      step: 'pause',
      at: '2026-01-01T00:00:00.000Z',
      exposure_at_step: 400,
    });
  });

  it('does nothing without a breach', () => {
    expect(decideRiskResponse(limits, { breached: false, breaches: [] }, null, 400, t0)).toBeNull();
  });

  it('holds the step while the grace period runs', () => {
    const paused = decideRiskResponse(limits, breach, null, 400, t0);

    expect(decideRiskResponse(limits, breach, paused, 400, t0 + 59_000)).toBe(paused);
  });

  it('escalates to flatten, then stop, when exposure has not fallen after each grace period', () => {
    const paused = decideRiskResponse(limits, breach, null, 400, t0);
    const flattened = decideRiskResponse(limits, breach, paused, 400, t0 + 60_000);
    const stopped = decideRiskResponse(limits, breach, flattened, 400, t0 + 120_000);

    expect([paused?.step, flattened?.step, stopped?.step]).toEqual(['pause', 'flatten', 'stop']);
  });

  it('does not escalate when exposure fell', () => {
    const paused = decideRiskResponse(limits, breach, null, 400, t0);

    expect(decideRiskResponse(limits, breach, paused, 100, t0 + 60_000)?.step).toBe('pause');
  });

  it('stays latched after the breach clears, until the operator resumes', () => {
    const paused = decideRiskResponse(limits, breach, null, 400, t0);

    expect(decideRiskResponse(limits, { breached: false, breaches: [] }, paused, 0, t0 + 600_000)).toBe(
      paused,
    );
  });

  it('never goes beyond the configured ladder', () => {
    const pauseOnly = { ...limits, breach_ladder: ['pause' as const] };
    const paused = decideRiskResponse(pauseOnly, breach, null, 400, t0);

    expect(decideRiskResponse(pauseOnly, breach, paused, 400, t0 + 3_600_000)?.step).toBe('pause');
  });
});

describe('Domain: drawdown baseline (both lines of defence)', () => {
  const twenty = { ...limits, max_drawdown_pct: 20 };
  /** What a bot 23 % below its starting capital looks like to an agent that measured only from its peak. */
  const belowStart: RiskSnapshot = {
    ...calm,
    equity: 1001,
    peak_equity: 1001,
    drawdown_pct: 0,
    starting_capital: 1300,
  };

  it('breaches on the snapshot starting capital even when the reported drawdown is 0 (drawdown measured only from first equity seen)', () => {
    const assessment = evaluateRisk(twenty, belowStart);

    expect(assessment.breaches.map((breach) => breach.rule)).toEqual(['drawdown']);
    expect(assessment.breaches[0]?.observed).toBeCloseTo(23, 1);
  });

  it('breaches on risk_limits.starting_capital when the snapshot has none (an older agent)', () => {
    const { starting_capital: _, ...older } = belowStart;

    expect(evaluateRisk({ ...twenty, starting_capital: 1300 }, older).breached).toBe(true);
    expect(evaluateRisk(twenty, older).breached).toBe(false);
  });

  it('measures only from the peak once the operator acknowledged the losses', () => {
    const acknowledged = { ...belowStart, losses_acknowledged_at: '2026-01-01T00:00:00.000Z' };

    expect(evaluateRisk({ ...twenty, starting_capital: 1300 }, acknowledged).breached).toBe(false);
  });

  it('makes the stream processor pause a session whose heartbeat shows a bot below its starting capital', () => {
    // prepare
    const base = buildSession(
      NewSessionSchema.parse({
        run_id: 'live-pascal-20260101000000-abc',
        strategy_id: 'pascal',
        strategy_name: 'PascalStrategy',
        trading_mode: 'live',
        risk_limits: twenty,
        requested_by: 'ops',
        trace_id: 't-1',
      }),
      Date.parse('2026-01-01T00:00:00.000Z'),
    );
    const before = { ...base, status: 'running' as const, heartbeat_seq: 1 };
    const after = {
      ...before,
      heartbeat_seq: 2,
      risk: { state: 'ok' as const, snapshot: belowStart, breaches: [], response: null, breached_at: null },
    };
    // act
    const effects = classifySessionChange(before, after);
    // assess
    expect(effects.find((effect) => effect.type === 'risk_breach')).toMatchObject({
      breaches: [{ rule: 'drawdown' }],
    });
  });

  it('reads limits and risk states written before the starting capital existed (schema evolution)', () => {
    const storedLimits = {
      max_drawdown_pct: 10,
      max_daily_loss: 500,
      max_open_trades: 3,
      max_leverage: 2,
      max_monitor_failures: 3,
      breach_ladder: ['pause'],
      escalation_grace_s: 60,
    };
    const storedRisk = { state: 'ok', snapshot: calm, breaches: [], response: null, breached_at: null };

    expect(RiskLimitsSchema.parse(storedLimits).starting_capital).toBeUndefined();
    expect(RiskStateSchema.parse(storedRisk).snapshot?.starting_capital).toBeUndefined();
    expect(RiskLimitsSchema.safeParse({ ...storedLimits, starting_capital: -5 }).success).toBe(false);
  });
});

describe('Domain: the breach ladder escalates only while the breach lasts', () => {
  const clock = new ManualClock('2026-01-01T00:00:00.000Z');
  const ladder: RiskLimits = {
    ...limits,
    breach_ladder: ['pause', 'flatten', 'stop'],
    escalation_grace_s: 120,
  };
  const breached = evaluateRisk(ladder, { ...calm, monitor_failures: 3 });
  const clean = evaluateRisk(ladder, calm);

  it.each([
    // name, limits, assessment at the grace period, exposure then, seconds later, expected step
    [
      'stays paused when the breach has cleared (escalated after the breach had cleared)',
      ladder,
      clean,
      400,
      121,
      'pause',
    ],
    ['flattens while the breach lasts and exposure has not fallen', ladder, breached, 400, 121, 'flatten'],
    [
      'flattens a cleared breach when the limits say escalate_when_clear',
      { ...ladder, escalate_when_clear: true },
      clean,
      400,
      121,
      'flatten',
    ],
    ['stays paused while the grace period runs', ladder, breached, 400, 119, 'pause'],
    ['stays paused when exposure fell', ladder, breached, 100, 121, 'pause'],
    ['stays paused when nothing is exposed', ladder, breached, 0, 121, 'pause'],
  ] as const)('%s', (_name, rowLimits, later, exposure, afterS, expected) => {
    // prepare
    clock.set('2026-01-01T00:00:00.000Z');
    const paused = decideRiskResponse(rowLimits, breached, null, 400, clock.now());
    // act
    clock.advance(afterS * 1000);
    const next = decideRiskResponse(rowLimits, later, paused, exposure, clock.now());
    // assess
    expect(next?.step).toBe(expected);
  });
});

describe('Domain: the platform high-loss floor is per session after a resume', () => {
  const day = '2026-01-01';
  const at = (time: string) => Date.parse(`${day}T${time}.000Z`);
  const riskWith = (dailyPnl: number, resumed: RiskState['resumed'] = null): RiskState => ({
    state: 'ok',
    snapshot: { ...calm, daily_pnl: dailyPnl },
    breaches: [],
    response: null,
    breached_at: null,
    resumed,
  });
  const floor = 500;

  it.each([
    ['pauses below the floor with no resume today', -501, null, true],
    ['holds at the floor', -500, null, false],
    [
      'holds right after a resume at -600 (the loss before it was accepted)',
      -600,
      { at: `${day}T10:00:00.000Z`, daily_pnl: -600 },
      false,
    ],
    [
      'pauses again when a further floor was lost after the resume (off for the rest of the UTC day)',
      -1101,
      { at: `${day}T10:00:00.000Z`, daily_pnl: -600 },
      true,
    ],
    [
      'measures from 0, not from a profit, after a resume in profit',
      -501,
      { at: `${day}T10:00:00.000Z`, daily_pnl: 200 },
      true,
    ],
    ["ignores yesterday's resume", -501, { at: '2025-12-31T23:00:00.000Z', daily_pnl: -2000 }, true],
  ] as const)('%s', (_name, pnl, resumed, pause) => {
    const decision = decideHighLossPause({
      runId: 'r1',
      floor,
      nowMs: at('12:00:00'),
      risk: riskWith(pnl, resumed),
    });

    expect(decision.pause).toBe(pause);
  });

  it('opens a new incident (its own page) for each resume, one per UTC day without one', () => {
    const before = decideHighLossPause({ runId: 'r1', floor, nowMs: at('09:00:00'), risk: riskWith(-501) });
    const resumed = { at: `${day}T10:00:00.000Z`, daily_pnl: -600 };
    const after = decideHighLossPause({
      runId: 'r1',
      floor,
      nowMs: at('12:00:00'),
      risk: riskWith(-1101, resumed),
    });

    expect(before.pause && after.pause && before.incident !== after.incident).toBe(true);
    expect(before.pause && before.incident).toBe(`r1:${day}:risk.high_loss`);
  });

  it('falls back to metrics.pnl_today when the session has no risk snapshot yet', () => {
    expect(
      decideHighLossPause({ runId: 'r1', floor, nowMs: at('12:00:00'), risk: null, pnlToday: -700 }).pause,
    ).toBe(true);
  });
});
