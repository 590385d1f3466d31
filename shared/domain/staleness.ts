import type { Session } from './session';

/**
 * A heartbeat older than this marks the session stale. The seed's 180 s (DESIGN.md §3) is an upper bound:
 * 35 s is two heartbeats (15 s) and a margin, above the agent's 30 s fail-closed window, so a hung agent
 * is paged within 45 s (issue 14; the figures in bench/fleet.ts's cost curve).
 */
export const DEFAULT_STALE_AFTER_S = 35;

/** Seconds since the last heartbeat, or since the session started running when none has come yet. */
export const heartbeatAgeSeconds = (
  session: Pick<Session, 'last_heartbeat' | 'started_at'>,
  nowMs: number,
) => {
  const reference = session.last_heartbeat ?? session.started_at;
  if (reference === null) return undefined;
  return Math.max(0, (nowMs - Date.parse(reference)) / 1000);
};

export const isHeartbeatStale = (
  session: Pick<Session, 'last_heartbeat' | 'started_at'>,
  nowMs: number,
  staleAfterS: number = DEFAULT_STALE_AFTER_S,
): boolean => {
  const age = heartbeatAgeSeconds(session, nowMs);
  return age !== undefined && age > staleAfterS;
};

/** How long a session has been in its current status: launch timeouts and stop grace periods use it. */
export const secondsInStatus = (session: Pick<Session, 'status_changed_at'>, nowMs: number): number =>
  Math.max(0, (nowMs - Date.parse(session.status_changed_at)) / 1000);
