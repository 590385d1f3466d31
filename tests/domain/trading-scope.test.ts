import { describe, expect, it } from 'vitest';
import {
  accountScope,
  confirmsScopeState,
  decideScopeCommand,
  effectiveState,
  FLEET,
  FLEET_SCOPE_KEY,
  isInScope,
  mostRestrictive,
  neverChangedScope,
  SCOPE_TRANSITIONS,
  type Session,
  scopeActionFor,
  TRADING_STATES,
  type TradingState,
} from '../../shared/domain';

const ACCOUNT = 'a1b2c3d4e5f60718a1b2c3d4e5f60718';
const ACCOUNT_KEY = `scope#account#${ACCOUNT}`;

const session = (fields: Partial<Session>): Session =>
  ({
    run_id: 'live-s1-20260301120000-abcd',
    strategy_id: 's1',
    trading_mode: 'live',
    status: 'running',
    desired_state: 'running',
    flatten_on_stop: false,
    account_id: ACCOUNT,
    risk: null,
    risk_limits: {},
    ...fields,
  }) as Session;

const scopeIn = (state: TradingState) => ({ ...neverChangedScope(FLEET), state, generation: 1 });

describe('Domain: trading scopes', () => {
  it('tightens a scope only by a halt and loosens it only by a resume to active', () => {
    expect(SCOPE_TRANSITIONS).toEqual({
      active: ['reducing', 'halted'],
      reducing: ['halted', 'active'],
      halted: ['active'],
    });
  });

  it('refuses a halt that would relax a halted scope to reducing, naming who halted it', () => {
    const halted = { ...scopeIn('halted'), changed_by: 'alice', reason: 'exchange outage' };

    const decision = decideScopeCommand(halted, { kind: 'halt', mode: 'reducing' });

    expect(decision).toMatchObject({ type: 'refused', reason: 'less_restrictive' });
    if (decision.type === 'refused') expect(decision.message).toContain('alice: exchange outage');
  });

  it('treats a repeated halt or a resume of an active scope as unchanged (nothing written)', () => {
    expect(decideScopeCommand(scopeIn('reducing'), { kind: 'halt', mode: 'reducing' })).toEqual({
      type: 'unchanged',
      state: 'reducing',
    });
    expect(decideScopeCommand(scopeIn('active'), { kind: 'resume' })).toEqual({
      type: 'unchanged',
      state: 'active',
    });
    expect(decideScopeCommand(scopeIn('reducing'), { kind: 'halt', mode: 'halted' })).toEqual({
      type: 'change',
      from: 'reducing',
      to: 'halted',
    });
  });

  it("gives a session the most restrictive of its own, its account's and the fleet's state, naming the cause", () => {
    const running = session({});
    for (const own of TRADING_STATES)
      for (const account of TRADING_STATES)
        for (const fleet of TRADING_STATES) {
          const mine =
            own === 'active'
              ? running
              : own === 'reducing'
                ? session({ desired_state: 'paused' })
                : session({ status: 'stopping', desired_state: 'stopped' });
          const effective = effectiveState(mine, { state: account }, { state: fleet });
          expect(effective.state).toBe(mostRestrictive(own, account, fleet));
        }
    expect(effectiveState(running, { state: 'reducing' }, { state: 'halted' })).toEqual({
      state: 'halted',
      cause: 'fleet',
    });
    expect(effectiveState(running, { state: 'reducing' }, undefined)).toEqual({
      state: 'reducing',
      cause: 'account',
    });
  });

  it('leaves one-shot runs and sessions of other accounts out of an account scope', () => {
    expect(isInScope(session({ trading_mode: 'backtest' }), FLEET)).toBe(false);
    expect(isInScope(session({}), accountScope(ACCOUNT))).toBe(true);
    expect(
      isInScope(session({ account_id: 'ffffeeeeddddccccbbbbaaaa99998888' }), accountScope(ACCOUNT)),
    ).toBe(false);
    expect(isInScope(session({ account_id: undefined }), FLEET)).toBe(true);
  });

  it.each([
    ['a running session on reducing', {}, 'reducing', { type: 'hold' }],
    [
      'a session another scope holds on reducing',
      { desired_state: 'paused', scope_holds: [ACCOUNT_KEY] },
      'reducing',
      { type: 'hold' },
    ],
    ['an operator-paused session on reducing', { desired_state: 'paused' }, 'reducing', { type: 'none' }],
    ['a running session on halted', {}, 'halted', { type: 'stop_flatten' }],
    [
      'a session stopping without flatten on halted',
      { status: 'stopping' },
      'halted',
      { type: 'none', why: expect.stringContaining('WITHOUT flatten') },
    ],
    [
      'its only hold on resume',
      { desired_state: 'paused', scope_holds: [FLEET_SCOPE_KEY] },
      'active',
      { type: 'release_and_resume' },
    ],
    [
      'one of two holds on resume',
      { desired_state: 'paused', scope_holds: [FLEET_SCOPE_KEY, ACCOUNT_KEY] },
      'active',
      { type: 'release', keptPausedBecause: 'another scope still holds it' },
    ],
    ['an operator pause on resume', { desired_state: 'paused' }, 'active', { type: 'none' }],
  ] as const)('decides the fan-out for %s', (_, fields, to, expected) => {
    expect(scopeActionFor(session(fields as Partial<Session>), FLEET_SCOPE_KEY, to)).toMatchObject(expected);
  });

  it("keeps a breached session paused on the scope's resume (a resume would clear the agent's breach latch)", () => {
    const breached = session({
      desired_state: 'paused',
      scope_holds: [FLEET_SCOPE_KEY],
      risk: {
        state: 'breached',
        snapshot: null,
        breaches: [{ limit: 'max_daily_loss', message: 'daily loss 600 > 500', value: 600, threshold: 500 }],
        response: null,
        breached_at: '2026-03-01T12:00:00.000Z',
      } as unknown as Session['risk'],
    });

    expect(scopeActionFor(breached, FLEET_SCOPE_KEY, 'active')).toEqual({
      type: 'release',
      keptPausedBecause: 'its risk limits are breached',
    });
  });

  it('releases a held agent without resuming it: running intent over a stopped Freqtrade would be a silent dead bot', () => {
    const failClosed = {
      command: 'pause',
      failure: 'POST /api/v1/pause: 500 Internal Server Error',
      action: 'process_stopped',
      at: '2026-03-01T12:00:00.000Z',
    } as const;
    const held = session({
      desired_state: 'paused',
      scope_holds: [FLEET_SCOPE_KEY],
      health: { freqtrade_state: 'stopped', fail_closed: failClosed } as unknown as Session['health'],
    });

    expect(scopeActionFor(held, FLEET_SCOPE_KEY, 'active')).toEqual({
      type: 'release_held',
      hold: { held_by: 'fail_closed', report: failClosed },
    });
  });

  it('counts an agent as confirmed only once Freqtrade is seen paused (reducing) or the session is over (halted)', () => {
    expect(confirmsScopeState(session({ desired_state: 'paused' }), 'reducing')).toBe(false);
    expect(
      confirmsScopeState(
        session({ desired_state: 'paused', health: { freqtrade_state: 'paused' } as Session['health'] }),
        'reducing',
      ),
    ).toBe(true);
    expect(
      confirmsScopeState(
        session({ desired_state: 'paused', health: { freqtrade_state: 'running' } as Session['health'] }),
        'reducing',
      ),
    ).toBe(false);
    expect(confirmsScopeState(session({ status: 'paused' }), 'reducing')).toBe(true);
    expect(confirmsScopeState(session({ status: 'stale' }), 'reducing')).toBe(false);
    expect(confirmsScopeState(session({ status: 'stopping' }), 'halted')).toBe(false);
    expect(confirmsScopeState(session({ status: 'stopped' }), 'halted')).toBe(true);
  });
});
