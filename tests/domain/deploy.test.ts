import { describe, expect, it } from 'vitest';
import { handoffAlert } from '../../shared/domain/alerts';
import {
  decideHandoffStart,
  decideLaunchFailure,
  decidePredecessorWait,
  FORCED_STOP_MARGIN_S,
  handoffWindowMs,
  predecessorWaitPolicyOf,
} from '../../shared/domain/deploy';
import {
  canAdvanceHandoff,
  HANDOFF_PHASES,
  HANDOFF_TRANSITIONS,
  type Handoff,
} from '../../shared/domain/handoff';
import { buildSession, NewSessionSchema, type Session } from '../../shared/domain/session';
import { classifySessionChange } from '../../shared/domain/stream';

const NOW = Date.parse('2026-01-01T00:00:00.000Z');

const sessionOf = (fields: Partial<Session> = {}): Session => ({
  ...buildSession(
    NewSessionSchema.parse({
      run_id: 'live-s-old',
      strategy_id: 's',
      strategy_name: 'MomentumStrategy',
      trading_mode: 'live',
      risk_limits: {
        max_drawdown_pct: 20,
        max_daily_loss: 1_000,
        max_open_trades: 10,
        max_leverage: 3,
        max_monitor_failures: 3,
      },
      requested_by: 'op',
      trace_id: 't',
    }),
    NOW,
  ),
  status: 'running',
  ...fields,
});

const handoffOf = (fields: Partial<Handoff> = {}): Handoff => ({
  kind: 'deploy',
  mode: 'carry_positions',
  wait_flat_s: 0,
  phase: 'predecessor_gone',
  from_run_id: 'live-s-old',
  to_run_id: 'live-s-new',
  rollback_of: null,
  requested_at: '2026-01-01T00:00:00.000Z',
  reason: null,
  ...fields,
});

describe('Deploy: handoff phases as data', () => {
  it('moves only along the table; ended phases are final', () => {
    for (const from of HANDOFF_PHASES)
      for (const to of HANDOFF_PHASES)
        expect(canAdvanceHandoff(from, to)).toBe(from === to || HANDOFF_TRANSITIONS[from].includes(to));
    expect(HANDOFF_TRANSITIONS.live).toEqual([]);
    expect(canAdvanceHandoff('requested', 'live')).toBe(false);
    expect(canAdvanceHandoff('rolled_back', 'live')).toBe(false);
  });
});

describe('Deploy: which session may be rolled', () => {
  it.each([
    ['no session', undefined, 'no_active_session'],
    ['a stopped one', sessionOf({ status: 'stopped' }), 'no_active_session'],
    ['a stale one', sessionOf({ status: 'stale' }), 'not_rollable'],
    ['a launching one', sessionOf({ status: 'launching' }), 'not_rollable'],
    ['a backtest', sessionOf({ trading_mode: 'backtest' }), 'not_rollable'],
    ['one already handed off', sessionOf({ superseded_by: 'live-s-new' }), 'handoff_in_progress'],
  ])('refuses %s', (_what, session, reason) => {
    expect(decideHandoffStart(session)).toMatchObject({ ok: false, reason });
  });

  it.each(['running', 'paused'] as const)('rolls a %s live or dry-run session', (status) => {
    expect(decideHandoffStart(sessionOf({ status }))).toEqual({ ok: true });
    expect(decideHandoffStart(sessionOf({ status, trading_mode: 'dry-run' }))).toEqual({ ok: true });
  });
});

describe('Deploy: waiting for the predecessor to be gone', () => {
  const policy = { graceMs: 20_000, forcedGoneMs: 20_000 };
  it.each([
    ['over and gone', 'stopped', true, 1_000, false, 0, 'gone'],
    ['over, container still running', 'stopped', false, 1_000, false, 0, 'wait'],
    ['still stopping within the grace', 'stopping', false, 19_000, false, 0, 'wait'],
    ['still stopping within grace plus wait_flat', 'stopping', false, 40_000, false, 30, 'wait'],
    ['past the grace', 'stopping', false, 21_000, false, 0, 'force_stop'],
    ['forced, still within the bound', 'stopping', false, 30_000, true, 0, 'wait'],
    ['forced and still running past the bound', 'stopping', false, 41_000, true, 0, 'give_up'],
    ['gone but its session not over', 'stopping', true, 1_000, false, 0, 'wait'],
  ] as const)('%s: %s', (_what, status, containerGone, elapsedMs, forced, waitFlatS, expected) => {
    const decision = decidePredecessorWait({
      predecessor: { status, container: null },
      containerGone,
      elapsedMs,
      forced,
      waitFlatS,
      policy,
    });
    expect(decision.type).toBe(expected);
  });
});

