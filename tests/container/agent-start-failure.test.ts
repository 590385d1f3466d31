import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/domain/clock';
import { useAgentFixture } from './support/fixture';
import { pollUntil } from './support/poll';
import { startAgent } from './support/run';

describe('Agent: a Freqtrade that never comes up (issue 8 finding 4)', () => {
  const { fx, agents } = useAgentFixture();

  it('stops restarting after N restarts in M minutes without a live loop and reports the breach (it restarted forever, silently)', async () => {
    // prepare: a clock that stands still, so every restart falls inside the window and the start-up
    // grace never runs out (as with the 60 s backoff cap inside the 90 s grace on real time)
    const clock = new ManualClock('2026-06-01T12:00:00.000Z');
    const { runId, options } = await fx.session();
    const agent = await startAgent(
      {
        ...options,
        freqtradeCmd: '/bin/false',
        restartBackoffMaxS: 0.05,
        maxRestarts: 4,
        restartWindowS: 600,
      },
      { store: fx.store, clock },
    );
    agents.push(agent);
    // act
    const session = await pollUntil(
      'the start failure on the session',
      async () => {
        const s = await fx.store.get(runId);
        return s?.health?.start_failure ? s : undefined;
      },
      20_000,
    );
    // assess
    expect(session.health?.start_failure).toMatchObject({
      restarts: 4,
      window_s: 600,
      action: 'restarts_stopped',
      last_exit: 'code 1',
    });
    expect(session.health?.freqtrade_state).toBe('stopped');
    await pollUntil('agent held', () => agent.handle.status().phase === 'held');
    expect(agent.handle.status()).toMatchObject({ phase: 'held', restarts: 4 });
    expect(agent.exits).toEqual([]);
  });

  it('reports how a crashed Freqtrade ended and its restarts in the window, for a WARNING that escalates', async () => {
    // prepare
    const { runId, options } = await fx.session({
      sim: { scenario: { name: 'crash', at_s: 0.5, exit_code: 3 } },
    });
    const agent = await startAgent({ ...options, restartBackoffMaxS: 0.1 }, { store: fx.store });
    agents.push(agent);
    // act
    const session = await pollUntil(
      'a crash reported',
      async () => {
        const s = await fx.store.get(runId);
        return (s?.health?.freqtrade_restarts ?? 0) >= 1 && s?.health?.last_exit ? s : undefined;
      },
      30_000,
    );
    // assess
    expect(session.health?.last_exit).toBe('code 3');
    expect(session.health?.restarts_in_window).toBeGreaterThanOrEqual(1);
    expect(session.health?.start_failure ?? null).toBeNull();
  });
});
