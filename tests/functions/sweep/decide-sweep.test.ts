import { describe, expect, it } from 'vitest';
import { policyOf } from '../../../functions/sweep/handler';
import { decidePredecessorWait, predecessorWaitPolicyOf } from '../../../shared/domain/deploy';
import { buildSession, NewSessionSchema, type Session } from '../../../shared/domain/session';
import type { StrategyLock } from '../../../shared/domain/session-store';
import { decideLockBackstop, decideSweep, type SweepPolicy } from '../../../shared/domain/sweep';
import { LIMITS } from '../../adapters/support/workflow-fixtures';

const NOW = Date.parse('2026-03-02T10:00:00.000Z');
const ago = (seconds: number) => new Date(NOW - seconds * 1000).toISOString();
const policy: SweepPolicy = {
  staleAfterS: 180,
  launchLimitS: 120,
  stopGraceS: 60,
  taskStopTimeoutS: 120,
  highLossPause: 500,
};

const sessionOf = (overrides: Partial<Session>): Session => ({
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
    NOW - 3_600_000,
  ),
  ...overrides,
});
const metricsOf = (pnlToday: number) => ({ total_trades: 1, win_rate: 1, pnl_today: pnlToday, pnl_total: 0 });

describe('Domain: decideSweep', () => {
  it.each<[string, Partial<Session>, string[]]>([
    [
      'a fresh running session: metrics only',
      { status: 'running', last_heartbeat: ago(10) },
      ['emit_metrics'],
    ],
    [
      'a running session silent past the threshold: stale',
      { status: 'running', last_heartbeat: ago(200) },
      ['emit_metrics', 'mark_stale'],
    ],
    [
      'a paused session silent past the threshold: stale',
      { status: 'paused', last_heartbeat: ago(200) },
      ['emit_metrics', 'mark_stale'],
    ],
    [
      'an already stale session: metrics only',
      { status: 'stale', last_heartbeat: ago(900) },
      ['emit_metrics'],
    ],
    [
      'running below the daily-loss floor: pause',
      { status: 'running', last_heartbeat: ago(10), metrics: metricsOf(-650) },
      ['emit_metrics', 'high_loss_pause'],
    ],
    [
      'below the floor but already asked to pause: nothing more',
      { status: 'running', desired_state: 'paused', last_heartbeat: ago(10), metrics: metricsOf(-650) },
      ['emit_metrics'],
    ],
    [
      'below the floor but silent: stale first, no decision on old figures',
      { status: 'running', last_heartbeat: ago(400), metrics: metricsOf(-650) },
      ['emit_metrics', 'mark_stale'],
    ],
    ['launching within the limit: nothing', { status: 'launching', status_changed_at: ago(60) }, []],
    ['launching past the limit: fail', { status: 'launching', status_changed_at: ago(121) }, ['fail_launch']],
    ['pending past the limit: fail', { status: 'pending', status_changed_at: ago(500) }, ['fail_launch']],
    ['stopping within the grace: nothing', { status: 'stopping', status_changed_at: ago(30) }, []],
    [
      'stopping past the grace: force the stop',
      { status: 'stopping', status_changed_at: ago(61) },
      ['force_stop'],
    ],
    ['stopped: nothing', { status: 'stopped' }, []],
    ['failed: nothing', { status: 'failed' }, []],
    ['completed: nothing', { status: 'completed' }, []],
  ])('%s', (_case, overrides, expected) => {
    // act
    const actions = decideSweep(sessionOf(overrides), NOW, policy);

    // assess
    expect(actions.map((action) => action.type)).toEqual(expected);
  });

  it('names the age and the threshold in the stale reason, and the wait in the launch timeout', () => {
    // act
    const stale = decideSweep(sessionOf({ status: 'running', last_heartbeat: ago(200) }), NOW, policy);
    const launch = decideSweep(sessionOf({ status: 'launching', status_changed_at: ago(130) }), NOW, policy);

    // assess
    expect(stale[1]).toEqual({
      type: 'mark_stale',
      from: 'running',
      reason: 'no heartbeat for 200 s (threshold 180 s)',
    });
    expect(launch[0]).toMatchObject({ type: 'fail_launch', from: 'launching' });
    expect(launch[0]?.type === 'fail_launch' && launch[0].reason).toContain('launching for 130 s');
  });
});

