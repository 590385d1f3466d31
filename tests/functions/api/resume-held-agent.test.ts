import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../../functions/api/control-strategy/handler';
import type { SessionHealth } from '../../../shared/domain/session';
import { type ApiTestEnv, errorOf, type Invoke, invoker, runningSession, startApiTest } from './support';

/** What a held agent reports in every heartbeat: Freqtrade stopped by its own decision, and why. */
const HELD: Record<'fail_closed' | 'start_failure', Partial<SessionHealth>> = {
  fail_closed: {
    fail_closed: {
      command: 'pause',
      failure: 'POST /api/v1/pause: 500 Internal Server Error',
      action: 'process_stopped',
      at: '2026-03-02T10:00:05.000Z',
    },
  },
  start_failure: {
    start_failure: {
      restarts: 5,
      window_s: 600,
      since: '2026-03-02T09:55:00.000Z',
      last_exit: 'code 1',
      action: 'restarts_stopped',
    },
  },
};

describe('Handler: control-strategy, resume of a session whose agent holds Freqtrade stopped', () => {
  let env: ApiTestEnv;
  let invoke: Invoke;
  let strategySeq = 0;
  const resume = (strategyId: string) =>
    invoke({
      method: 'POST',
      route: '/strategies/{strategyId}/resume',
      params: { strategyId },
      body: { reason: 'reviewed' },
    });

  beforeAll(async () => {
    env = await startApiTest();
    invoke = invoker(createHandler(env.deps));
  });
  afterAll(async () => env.close());

  it.each(['fail_closed', 'start_failure'] as const)(
    'refuses the resume with 409 naming %s, instead of accepting it while Freqtrade stays stopped (a silent dead bot)',
    async (cause) => {
      // prepare: paused (as a breach pauses it), then the agent stopped Freqtrade and holds.
      const strategyId = `held-${cause.replace('_', '-')}-${++strategySeq}`;
      const session = await runningSession(env, strategyId);
      await env.deps.store.setDesiredState(session.run_id, 'paused');
      const held = await env.deps.store.recordHeartbeat({
        run_id: session.run_id,
        agent_id: session.agent_id ?? '',
        seq: session.heartbeat_seq + 1,
        at: new Date(env.clock.now()).toISOString(),
        metrics: session.metrics ?? undefined,
        health: { ...(session.health as SessionHealth), freqtrade_state: 'stopped', ...HELD[cause] },
        risk: session.risk ?? undefined,
        open_trades: session.open_trades,
      } as Parameters<typeof env.deps.store.recordHeartbeat>[0]);
      if (!held.ok) throw new Error(held.message);

      // act
      const response = await resume(strategyId);

      // assess
      expect(response.statusCode).toBe(409);
      const error = errorOf(response);
      expect(error.code).toBe('agent_held');
      expect(error.message).toContain(cause);
      expect(error.message).toContain(`POST /strategies/${strategyId}/stop`);
      expect(response.body.error).toMatchObject({ details: { run_id: session.run_id, held_by: cause } });
      expect((await env.deps.store.get(session.run_id))?.desired_state).toBe('paused');
      const audit = await env.deps.audit.listByStrategy(strategyId);
      expect(audit.items).toEqual([expect.objectContaining({ action: 'resume', outcome: 'refused' })]);
    },
  );
});
