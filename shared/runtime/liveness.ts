import { withBeat } from '../domain/heartbeat';
import { isTerminal, type Session } from '../domain/session';
import type { SessionStore } from '../domain/session-store';

/**
 * The sessions with their liveness: each one not over is joined with its beat (withBeat), one BatchGetItem
 * per 100. A session's own last_heartbeat is its last snapshot's, up to a minute old; whatever judges or
 * shows a heartbeat's age reads sessions through this.
 */
export const withLiveness = async (
  store: Pick<SessionStore, 'beatsOf'>,
  sessions: readonly Session[],
): Promise<Session[]> => {
  const active = sessions.filter((session) => !isTerminal(session.status));
  if (active.length === 0) return [...sessions];
  const beats = await store.beatsOf(active.map((session) => session.run_id));
  return sessions.map((session) => withBeat(session, beats.get(session.run_id)));
};