describe('Domain: decideSweep on a handoff successor', () => {
  // Fargate as deployed: StopTimeout 120 s; a short launch timeout makes the forced stop's share visible.
  const timings = {
    launchTimeoutS: 60,
    staleAfterS: 180,
    stopGraceS: 120,
    taskStopTimeoutS: 120,
    highLossPause: 500,
  };

  it.each([0, 300])(
    "does not fail a successor (wait_flat %i s) the launch step still legitimately waits for: the forced predecessor's kill, then the heartbeat",
    (waitFlatS) => {
      const stepWaits = (elapsedS: number) =>
        decidePredecessorWait({
          predecessor: { status: 'stopping', container: null },
          containerGone: false,
          elapsedMs: elapsedS * 1000,
          forced: true,
          waitFlatS,
          policy: predecessorWaitPolicyOf(timings),
        }).type === 'wait';
      let lastWaitedS = 0;
      while (stepWaits(lastWaitedS + 1)) lastWaitedS += 1;
      // The old container reported gone at the step's last look, then the launch timeout for the heartbeat.
      const legitimateS = lastWaitedS + timings.launchTimeoutS;
      const successor = sessionOf({
        status: 'launching',
        status_changed_at: ago(legitimateS),
        handoff: {
          kind: 'deploy',
          mode: 'carry_positions',
          wait_flat_s: waitFlatS,
          phase: 'retiring',
          from_run_id: 'live-pascal-old',
          to_run_id: 'live-pascal-20260302100000-abc',
          rollback_of: null,
          requested_at: ago(legitimateS),
          reason: null,
        },
      });

      expect(decideSweep(successor, NOW, policyOf(timings))).toEqual([]);
      // Still bounded: well past both, the sweep fails it.
      const later = { ...successor, status_changed_at: ago(legitimateS + 3_600) };
      expect(decideSweep(later, NOW, policyOf(timings)).map((action) => action.type)).toEqual([
        'fail_launch',
      ]);
    },
  );
});

describe('Domain: decideLockBackstop', () => {
  const lock = (activeRunId: string | null): StrategyLock => ({
    item_type: 'strategy_lock',
    lock_scope: 'strategy',
    run_id: 'strategy#pascal',
    strategy_id: 'pascal',
    active_run_id: activeRunId,
    last_run_id: 'live-pascal-20260302100000-abc',
    locked_at: ago(100),
    released_at: null,
  });

  it.each<[string, string | null, Partial<Session> | undefined, string]>([
    ['a free lock', null, { status: 'stopped' }, 'none'],
    ['held by a running session', 'live-pascal-20260302100000-abc', { status: 'running' }, 'none'],
    ['held by a stopping session', 'live-pascal-20260302100000-abc', { status: 'stopping' }, 'none'],
    ['held by a stopped session', 'live-pascal-20260302100000-abc', { status: 'stopped' }, 'release_if_gone'],
    ['held by a failed session', 'live-pascal-20260302100000-abc', { status: 'failed' }, 'release_if_gone'],
    [
      'held by a completed session',
      'live-pascal-20260302100000-abc',
      { status: 'completed' },
      'release_if_gone',
    ],
    [
      'held by a session that no longer exists',
      'live-pascal-20260302100000-abc',
      undefined,
      'release_if_gone',
    ],
  ])('%s', (_case, activeRunId, session, expected) => {
    // act + assess
    expect(decideLockBackstop(lock(activeRunId), session && sessionOf(session))).toBe(expected);
  });
});