describe('Deploy: how long a forced stop is waited for', () => {
  it("does not give up on a forced predecessor before the platform's own kill (the task's StopTimeout) could have reported it gone", () => {
    // ECS as deployed: 120 s grace, then StopTimeout 120 s from the forced stop to SIGKILL.
    const policy = predecessorWaitPolicyOf({ stopGraceS: 120, taskStopTimeoutS: 120 });
    const waitAt = (elapsedS: number) =>
      decidePredecessorWait({
        predecessor: { status: 'stopping', container: null },
        containerGone: false,
        elapsedMs: elapsedS * 1000,
        forced: true,
        waitFlatS: 0,
        policy,
      }).type;
    expect(waitAt(120 + 120 + 1)).toBe('wait');
    expect(waitAt(120 + 120 + FORCED_STOP_MARGIN_S + 1)).toBe('give_up');
  });
});

describe('Deploy: a successor that did not come up', () => {
  const predecessor = sessionOf({ status: 'stopped', superseded_by: 'live-s-new', desired_state: 'paused' });
  const failed = sessionOf({
    run_id: 'live-s-new',
    status: 'failed',
    supersedes: 'live-s-old',
    model_version: '4',
    handoff: handoffOf(),
  });

  it("rolls back to the predecessor's version as the failed run's successor", () => {
    const decision = decideLaunchFailure({ failed, predecessor, lockHolder: 'live-s-new' });
    expect(decision).toMatchObject({
      type: 'rollback',
      supersedes: 'live-s-new',
      lockHolder: 'live-s-new',
      selection: { model_version: null, alias: null, stage: null },
    });
  });

  it.each([
    [
      'a rollback that failed',
      { ...failed, handoff: handoffOf({ kind: 'rollback' }) },
      predecessor,
      'live-s-old',
    ],
    [
      'a predecessor still running',
      { ...failed, handoff: handoffOf({ phase: 'retiring' }) },
      { ...predecessor, status: 'stopping' as const },
      'live-s-old',
    ],
    ['a lock held by another run', failed, predecessor, 'live-s-other'],
    ['no handoff at all', { ...failed, handoff: null }, predecessor, 'live-s-old'],
    [
      'a successor the operator stopped',
      { ...failed, desired_state: 'stopped' as const },
      predecessor,
      'live-s-new',
    ],
  ])('does not roll back %s', (_what, session, before, lockHolder) => {
    expect(decideLaunchFailure({ failed: session, predecessor: before, lockHolder }).type).toBe(
      'no_rollback',
    );
  });

  it.each(['requested', 'retiring'] as const)(
    'rolls back a successor that failed with its handoff still %s but the predecessor already stopped (it was handed off in effect: no rollback left the strategy with no session), taking the lock from the predecessor, which still holds it, and pages one CRITICAL naming the rollback',
    (phase) => {
      const early = { ...failed, handoff: handoffOf({ phase }) };

      const decision = decideLaunchFailure({ failed: early, predecessor, lockHolder: 'live-s-old' });

      expect(decision).toMatchObject({
        type: 'rollback',
        supersedes: 'live-s-new',
        lockHolder: 'live-s-old',
      });
      // The lock was never passed: a holder that is neither of the two still refuses.
      expect(decideLaunchFailure({ failed: early, predecessor, lockHolder: 'live-s-other' }).type).toBe(
        'no_rollback',
      );
      // The compensation records rolled_back from this phase: the table allows it, and it pages once.
      expect(canAdvanceHandoff(phase, 'rolled_back')).toBe(true);
      const rolledBack = {
        ...early,
        superseded_by: 'live-s-back',
        handoff: handoffOf({ phase: 'rolled_back' }),
      };
      const outcomes = classifySessionChange(early, rolledBack).filter(
        (effect) => effect.type === 'handoff_outcome',
      );
      expect(outcomes).toEqual([{ type: 'handoff_outcome', phase: 'rolled_back' }]);
      const page = handoffAlert(rolledBack, NOW);
      expect(page).toMatchObject({ severity: 'CRITICAL', kind: 'handoff.rolled_back' });
      expect(page?.subject).toContain('rolled back to run live-s-back');
    },
  );

  it('measures the zero-container window from the predecessor stopped to the successor trading', () => {
    const old = sessionOf({ status: 'stopped', status_changed_at: '2026-01-01T00:00:10.000Z' });
    const next = sessionOf({ run_id: 'live-s-new', started_at: '2026-01-01T00:00:13.500Z' });
    expect(handoffWindowMs(old, next)).toBe(3_500);
    expect(handoffWindowMs(sessionOf(), next)).toBeUndefined();
  });
});
