import type { ContainerPlatform } from '../domain/ports';
import type { Session } from '../domain/session';
import type { SessionStore } from '../domain/session-store';

export type LockReleaseOutcome = 'released' | 'already_free' | 'container_running' | 'handed_off';

/** What the release did, as a line for the page's "Done". */
export const describeLockRelease = (outcome: LockReleaseOutcome): string =>
  ({
    released: 'strategy lock released, with its account leases',
    already_free: 'strategy lock already free',
    container_running:
      'strategy lock kept until the container is confirmed gone (ECS STOPPED event or the sweep frees it)',
    handed_off: 'strategy lock and account leases kept for the successor run, which takes them in its claim',
  })[outcome];

/**
 * Frees a finished session's strategy lock and account leases, but only once its container is confirmed
 * gone: a task asked to stop can trade on until its StopTimeout (120 s), and a new session on the same
 * strategy or account must never overlap it. Called at teardown, on ECS STOPPED events and by the sweep
 * (the backstop); idempotent, so any of them may come first.
 */
export const releaseLockIfContainerGone = async (
  store: Pick<SessionStore, 'releaseLock'>,
  platform: Pick<ContainerPlatform, 'containerGone'>,
  session: Pick<Session, 'strategy_id' | 'run_id' | 'container'>,
): Promise<LockReleaseOutcome> => {
  if (session.container !== null && !(await platform.containerGone(session.container)))
    return 'container_running';
  const released = await store.releaseLock(session.strategy_id, session.run_id);
  if (released.ok) return 'released';
  return released.reason === 'handing_off' ? 'handed_off' : 'already_free';
};
