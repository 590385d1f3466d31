import { isTerminal, SESSION_STATUSES, type Session } from '../../../shared/domain/session';
import type { SessionStore } from '../../../shared/domain/session-store';

const PAGE_SIZE = 200;
/** Bounds one listing: at most this many pages per status (the GSI is queried, never scanned). */
const MAX_PAGES_PER_STATUS = 25;

/** Which of two sessions of one strategy stands for it: the active one, else the latest. */
const represents = (candidate: Session, current: Session): boolean => {
  const candidateActive = !isTerminal(candidate.status);
  const currentActive = !isTerminal(current.status);
  if (candidateActive !== currentActive) return candidateActive;
  return candidate.created_at > current.created_at;
};

export interface StrategyListing {
  /** Each strategy's current session, or its last one when none is active; sorted by strategy id. */
  sessions: Session[];
  /** True when a status had more sessions than one listing reads; the oldest were not looked at. */
  truncated: boolean;
}

/**
 * Lists strategies through the SessionStore port alone: every status is read from the status GSI and the
 * sessions are grouped by strategy. The port has no "list strategies" (the lock items carry no GSI key),
 * so this reads terminal sessions too, bounded per status.
 */
export const listStrategies = async (store: SessionStore): Promise<StrategyListing> => {
  const perStatus = await Promise.all(
    SESSION_STATUSES.map(async (status) => {
      const sessions: Session[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await store.listByStatus(status, {
          limit: PAGE_SIZE,
          ...(cursor === undefined ? {} : { cursor }),
        });
        sessions.push(...page.items);
        cursor = page.cursor;
        pages += 1;
      } while (cursor !== undefined && pages < MAX_PAGES_PER_STATUS);
      return { sessions, truncated: cursor !== undefined };
    }),
  );
  const byStrategy = new Map<string, Session>();
  for (const session of perStatus.flatMap((result) => result.sessions)) {
    const current = byStrategy.get(session.strategy_id);
    if (current === undefined || represents(session, current)) byStrategy.set(session.strategy_id, session);
  }
  return {
    sessions: [...byStrategy.values()].sort((a, b) => a.strategy_id.localeCompare(b.strategy_id)),
    truncated: perStatus.some((result) => result.truncated),
  };
};
