import { describe, expect, it } from 'vitest';
import {
  canTransition,
  heartbeatAgeSeconds,
  isHeartbeatStale,
  newRunId,
  predecessorsOf,
  RunIdSchema,
  SESSION_STATUSES,
  StrategyIdSchema,
  TERMINAL_STATUSES,
  TRANSITIONS,
} from '../../shared/domain';

describe('Domain: status transitions', () => {
  it('lets nothing leave a terminal status', () => {
    for (const terminal of TERMINAL_STATUSES) expect(TRANSITIONS[terminal]).toEqual([]);
  });

  it('reaches every status from pending', () => {
    const seen = new Set<string>(['pending']);
    const queue = ['pending' as const];
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      for (const to of TRANSITIONS[next]) {
        if (!seen.has(to)) {
          seen.add(to);
          queue.push(to as never);
        }
      }
    }
    expect([...seen].sort()).toEqual([...SESSION_STATUSES].sort());
  });

  it('lets a stale session recover to running or paused', () => {
    expect(canTransition('stale', 'running')).toBe(true);
    expect(canTransition('stale', 'paused')).toBe(true);
  });

  it('names the predecessors of a status from the same table', () => {
    expect(predecessorsOf('stopping').sort()).toEqual(['launching', 'paused', 'pending', 'running', 'stale']);
    expect(predecessorsOf('pending')).toEqual([]);
  });
});

describe('Domain: staleness', () => {
  const now = Date.parse('2026-01-01T00:10:00.000Z');

  it('ages a session from its last heartbeat', () => {
    const session = { last_heartbeat: '2026-01-01T00:07:00.000Z', started_at: '2026-01-01T00:00:00.000Z' };

    expect(heartbeatAgeSeconds(session, now)).toBe(180);
    expect(isHeartbeatStale(session, now, 180)).toBe(false);
    expect(isHeartbeatStale(session, now + 1000, 180)).toBe(true);
  });

  it('ages a session that never reported from its start', () => {
    expect(heartbeatAgeSeconds({ last_heartbeat: null, started_at: '2026-01-01T00:09:00.000Z' }, now)).toBe(
      60,
    );
    expect(heartbeatAgeSeconds({ last_heartbeat: null, started_at: null }, now)).toBeUndefined();
  });
});

describe('Domain: run ids', () => {
  it('builds valid execution names', () => {
    const runId = newRunId('dry-run', 'pascal-btc', Date.parse('2026-03-01T12:34:56.789Z'), 'AbC123xyz');

    expect(runId).toBe('dry-run-pascal-btc-20260301123456-abc123xy');
    expect(RunIdSchema.safeParse(runId).success).toBe(true);
  });

  it('refuses strategy ids the API routes would shadow', () => {
    expect(StrategyIdSchema.safeParse('pnl').success).toBe(false);
    expect(StrategyIdSchema.safeParse('pnl-btc').success).toBe(true);
  });
});
