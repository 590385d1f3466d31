import type { AgentHold } from '../domain/agent-report';
import { describeAgentHold } from '../domain/agent-report';
import type { Clock } from '../domain/clock';
import type { Session } from '../domain/session';
import type { SessionStore } from '../domain/session-store';
import {
  confirmsScopeState,
  isInScope,
  SCOPE_ACTED_STATUSES,
  type ScopeSessionAction,
  scopeActionFor,
  scopeNameOf,
  scopeRefOf,
  type TradingScope,
  type TradingScopeStore,
} from '../domain/trading-scope';

/**
 * Executes a scope's state on the sessions in it: the halt or resume fans out onto each session's
 * desired_state (and flatten_on_stop), which the agent's existing control poll already reads. The cost is
 * paid once, at the change (one status-index page per 100 sessions, one GetItem and at most two
 * UpdateItems per session), and nothing per poll. Used by the API's halt and resume, and by whatever else
 * moves a scope (an account budget's breach).
 */
export interface ScopeFanOutDeps {
  store: SessionStore & TradingScopeStore;
  clock: Clock;
}

export interface ScopeFanOutOptions {
  /** Status-index page size. */
  pageSize?: number;
  /** Sessions written at once. */
  concurrency?: number;
}

export interface ScopeSessionRef {
  run_id: string;
  strategy_id: string;
  trading_mode: Session['trading_mode'];
}

export interface FanOutReport {
  /** Sessions this change wrote to, with what it did. */
  acted: (ScopeSessionRef & { action: ScopeSessionAction['type']; note: string | null })[];
  /** Sessions in the scope it left alone, and why (an operator's pause, already stopping, ...). */
  untouched: (ScopeSessionRef & { why: string })[];
  /**
   * Sessions whose hold this resume dropped but that stay paused: their agent holds Freqtrade stopped
   * for the rest of its task. Each needs a stop and a new start, never a resume.
   */
  held: (ScopeSessionRef & { reason: 'agent_held'; held_by: AgentHold['held_by']; message: string })[];
  /** Writes that failed (a fault, or the session moved on meanwhile): the page names them. */
  failed: (ScopeSessionRef & { error: string })[];
  /** Live sessions in the scope (resuming a scope with any needs the live permission). */
  live: number;
}

const refOf = (session: Session): ScopeSessionRef => ({
  run_id: session.run_id,
  strategy_id: session.strategy_id,
  trading_mode: session.trading_mode,
});

const inPool = async <T>(items: readonly T[], size: number, work: (item: T) => Promise<void>) => {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
};

/**
 * Every non-terminal service-mode session in the scope, one status-index Query per page (never a Scan).
 * The index is eventually consistent: each session is read again (strongly) before anything is decided.
 */
export const sessionsInScope = async (
  store: SessionStore,
  scope: TradingScope,
  options: ScopeFanOutOptions = {},
): Promise<Session[]> => {
  const ref = scopeRefOf(scope);
  const found: Session[] = [];
  // One status at a time would add its round trips to every halt's latency: the statuses go in parallel.
  await Promise.all(
    SCOPE_ACTED_STATUSES.map(async (status) => {
      let cursor: string | undefined;
      do {
        const page = await store.listByStatus(status, { limit: options.pageSize ?? 100, cursor });
        for (const session of page.items) if (isInScope(session, ref)) found.push(session);
        cursor = page.cursor;
      } while (cursor !== undefined);
    }),
  );
  // A session whose status changed between two of the queries is in both: once is enough.
  return [...new Map(found.map((session) => [session.run_id, session])).values()];
};

const describeError = (error: unknown) =>
  error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 256) : String(error);

