import type { Session } from '../../../shared/domain/session';
import type { SessionStore, StrategyLock } from '../../../shared/domain/session-store';

const PAGE_SIZE = 200;
/** Bounds one listing (10,000 strategies); the lock GSI is queried, never the table scanned. */
const MAX_PAGES = 50;
/** Session reads in flight at once while resolving each strategy's session. */
const READ_CONCURRENCY = 16;

export interface StrategyListing {
  /** Each strategy's current session, or its last one when none is active; sorted by strategy id. */
  sessions: Session[];
  /** True when there were more strategies than one listing reads. */
  truncated: boolean;
}

/**
 * One lock item per strategy (the sparse strategy-lock GSI) names its active run, or its last one; each
 * is read by key. Cost grows with the number of strategies, not with their history of sessions.
 */
export const listStrategies = async (store: SessionStore): Promise<StrategyListing> => {
  const locks: StrategyLock[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await store.listStrategies({
      limit: PAGE_SIZE,
      ...(cursor === undefined ? {} : { cursor }),
    });
    locks.push(...page.items);
    cursor = page.cursor;
    pages += 1;
  } while (cursor !== undefined && pages < MAX_PAGES);

  const sessions: (Session | undefined)[] = new Array(locks.length);
  let next = 0;
  const worker = async () => {
    while (next < locks.length) {
      const index = next++;
      const lock = locks[index] as StrategyLock;
      sessions[index] = await store.get(lock.active_run_id ?? lock.last_run_id);
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, locks.length) }, worker));
  return {
    sessions: sessions
      .filter((session): session is Session => session !== undefined)
      .sort((a, b) => a.strategy_id.localeCompare(b.strategy_id)),
    truncated: cursor !== undefined,
  };
};
