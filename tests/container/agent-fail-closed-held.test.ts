import { describe, expect, it } from 'vitest';
import type { Heartbeat } from '../../shared/domain/heartbeat';
import type { SessionStore } from '../../shared/domain/session-store';
import { useAgentFixture } from './support/fixture';
import { pollUntil } from './support/poll';
import { startAgent } from './support/run';

interface Attempt {
  heartbeat: Heartbeat;
  written: boolean;
}

/**
 * The store as an agent cut off from DynamoDB sees it: while `cut`, heartbeat writes and control polls
 * fail as an unreachable endpoint makes them fail. Every heartbeat the agent tried is kept for the test.
 */
const cuttable = (store: SessionStore, attempts: Attempt[]) => {
  const link = { cut: false };
  const unreachable = () =>
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8000'), { name: 'TimeoutError' });
  const proxy = new Proxy(store, {
    get(target, property) {
      if (property === 'recordHeartbeat') {
        return async (heartbeat: Heartbeat) => {
          const attempt = { heartbeat, written: false };
          attempts.push(attempt);
          if (link.cut) throw unreachable();
          const result = await target.recordHeartbeat(heartbeat);
          attempt.written = result.ok;
          return result;
        };
      }
      if (property === 'get') {
        return async (runId: string) => {
          if (link.cut) throw unreachable();
          return target.get(runId);
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { store: proxy, link };
};

describe('Agent: cut off from DynamoDB past its fail-closed window', () => {
  const { fx, agents } = useAgentFixture();

  it('reports its fail-closed pause as entries_held fail_closed until Freqtrade trades again (the status followed it: paged paused, then resumed)', async () => {
    // prepare
    const { options } = await fx.session({ sim: { tick_ms: 100 } });
    const attempts: Attempt[] = [];
    const { store, link } = cuttable(fx.store, attempts);
    const agent = await startAgent(options, { store });
    agents.push(agent);
    await pollUntil('a written heartbeat with Freqtrade running', () =>
      attempts.some((a) => a.written && a.heartbeat.health.freqtrade_state === 'running'),
    );

    // act: cut until the agent has paused Freqtrade, then restore until it trades again
    link.cut = true;
    const cutAt = attempts.length;
    await pollUntil('Freqtrade paused fail-closed', () =>
      attempts.slice(cutAt).some((a) => a.heartbeat.health.freqtrade_state === 'paused'),
    );
    link.cut = false;
    const restoredAt = attempts.length;
    await pollUntil('a written heartbeat with Freqtrade trading again', () =>
      attempts.slice(restoredAt).some((a) => a.written && a.heartbeat.health.freqtrade_state === 'running'),
    );

    // assess
    const paused = attempts.filter((a) => a.heartbeat.health.freqtrade_state === 'paused');
    expect(paused.length).toBeGreaterThan(0);
    expect(paused.every((a) => a.heartbeat.health.entries_held === 'fail_closed')).toBe(true);
    // The first heartbeat back is written before the agent resumes Freqtrade: it says why it is paused.
    const firstBack = attempts.slice(restoredAt).find((a) => a.written);
    expect(firstBack?.heartbeat.health).toMatchObject({
      freqtrade_state: 'paused',
      entries_held: 'fail_closed',
    });
    const tradingAgain = attempts
      .slice(restoredAt)
      .filter((a) => a.heartbeat.health.freqtrade_state === 'running');
    expect(tradingAgain.every((a) => a.heartbeat.health.entries_held === null)).toBe(true);
  });
});
