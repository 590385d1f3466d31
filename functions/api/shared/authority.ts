import type { AuditAction } from '../../../shared/domain/audit';
import type { TradingMode } from '../../../shared/domain/session';
import { type Principal, requireLiveTrader, requireScopes } from '../../../shared/http/auth';
import { SCOPES } from '../../../shared/http/constants';

/** Whether a command can put more money at risk than is at risk now. */
const RISK_OF: Readonly<Record<AuditAction, 'increases' | 'reduces'>> = {
  start: 'increases',
  resume: 'increases',
  pause: 'reduces',
  stop: 'reduces',
  promote: 'increases',
  halt: 'reduces',
  scope_resume: 'increases',
  // Tightening an account budget; a raise or removal is the live permission's (budgetLoosens, at its route).
  budget: 'reduces',
  // A new version, or the same one on fresh credentials, trades from the handoff on.
  deploy: 'increases',
  restart: 'increases',
};

export type Authority = 'writer' | 'live_trader';

/**
 * Who may run a command on a session of a mode. Risk-reducing commands need only `strategies:write`, live or
 * not: an emergency pause or stop must never be refused for lack of the live permission.
 */
export const authorityFor = (action: AuditAction, mode: TradingMode): Authority =>
  mode === 'live' && RISK_OF[action] === 'increases' ? 'live_trader' : 'writer';

/** 403 unless the caller holds the authority the command needs. */
export const requireAuthority = (principal: Principal, action: AuditAction, mode: TradingMode): void => {
  requireScopes(principal, SCOPES.write);
  if (authorityFor(action, mode) === 'live_trader') requireLiveTrader(principal);
};

/**
 * A promotion is a live change when it moves the selection a running live session reloads at its next
 * (re)start (its alias, or its stage): an ECS restart after a crash would then trade the new version
 * without anyone holding the live permission having chosen it. Any other promotion needs `strategies:write`.
 */
export const requirePromotionAuthority = (principal: Principal, touchesLive: boolean): void => {
  requireScopes(principal, SCOPES.write);
  if (touchesLive) requireLiveTrader(principal);
};
