import * as z from 'zod';
import { type AgentHold, agentHoldOf } from './agent-report';
import { type AccountId, AccountIdSchema, IsoTimestampSchema, isServiceMode, type Session } from './session';
import type { UpdateResult } from './session-store';
import { isBreached } from './stream';

/**
 * Trading states enforced outside the bots, per scope: the whole fleet and each exchange account (the
 * account identity of shared/runtime/account-identity.ts). NautilusTrader's RiskEngine states, across a
 * fleet: `active` trades; `reducing` takes no new entries anywhere in the scope while exits and
 * stop-losses go on (Freqtrade paused); `halted` flattens every position, then stops every session.
 * Nothing resumes by itself: only an operator's resume returns a scope to `active`.
 */
export const TRADING_STATES = ['active', 'reducing', 'halted'] as const;
export const TradingStateSchema = z.enum(TRADING_STATES);
export type TradingState = z.infer<typeof TradingStateSchema>;

/** The modes a halt asks for. */
export const HaltModeSchema = z.enum(['reducing', 'halted']);
export type HaltMode = z.infer<typeof HaltModeSchema>;

/** Higher is more restrictive: a session obeys the most restrictive state among its scopes. */
const RESTRICTION: Readonly<Record<TradingState, number>> = { active: 0, reducing: 1, halted: 2 };

export const mostRestrictive = (...states: readonly TradingState[]): TradingState =>
  states.reduce<TradingState>(
    (worst, state) => (RESTRICTION[state] > RESTRICTION[worst] ? state : worst),
    'active',
  );

/**
 * The one table of allowed scope transitions. A scope only tightens by halting and only loosens by an
 * operator's resume, which always goes all the way to `active`: halted → reducing would relax a halt
 * without anyone saying "resume".
 */
export const SCOPE_TRANSITIONS: Readonly<Record<TradingState, readonly TradingState[]>> = {
  active: ['reducing', 'halted'],
  reducing: ['halted', 'active'],
  halted: ['active'],
};

export const canChangeScope = (from: TradingState, to: TradingState): boolean =>
  SCOPE_TRANSITIONS[from].includes(to);

export const scopePredecessorsOf = (to: TradingState): TradingState[] =>
  TRADING_STATES.filter((from) => canChangeScope(from, to));

export type ScopeRef = { kind: 'fleet' } | { kind: 'account'; account_id: AccountId };

export const FLEET: ScopeRef = { kind: 'fleet' };
export const accountScope = (accountId: AccountId): ScopeRef => ({ kind: 'account', account_id: accountId });

/** Scope items live in the sessions table under these keys, beside the strategy locks and account leases. */
export const FLEET_SCOPE_KEY = 'scope#fleet';
export const scopeKeyOf = (scope: ScopeRef): string =>
  scope.kind === 'fleet' ? FLEET_SCOPE_KEY : `scope#account#${scope.account_id}`;

