import type { Clock } from '../../shared/domain/clock';
import {
  type Heartbeat,
  historyEntryOf,
  isSnapshotDue,
  type LastSnapshot,
  SNAPSHOT_EVERY_MS,
} from '../../shared/domain/heartbeat';
import type { Session } from '../../shared/domain/session';
import type { SessionStore } from '../../shared/domain/session-store';
import { type AgentLogger, describeError } from './logger';

export type HeartbeatOutcome =
  /** `session`: the session as the snapshot wrote it; null for a beat, which carries none. */
  | { kind: 'ok'; session: Session | null }
  | { kind: 'fenced'; reason: 'not_found' | 'terminal' | 'superseded'; message: string }
  | { kind: 'error'; message: string };

export interface HeartbeatReporterOptions {
  store: SessionStore;
  clock: Clock;
  logger: AgentLogger;
  strategyId: string;
  /** The seq the session held when claimed; ours continue after it. */
  initialSeq: number;
  build: (seq: number, at: string) => Heartbeat;
  /** PnL history keeps a point at most this often (default HISTORY_EVERY_MS), not one per heartbeat. */
  historyEveryMs?: number;
  /** A snapshot at least this often while nothing changes (default SNAPSHOT_EVERY_MS); beats between. */
  snapshotEveryMs?: number;
}

/**
 * `snapshot`: write the session's figures now (a confirmed command, a risk step, a last heartbeat, a stale
 * session to recover). `cadence`: the interval's heartbeat, a snapshot only when isSnapshotDue says so.
 */
export type HeartbeatMode = 'snapshot' | 'cadence';

/**
 * 30 s: the charts' resolution before heartbeats came every 15 s. A point is a write unit, so one per
 * heartbeat would double the history's cost for a resolution nobody reads.
 */
export const HISTORY_EVERY_MS = 30_000;

/** Every other heartbeat up to 30 s apart (fast test intervals keep their points), never more than one each. */
export const historyEveryMsFor = (heartbeatIntervalS: number): number =>
  Math.max(heartbeatIntervalS * 1000, Math.min(HISTORY_EVERY_MS, 2 * heartbeatIntervalS * 1000));
/** Timers drift: a heartbeat a little early still counts as the next point's. */
const HISTORY_TOLERANCE = 0.9;

/**
 * One fenced UpdateItem per heartbeat: a snapshot (store.recordHeartbeat) or a beat (store.recordBeat).
 * Sends are serialized, so the seq, shared by both, is monotonic even when a breach report and the
 * interval's heartbeat fall together. History points come with snapshots.
 */
export class HeartbeatReporter {
  readonly #options: HeartbeatReporterOptions;
  #seq: number;
  #chain: Promise<unknown> = Promise.resolve();
  #lastSuccessAt: number | undefined;
  #lastOk = false;
  #sent = 0;
  #lastHistoryAt: number | undefined;
  #lastSnapshot: LastSnapshot | undefined;

  constructor(options: HeartbeatReporterOptions) {
    this.#options = options;
    this.#seq = options.initialSeq;
  }

  get lastSuccessAt(): number | undefined {
    return this.#lastSuccessAt;
  }

  get lastOk(): boolean {
    return this.#lastOk;
  }

  get sent(): number {
    return this.#sent;
  }

  send(reason: string, mode: HeartbeatMode = 'snapshot'): Promise<HeartbeatOutcome> {
    const next = this.#chain.then(() => this.#send(reason, mode));
    this.#chain = next.catch(() => undefined);
    return next;
  }

  async #send(reason: string, mode: HeartbeatMode): Promise<HeartbeatOutcome> {
    const { clock } = this.#options;
    const seq = this.#seq + 1;
    const heartbeat = this.#options.build(seq, new Date(clock.now()).toISOString());
    const snapshot = isSnapshotDue(
      this.#lastSnapshot,
      heartbeat,
      clock.now(),
      mode === 'snapshot',
      this.#options.snapshotEveryMs ?? SNAPSHOT_EVERY_MS,
    );
    return snapshot ? this.#sendSnapshot(reason, heartbeat) : this.#sendBeat(reason, heartbeat);
  }

  #accepted(seq: number) {
    this.#seq = seq;
    this.#sent += 1;
    this.#lastOk = true;
    this.#lastSuccessAt = this.#options.clock.now();
  }

  #failed(reason: string, seq: number, error: unknown): HeartbeatOutcome {
    this.#lastOk = false;
    this.#options.logger.warn('heartbeat failed', { reason, seq, ...describeError(error) });
    return { kind: 'error', message: error instanceof Error ? error.message : String(error) };
  }

  async #sendBeat(reason: string, heartbeat: Heartbeat): Promise<HeartbeatOutcome> {
    const { store, logger } = this.#options;
    const { seq } = heartbeat;
    let result: Awaited<ReturnType<SessionStore['recordBeat']>>;
    try {
      result = await store.recordBeat({
        run_id: heartbeat.run_id,
        agent_id: heartbeat.agent_id,
        seq,
        at: heartbeat.at,
      });
    } catch (error) {
      return this.#failed(reason, seq, error);
    }
    if (result.ok) {
      this.#accepted(seq);
      logger.debug('beat', { reason, seq });
      return { kind: 'ok', session: null };
    }
    this.#lastOk = false;
    if (result.reason === 'out_of_order') {
      this.#seq = Math.max(seq, result.currentSeq ?? seq);
      logger.warn('beat out of order', { seq, detail: result.message });
      return { kind: 'error', message: result.message };
    }
    return { kind: 'fenced', reason: result.reason, message: result.message };
  }

  async #sendSnapshot(reason: string, heartbeat: Heartbeat): Promise<HeartbeatOutcome> {
    const { store, clock, logger } = this.#options;
    const { seq } = heartbeat;
    let result: Awaited<ReturnType<SessionStore['recordHeartbeat']>>;
    try {
      result = await store.recordHeartbeat(heartbeat);
    } catch (error) {
      return this.#failed(reason, seq, error);
    }
    if (result.ok) {
      this.#accepted(seq);
      this.#lastSnapshot = { atMs: clock.now(), heartbeat };
      logger.debug('heartbeat', { reason, seq, desired_state: result.desiredState });
      const everyMs = this.#options.historyEveryMs ?? HISTORY_EVERY_MS;
      const now = clock.now();
      if (this.#lastHistoryAt === undefined || now - this.#lastHistoryAt >= everyMs * HISTORY_TOLERANCE) {
        this.#lastHistoryAt = now;
        // History is for PnL charts: losing one point must never hold up the heartbeat.
        store.appendHistory([historyEntryOf(this.#options.strategyId, heartbeat)]).catch((error: unknown) => {
          logger.warn('history write failed', describeError(error));
        });
      }
      return { kind: 'ok', session: result.session };
    }
    if (result.reason === 'out_of_order') {
      // Someone wrote a newer seq with our agent id (should not happen): jump past it next time.
      const current = await store.get(heartbeat.run_id).catch(() => undefined);
      this.#seq = Math.max(seq, current?.heartbeat_seq ?? seq);
      this.#lastOk = false;
      logger.warn('heartbeat out of order', { seq, detail: result.message });
      return { kind: 'error', message: result.message };
    }
    this.#lastOk = false;
    return { kind: 'fenced', reason: result.reason, message: result.message };
  }
}
