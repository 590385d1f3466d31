import { subjectOf } from './alerts';
import type { Alert, AlertSeverity } from './ports';
import type { Session, SessionStatus, TradingMode } from './session';
import { scopeNameOf, scopeRefOf, type TradingScope } from './trading-scope';

/**
 * The one page of a scope change (never one per session): who changed which scope to what and why, what
 * that does to Freqtrade, which sessions confirmed, and, by name, every one that did not within the bound.
 */
export interface ScopePageInput {
  scope: TradingScope;
  /** Did the state change (a repeated halt re-applies itself and does not page). */
  acted: number;
  confirmed: number;
  unconfirmed: readonly {
    run_id: string;
    strategy_id: string;
    trading_mode: TradingMode;
    status: string;
    freqtrade_state: string | null;
    last_heartbeat: string | null;
  }[];
  failed: readonly { run_id: string; strategy_id: string; error: string }[];
  untouched: readonly { run_id: string; strategy_id: string; why: string }[];
  waitedS: number;
}

const WHAT: Readonly<Record<TradingScope['state'], string>> = {
  reducing:
    'no new entries anywhere in it: every Freqtrade is paused (exits and stop-losses go on); starts and resumes are refused until an operator resumes the scope',
  halted:
    'every position is flattened (forceexit), then every session in it is stopped; starts and resumes are refused until an operator resumes the scope',
  active: 'trading again: the sessions this scope paused (and only those) are resumed; starts are accepted',
};

const SEVERITY: Readonly<Record<TradingScope['state'], AlertSeverity>> = {
  reducing: 'WARNING',
  halted: 'CRITICAL',
  active: 'INFO',
};

/** Alert routing fields must be strategy ids (the alert history's key): `fleet`, or `account-<id>`. */
export const scopeAlertKeyOf = (scope: TradingScope): string =>
  scope.account_id === null ? 'fleet' : `account-${scope.account_id.slice(0, 32)}`;

const LIST_MAX = 50;

const listed = <T>(items: readonly T[], line: (item: T) => string): string[] => {
  const lines = items.slice(0, LIST_MAX).map((item) => `  - ${line(item)}`);
  if (items.length > LIST_MAX) lines.push(`  - ... and ${items.length - LIST_MAX} more`);
  return lines;
};

export const scopeChangeAlert = (input: ScopePageInput): Alert => {
  const { scope } = input;
  const name = scopeNameOf(scopeRefOf(scope));
  // A resume that leaves an agent unconfirmed has nothing at risk; a halt that does, has.
  const severity: AlertSeverity =
    scope.state !== 'active' && (input.unconfirmed.length > 0 || input.failed.length > 0)
      ? 'CRITICAL'
      : SEVERITY[scope.state];
  const done =
    scope.state === 'active'
      ? `${input.acted} session(s) released`
      : `${input.confirmed} of ${input.confirmed + input.unconfirmed.length} session(s) confirmed ${scope.state === 'halted' ? 'stopped' : 'paused'} within ${Math.round(input.waitedS)} s`;
  const headline =
    scope.state === 'active'
      ? `${name} resumed`
      : `${name} ${scope.state === 'halted' ? 'HALTED' : 'reducing'}`;
  const lines = [
    `Scope:      ${name} (generation ${scope.generation})`,
    `What:       ${scope.previous_state ?? 'active'} -> ${scope.state} at ${scope.changed_at}`,
    `By:         ${scope.changed_by}`,
    `Why:        ${scope.reason}`,
    `Effect:     ${WHAT[scope.state]}`,
    `Done:       ${done}`,
  ];
  if (input.unconfirmed.length > 0) {
    lines.push(
      `NOT CONFIRMED (${input.unconfirmed.length}): these agents did not confirm; treat them as still trading until you have checked them on the exchange:`,
      ...listed(
        input.unconfirmed,
        (item) =>
          `${item.strategy_id} ${item.trading_mode} ${item.run_id}: status ${item.status}, Freqtrade ${item.freqtrade_state ?? 'unknown'}, last heartbeat ${item.last_heartbeat ?? 'none'}`,
      ),
    );
  }
  if (input.failed.length > 0) {
    lines.push(
      `NOT WRITTEN (${input.failed.length}): repeat the command to retry these:`,
      ...listed(input.failed, (item) => `${item.strategy_id} ${item.run_id}: ${item.error}`),
    );
  }
  if (input.untouched.length > 0) {
    lines.push(
      `Left alone (${input.untouched.length}):`,
      ...listed(input.untouched, (item) => `${item.strategy_id} ${item.run_id}: ${item.why}`),
    );
  }
  lines.push(
    scope.state === 'active'
      ? 'To do:      nothing; sessions paused for other reasons stay paused.'
      : `To do:      resume with POST ${scope.account_id === null ? '/fleet/resume' : `/accounts/${scope.account_id}/resume`} once it is safe (nothing resumes by itself).`,
  );
  return {
    severity,
    subject: subjectOf(`[${severity}] ${headline} by ${scope.changed_by}: ${scope.reason}`),
    message: lines.join('\n'),
    strategy_id: scopeAlertKeyOf(scope),
    run_id: `${scope.run_id}#g${scope.generation}`,
    kind: `scope.${scope.state}`,
    dedup_id: `${scope.run_id}:g${scope.generation}:${scope.state}`,
  };
};

/**
 * A session's status change that a scope's change caused and its one page already covers: the pause of a
 * halt to reducing, the resume of the scope's resume, the stop of a halt, and that stop's end when the
 * agent reports no position left open. Anything else (stale, failed, a stop that left positions open)
 * still pages for itself.
 */
export const transitionPagedByScope = (from: SessionStatus | null, session: Session): boolean => {
  if (session.scope_cause === undefined || session.scope_cause === null) return false;
  if (from === 'running' && session.status === 'paused') return session.desired_state === 'paused';
  if (from === 'paused' && session.status === 'running') return session.desired_state === 'running';
  if (session.status === 'stopping') return session.flatten_on_stop;
  if (from === 'stopping' && session.status === 'stopped') {
    const positions = session.stop_outcome?.positions;
    return positions === 'none' || positions === 'flattened';
  }
  return false;
};