export const ScopeKeySchema = z
  .string()
  .regex(/^scope#(?:fleet|account#[a-f0-9]{16,64})$/, 'must be scope#fleet or scope#account#<account id>');

/** `fleet` or `account 3f…`: how pages, refusals and audit records name a scope. */
export const scopeNameOf = (scope: ScopeRef): string =>
  scope.kind === 'fleet' ? 'fleet' : `account ${scope.account_id}`;

/**
 * The partition of the sparse lock GSI (strategy-lock-index, hash key `lock_scope`) that holds the scope
 * items, so GET /fleet/state lists every scope in one Query and never scans.
 */
export const TRADING_SCOPE_PARTITION = 'trading_scope';

export const TradingScopeSchema = z.object({
  item_type: z.literal('trading_scope'),
  lock_scope: z.literal(TRADING_SCOPE_PARTITION),
  run_id: ScopeKeySchema,
  scope: z.enum(['fleet', 'account']),
  account_id: AccountIdSchema.nullable(),
  state: TradingStateSchema,
  /** Bumped by every state change; a change names the generation it read (a conditional write). */
  generation: z.number().int().nonnegative(),
  previous_state: TradingStateSchema.nullable(),
  /** The token subject (or the control plane's own component, e.g. a budget) that changed it last. */
  changed_by: z.string().min(1).max(256),
  reason: z.string().max(1024),
  changed_at: IsoTimestampSchema,
});
export type TradingScope = z.infer<typeof TradingScopeSchema>;

export const scopeRefOf = (scope: TradingScope): ScopeRef =>
  scope.scope === 'fleet' || scope.account_id === null ? FLEET : accountScope(scope.account_id);

/** A scope nobody ever changed: active, generation 0 (no item is stored until the first change). */
export const neverChangedScope = (scope: ScopeRef): TradingScope => ({
  item_type: 'trading_scope',
  lock_scope: TRADING_SCOPE_PARTITION,
  run_id: scopeKeyOf(scope),
  scope: scope.kind,
  account_id: scope.kind === 'account' ? scope.account_id : null,
  state: 'active',
  generation: 0,
  previous_state: null,
  changed_by: 'nobody',
  reason: 'never changed',
  changed_at: '1970-01-01T00:00:00.000Z',
});

export type ScopeCommand = { kind: 'halt'; mode: HaltMode } | { kind: 'resume' };

export type ScopeDecision =
  | { type: 'change'; from: TradingState; to: TradingState }
  /** Already in the asked state: nothing is written, but a halt re-applies itself to the sessions (a retry). */
  | { type: 'unchanged'; state: TradingState }
  | { type: 'refused'; reason: 'less_restrictive'; message: string };

/** What an operator's halt or resume does to a scope in `current`, from the transition table. */
export const decideScopeCommand = (current: TradingScope, command: ScopeCommand): ScopeDecision => {
  const to: TradingState = command.kind === 'resume' ? 'active' : command.mode;
  if (current.state === to) return { type: 'unchanged', state: to };
  if (!canChangeScope(current.state, to)) {
    return {
      type: 'refused',
      reason: 'less_restrictive',
      message: `${scopeNameOf(scopeRefOf(current))} is ${current.state} (by ${current.changed_by}: ${current.reason}); ${to} would relax it: resume it first`,
    };
  }
  return { type: 'change', from: current.state, to };
};

/** A session's own state: what its operator's intent and its status allow. */
export const sessionTradingState = (session: Pick<Session, 'status' | 'desired_state'>): TradingState => {
  if (session.desired_state === 'stopped' || session.status === 'stopping') return 'halted';
  if (session.status === 'stopped' || session.status === 'failed' || session.status === 'completed')
    return 'halted';
  return session.desired_state === 'paused' ? 'reducing' : 'active';
};

export interface EffectiveState {
  state: TradingState;
  /** Which of the three set it (the session itself when none is more restrictive than it). */
  cause: 'session' | 'account' | 'fleet';
}

/** The most restrictive of the session's own state, its account's and the fleet's. */
export const effectiveState = (
  session: Pick<Session, 'status' | 'desired_state'>,
  account: Pick<TradingScope, 'state'> | undefined,
  fleet: Pick<TradingScope, 'state'> | undefined,
): EffectiveState => {
  const candidates: [EffectiveState['cause'], TradingState][] = [
    ['session', sessionTradingState(session)],
    ['account', account?.state ?? 'active'],
    ['fleet', fleet?.state ?? 'active'],
  ];
  let best: EffectiveState = { state: 'active', cause: 'session' };
  for (const [cause, state] of candidates)
    if (RESTRICTION[state] > RESTRICTION[best.state]) best = { state, cause };
  return best;
};

/** A scope applies to the bots: one-shot runs (backtest, hyperopt, train) place no orders. */
export const isInScope = (session: Session, scope: ScopeRef): boolean =>
  isServiceMode(session.trading_mode) &&
  (scope.kind === 'fleet' || (session.account_id ?? null) === scope.account_id);

/** Statuses whose sessions a scope change acts on (the agent may be up, or about to be). */
export const SCOPE_ACTED_STATUSES = [
  'pending',
  'launching',
  'running',
  'paused',
  'stale',
  'stopping',
] as const;

export type ScopeSessionAction =
  /** Intent to paused, the scope recorded as holding it (so its resume, and only its, resumes it). */
  | { type: 'hold' }
  /** Stop with flatten: the agent closes every position, then the session stops. */
  | { type: 'stop_flatten' }
  /** Back to running: this scope was the last one holding it. */
  | { type: 'release_and_resume' }
  /** Drop this scope's hold, leave the intent alone (another scope holds it, or a breach keeps it paused). */
  | { type: 'release'; keptPausedBecause: string | null }
  /**
   * Drop this scope's hold, intent left paused: the agent holds Freqtrade stopped for the rest of its task,
   * so running intent would show a trading bot over a stopped one (the operator's resume refuses it too).
   */
  | { type: 'release_held'; hold: AgentHold }
  | { type: 'none'; why: string };

const holdsOf = (session: Session): readonly string[] => session.scope_holds ?? [];

/** What the scope in state `to` owes one session in it (the fan-out only executes this). */
export const scopeActionFor = (session: Session, scopeKey: string, to: TradingState): ScopeSessionAction => {
  const holds = holdsOf(session);
  if (to === 'halted') {
    if (session.status === 'stopping')
      return session.flatten_on_stop
        ? { type: 'none', why: 'already stopping with flatten' }
        : { type: 'none', why: 'already stopping WITHOUT flatten: close its positions on the exchange' };
    if (session.status === 'stopped' || session.status === 'failed' || session.status === 'completed')
      return { type: 'none', why: `already ${session.status}` };
    return { type: 'stop_flatten' };
  }
  if (to === 'reducing') {
    if (session.status === 'stopping') return { type: 'none', why: 'stopping' };
    if (holds.includes(scopeKey)) return { type: 'none', why: 'already held by this scope' };
    if (session.desired_state === 'running' || holds.length > 0) return { type: 'hold' };
    return { type: 'none', why: "paused for another reason (not this scope's to resume)" };
  }
  if (!holds.includes(scopeKey)) return { type: 'none', why: 'not held by this scope' };
  if (holds.length > 1) return { type: 'release', keptPausedBecause: 'another scope still holds it' };
  // A resume clears the agent's breach latch (the operator's resume-after-breach rule): a scope's resume
  // must not do that on the operator's behalf.
  if (isBreached(session)) return { type: 'release', keptPausedBecause: 'its risk limits are breached' };
  const hold = agentHoldOf(session.health);
  if (hold !== null) return { type: 'release_held', hold };
  return { type: 'release_and_resume' };
};

/**
 * Whether the agent has confirmed the scope's state: `reducing` once its heartbeat reports Freqtrade paused
 * (or the status already says so), `halted` once the session is over.
 */
export const confirmsScopeState = (session: Session, state: TradingState): boolean => {
  const over = session.status === 'stopped' || session.status === 'failed' || session.status === 'completed';
  if (state === 'halted') return over;
  // The agent's own report is the confirmation: the status follows it only once the stream processor has
  // seen that heartbeat, which under load lags the agent.
  if (state === 'reducing')
    return (
      over ||
      session.status === 'paused' ||
      (session.desired_state === 'paused' && session.health?.freqtrade_state === 'paused')
    );
  return true;
};

export interface ScopeChange {
  scope: ScopeRef;
  to: TradingState;
  /** The generation the caller read: the write is refused when the scope changed since. */
  expectedGeneration: number;
  actor: string;
  reason: string;
}

export type ScopeChangeResult =
  | { ok: true; scope: TradingScope; previous: TradingScope }
  | { ok: false; reason: 'conflict'; current: TradingScope; message: string };

/** Why a scope refused a start or a claim: the 409 names the scope, who set it and why. */
export interface ScopeRefusal {
  scope: TradingScope;
  message: string;
}

export const scopeRefusalOf = (scope: TradingScope): ScopeRefusal => ({
  scope,
  message: `the ${scopeNameOf(scopeRefOf(scope))} is ${scope.state} (by ${scope.changed_by} at ${scope.changed_at}: ${scope.reason}); nothing starts or resumes in it until it is resumed`,
});

/**
 * Scope items and the per-session writes a scope change makes. Implemented by DynamoSessionStore: the
 * items sit in the sessions table so a start's transaction can check the fleet's state (no race with a
 * halt) and a live claim's can check its account's.
 */
export interface TradingScopeStore {
  /** The stored item, or the never-changed `active` scope (generation 0). Strongly consistent. */
  getTradingScope(scope: ScopeRef): Promise<TradingScope>;
  /** Every scope ever changed (fleet and accounts), through the lock GSI: one Query, no Scan. */
  listTradingScopes(): Promise<TradingScope[]>;
  /** Conditional on the generation read and on the transition table; bumps the generation. */
  changeTradingScope(change: ScopeChange): Promise<ScopeChangeResult>;
  /** Pauses the session for this scope (or joins the scopes already holding its pause). */
  holdForScope(runId: string, scopeKey: string): Promise<UpdateResult>;
  /** Stop with flatten, the scope named as the cause. */
  stopForScope(runId: string, scopeKey: string, reason: string): Promise<UpdateResult>;
  /** Drops this scope's hold; with `resume`, and only when it was the last hold, the intent goes back to running. */
  releaseScopeHold(runId: string, scopeKey: string, resume: boolean): Promise<UpdateResult>;
}

export type ScopedResumeResult =
  | UpdateResult
  | { ok: false; reason: 'scope_not_active'; scope: TradingScope; message: string };
