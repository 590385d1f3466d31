import { describe, expect, it } from 'vitest';
import { handoffAlert, transitionAlert } from '../../shared/domain/alerts';
import type { Handoff } from '../../shared/domain/handoff';
import { buildSession, NewSessionSchema, type Session } from '../../shared/domain/session';
import { classifySessionChange } from '../../shared/domain/stream';

const NOW = Date.parse('2026-01-01T00:00:00.000Z');
const LIMITS = {
  max_drawdown_pct: 20,
  max_daily_loss: 1_000,
  max_open_trades: 10,
  max_leverage: 3,
  max_monitor_failures: 3,
};
const sessionOf = (fields: Partial<Session> = {}): Session => ({
  ...buildSession(
    NewSessionSchema.parse({
      run_id: 'live-s-new',
      strategy_id: 's',
      strategy_name: 'MomentumStrategy',
      trading_mode: 'live',
      risk_limits: LIMITS,
      requested_by: 'op',
      trace_id: 't',
    }),
    NOW,
  ),
  ...fields,
});
const handoffOf = (phase: Handoff['phase']): Handoff => ({
  kind: 'deploy',
  mode: 'carry_positions',
  wait_flat_s: 0,
  phase,
  from_run_id: 'live-s-old',
  to_run_id: 'live-s-new',
  rollback_of: null,
  requested_at: '2026-01-01T00:00:00.000Z',
  reason: null,
});

describe('Alerts: a handoff that did not complete pages once', () => {
  it('classifies the move to rolled_back (or failed) once, not on every later write of the item', () => {
    const failed = sessionOf({
      status: 'failed',
      agent_id: 'agent-new',
      handoff: handoffOf('predecessor_gone'),
    });
    const rolledBack = {
      ...failed,
      handoff: handoffOf('rolled_back'),
      superseded_by: 'live-s-back',
      version: 3,
    };

    const first = classifySessionChange(failed, rolledBack);
    const again = classifySessionChange(rolledBack, { ...rolledBack, version: 4 });

    expect(first).toContainEqual({ type: 'handoff_outcome', phase: 'rolled_back' });
    expect(again.some((effect) => effect.type === 'handoff_outcome')).toBe(false);
  });

  it('pages CRITICAL naming the rollback run; the failed successor itself pages WARNING, even live and claimed (one CRITICAL per failed deploy)', () => {
    const rolledBack = sessionOf({
      status: 'failed',
      agent_id: 'agent-new',
      superseded_by: 'live-s-back',
      handoff: handoffOf('rolled_back'),
    });

    const page = handoffAlert(rolledBack, NOW);
    const statusPage = transitionAlert('launching', rolledBack, NOW);

    expect(page).toMatchObject({ severity: 'CRITICAL', kind: 'handoff.rolled_back' });
    expect(page?.message).toContain('live-s-back');
    expect(statusPage.severity).toBe('WARNING');
    expect(handoffAlert(sessionOf({ handoff: handoffOf('live') }), NOW)).toBeUndefined();
    expect(handoffAlert(sessionOf({ handoff: handoffOf('failed') }), NOW)?.kind).toBe('handoff.failed');
  });

  it("pages a handed-off run's stop INFO naming the carried trades (a live stop with open positions paged WARNING 'nobody managing their exits')", () => {
    const old = sessionOf({
      run_id: 'live-s-old',
      status: 'stopped',
      superseded_by: 'live-s-new',
      stop_outcome: {
        plan: 'handoff',
        positions: 'left_open',
        open_trade_ids: [3],
        detail: 'handed off',
        at: '2026-01-01T00:00:00.000Z',
      },
    });

    const page = transitionAlert('stopping', old, NOW);

    expect(page.severity).toBe('INFO');
    expect(page.subject).toContain('handed off to live-s-new');
    expect(page.message).toContain('carried to run live-s-new');
  });
});
