import type { Session } from './session';

/** DESIGN.md §3: a heartbeat older than this marks the session stale (seed §8 alarm threshold). */
export const DEFAULT_STALE_AFTER_S = 180;

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