/** Applies `scope` (as written) to every session in it; never throws for one session's fault. */
export const applyScopeToSessions = async (
  deps: ScopeFanOutDeps,
  scope: TradingScope,
  options: ScopeFanOutOptions = {},
): Promise<FanOutReport> => {
  const { store } = deps;
  const report: FanOutReport = { acted: [], untouched: [], held: [], failed: [], live: 0 };
  const listed = await sessionsInScope(store, scope, options);
  const reason = `${scopeNameOf(scopeRefOf(scope))} ${scope.state} by ${scope.changed_by}: ${scope.reason}`;
  /** One decision executed; undefined when the store refused it because the session moved on. */
  const execute = async (session: Session, action: ScopeSessionAction) => {
    switch (action.type) {
      case 'none':
        return undefined;
      case 'hold':
        return store.holdForScope(session.run_id, scope.run_id);
      case 'stop_flatten':
        return store.stopForScope(session.run_id, scope.run_id, reason.slice(0, 1024));
      case 'release_and_resume':
        return store.releaseScopeHold(session.run_id, scope.run_id, true);
      case 'release':
      case 'release_held':
        return store.releaseScopeHold(session.run_id, scope.run_id, false);
    }
  };
  await inPool(listed, options.concurrency ?? 32, async (seen) => {
    try {
      // The listed image decides first: a hold or a stop is a conditional write that refuses a session
      // that moved on, so the common case costs one write and no read. Anything else, or a refusal, is
      // decided again from the item as it is now (strongly consistent).
      let session: Session | undefined = seen;
      let action = scopeActionFor(seen, scope.run_id, scope.state);
      let result =
        action.type === 'hold' || action.type === 'stop_flatten' ? await execute(seen, action) : undefined;
      if (result === undefined || !result.ok) {
        session = await store.get(seen.run_id);
        if (session === undefined) return;
        action = scopeActionFor(session, scope.run_id, scope.state);
        result = await execute(session, action);
      }
      if (session.trading_mode === 'live') report.live += 1;
      const ref = refOf(session);
      if (action.type === 'none' || result === undefined) {
        report.untouched.push({ ...ref, why: action.type === 'none' ? action.why : 'nothing to do' });
      } else if (result.ok && action.type === 'release_held') {
        report.held.push({
          ...ref,
          reason: 'agent_held',
          held_by: action.hold.held_by,
          message: `kept paused: its agent holds Freqtrade stopped (${describeAgentHold(action.hold)}) and will not trade again in this task. Check the positions on the exchange, then stop it (POST /strategies/${session.strategy_id}/stop) and start it again.`,
        });
      } else if (result.ok) {
        report.acted.push({
          ...ref,
          action: action.type,
          note: action.type === 'release' ? `kept paused: ${action.keptPausedBecause}` : null,
        });
      } else if (result.reason !== 'not_found') {
        report.failed.push({ ...ref, error: result.message });
      }
    } catch (error) {
      report.failed.push({ ...refOf(seen), error: describeError(error) });
    }
  });
  return report;
};

export interface ConfirmationReport {
  confirmed: ScopeSessionRef[];
  /** Not confirmed within the bound (hung, partitioned, still flattening): never counted as done. */
  unconfirmed: (ScopeSessionRef & {
    status: Session['status'];
    freqtrade_state: string | null;
    last_heartbeat: string | null;
  })[];
  waited_ms: number;
}

/**
 * Waits, bounded, until every session the change acted on confirms the scope's state (Freqtrade seen
 * paused, or the session over); whatever has not by then is listed, with what was last seen of it.
 */
export const awaitConfirmations = async (
  deps: ScopeFanOutDeps & { sleep?: (ms: number) => Promise<void>; now?: () => number },
  state: TradingScope['state'],
  sessions: readonly ScopeSessionRef[],
  bound: { timeoutMs: number; pollMs: number; concurrency?: number },
): Promise<ConfirmationReport> => {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  // Real agents answer in real time: the bound is wall time, whatever clock the store's timestamps use.
  const now = deps.now ?? (() => performance.now());
  const started = now();
  const confirmed = new Map<string, ScopeSessionRef>();
  const lastSeen = new Map<string, Session>();
  for (;;) {
    const waiting = sessions.filter((ref) => !confirmed.has(ref.run_id));
    await inPool(waiting, bound.concurrency ?? 16, async (ref) => {
      const session = await deps.store.get(ref.run_id).catch(() => undefined);
      if (session === undefined) return;
      lastSeen.set(ref.run_id, session);
      if (confirmsScopeState(session, state)) confirmed.set(ref.run_id, ref);
    });
    const elapsed = now() - started;
    if (confirmed.size === sessions.length || elapsed >= bound.timeoutMs) break;
    await sleep(Math.min(bound.pollMs, Math.max(0, bound.timeoutMs - elapsed)));
  }
  return {
    confirmed: sessions.filter((ref) => confirmed.has(ref.run_id)),
    unconfirmed: sessions
      .filter((ref) => !confirmed.has(ref.run_id))
      .map((ref) => {
        const seen = lastSeen.get(ref.run_id);
        return {
          ...ref,
          status: seen?.status ?? 'stale',
          freqtrade_state: seen?.health?.freqtrade_state ?? null,
          last_heartbeat: seen?.last_heartbeat ?? null,
        };
      }),
    waited_ms: now() - started,
  };
};
