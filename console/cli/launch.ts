import type { SessionView } from './replies';

/** Where a start stands while `tradai start` follows it: pending -> launching -> running, or failed. */
export type LaunchVerdict = { kind: 'waiting' } | { kind: 'launched' } | { kind: 'failed'; reason: string };

/**
 * One status read. Running (or paused/stale, which only a launched session reaches, or completed for a
 * one-shot run) means the launch is done; failed, or a stop before it ran, means it is not.
 */
export const launchVerdict = (session: Pick<SessionView, 'status' | 'status_reason'>): LaunchVerdict => {
  switch (session.status) {
    case 'pending':
    case 'launching':
      return { kind: 'waiting' };
    case 'running':
    case 'paused':
    case 'stale':
    case 'completed':
      return { kind: 'launched' };
    case 'failed':
      return { kind: 'failed', reason: session.status_reason ?? 'no reason recorded' };
    case 'stopping':
    case 'stopped':
      return {
        kind: 'failed',
        reason: `stopped before it ran: ${session.status_reason ?? 'no reason recorded'}`,
      };
  }
};
