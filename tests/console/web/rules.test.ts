import { describe, expect, it } from 'vitest';
import { permissionFor, sessionOf } from '../../../console/web/src/auth';
import {
  drawdownUse,
  type Fleet,
  type FleetRow,
  heartbeatAgeNow,
  heartbeatHealth,
} from '../../../console/web/src/fleet';

const NOW_S = 1_800_000_000;

/** A token as the page receives it: only its claims matter here (the gateway verifies signatures). */
const tokenOf = (claims: Record<string, unknown>) => {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'ES256' })}.${part({ sub: 'alice', exp: NOW_S + 3600, ...claims })}.signature`;
};

const principalOf = (claims: Record<string, unknown>) => {
  const session = sessionOf(tokenOf(claims), NOW_S);
  if ('refused' in session) throw new Error(session.refused);
  return session.principal;
};

describe('Console: what a token may do, decided by the API’s own rules', () => {
  it('refuses an expired or malformed token with the reason, and reads scopes and groups as the API does', () => {
    // act
    const expired = sessionOf(tokenOf({ exp: NOW_S - 1 }), NOW_S);
    const malformed = sessionOf('not-a-token', NOW_S);
    const principal = principalOf({
      scope: 'tradai/strategies:read tradai/strategies:write',
      'cognito:groups': ['tradai-live'],
    });
    // assess
    expect(expired).toEqual({ refused: 'The token has expired: log in again' });
    expect(malformed).toEqual({ refused: 'The token is not a JWT' });
    expect([...principal.scopes].sort()).toEqual(['strategies:read', 'strategies:write']);
    expect([...principal.groups]).toEqual(['tradai-live']);
  });

  it.each([
    [
      'a reader pausing',
      'tradai/strategies:read',
      [],
      'pause',
      'dry-run',
      'The token lacks the scope strategies:write',
    ],
    [
      'a writer pausing a live session',
      'tradai/strategies:read tradai/strategies:write',
      [],
      'pause',
      'live',
      null,
    ],
    ['a writer stopping a live session', 'tradai/strategies:write', [], 'stop', 'live', null],
    [
      'a writer resuming a live session',
      'tradai/strategies:write',
      [],
      'resume',
      'live',
      'the scope strategies:live and membership of the tradai-live group',
    ],
    [
      'the live scope without the group',
      'tradai/strategies:write tradai/strategies:live',
      [],
      'resume',
      'live',
      'membership of the tradai-live group',
    ],
    [
      'a live trader resuming',
      'tradai/strategies:write tradai/strategies:live',
      ['tradai-live'],
      'resume',
      'live',
      null,
    ],
    ['a writer resuming a dry run', 'tradai/strategies:write', [], 'resume', 'dry-run', null],
  ] as const)('%s: %s', (_what, scope, groups, action, mode, refusal) => {
    // act
    const permission = permissionFor(principalOf({ scope, 'cognito:groups': [...groups] }), action, mode);
    // assess
    if (refusal === null) expect(permission).toEqual({ allowed: true });
    else expect(permission).toMatchObject({ allowed: false, reason: expect.stringContaining(refusal) });
  });
});

const row = (overrides: Partial<FleetRow> = {}): FleetRow => ({
  strategy_id: 'alpha',
  run_id: 'run-alpha',
  strategy_name: 'MomentumStrategy',
  strategy_version: '1',
  trading_mode: 'dry-run',
  status: 'running',
  status_reason: null,
  desired_state: 'running',
  active: true,
  status_changed_at: '2026-12-01T10:00:00.000Z',
  last_heartbeat: '2026-12-01T10:00:00.000Z',
  heartbeat_age_s: 10,
  stale_after_s: 90,
  stake_currency: 'USDT',
  equity: 1000,
  pnl_today: 1,
  pnl_total: 2,
  drawdown_pct: 5,
  max_drawdown_pct: 10,
  open_trade_count: 0,
  risk_state: 'ok',
  risk_breaches: [],
  last_alert: null,
  alert_open: false,
  ...overrides,
});

describe('Console: colouring a fleet row', () => {
  it.each([
    ['well inside the threshold', row(), 10, 'ok'],
    ['past half of it', row(), 46, 'late'],
    ['past it, before the sweep marks it', row(), 91, 'stale'],
    ['marked stale by the sweep', row({ status: 'stale' }), 1, 'stale'],
    ['an ended session', row({ active: false, status: 'stopped' }), 500, 'none'],
    ['no heartbeat yet', row({ heartbeat_age_s: null }), null, 'none'],
  ] as const)('heartbeat %s: %s', (_what, subject, ageS, health) => {
    expect(heartbeatHealth(subject, ageS)).toBe(health);
  });

  it('ages a heartbeat from when the page received the fleet (an unchanged fleet is a bodiless 304)', () => {
    // prepare
    const fleet = { receivedAtMs: 1_000_000 } as Fleet;
    // act
    const aged = heartbeatAgeNow(row({ heartbeat_age_s: 10 }), fleet, 1_000_000 + 95_000);
    const ended = heartbeatAgeNow(row({ heartbeat_age_s: 10, active: false }), fleet, 1_000_000 + 95_000);
    // assess
    expect(aged).toBe(105);
    expect(ended).toBe(10);
  });

  it.each([
    ['half the limit used', row({ drawdown_pct: 5, max_drawdown_pct: 10 }), 0.5],
    ['past the limit', row({ drawdown_pct: 12, max_drawdown_pct: 10 }), 1.2],
    ['no figure yet', row({ drawdown_pct: null }), null],
  ] as const)('drawdown bar, %s', (_what, subject, use) => {
    expect(drawdownUse(subject)).toBe(use);
  });
});
