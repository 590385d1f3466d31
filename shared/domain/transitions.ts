import { SESSION_STATUSES, type SessionStatus } from './session';

/**
 * The one table of allowed status transitions (DESIGN.md §2). Every status write in the store is a
 * conditional write naming the predecessors this table allows, so a racing writer cannot skip a state.
 */
export const TRANSITIONS: Readonly<Record<SessionStatus, readonly SessionStatus[]>> = {
  pending: ['launching', 'stopping', 'failed'],
  launching: ['running', 'stopping', 'failed'],
  running: ['paused', 'stale', 'stopping', 'failed', 'completed'],
  paused: ['running', 'stale', 'stopping', 'failed'],
  stale: ['running', 'paused', 'stopping', 'failed'],
  stopping: ['stopped'],
  stopped: [],
  failed: [],
  completed: [],
};

export const canTransition = (from: SessionStatus, to: SessionStatus): boolean =>
  TRANSITIONS[from].includes(to);

export const predecessorsOf = (to: SessionStatus): SessionStatus[] =>
  SESSION_STATUSES.filter((from) => canTransition(from, to));
