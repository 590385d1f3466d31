/**
 * The kill switch, measured on the local cloud (issue 12 item 3): N strategies trading, then
 * `POST /fleet/halt {mode: reducing}` and the time until each one's Freqtrade is paused; then
 * `{mode: halted}` and the time until every position is closed and every session stopped.
 */
import { loadavg } from 'node:os';
import type { Session } from '../shared/domain/session';
import {
  apiOf,
  eventually,
  FAST_MARKET,
  sessionWhere,
  startBody,
  startFastCloud,
} from '../tests/e2e/support';
import { percentile } from './stats';

/** Trades from the first loop, so the halt has positions to flatten. */
const TRADING = {
  ...FAST_MARKET,
  max_open_trades: 2,
  sim: { tick_ms: 200, open_trades_at_start: 0, entry_probability: 1, volatility: 0, drift: 0 },
};

export const runFleetHaltBench = async (options: {
  strategies: number;
}): Promise<Record<string, unknown>> => {
  const controlPollS = 1;
  const heartbeatS = 0.25;
  const cloud = await startFastCloud({
    restartDelayMs: () => 60_000,
    functionEnvironment: {
      STALE_AFTER_S: '30',
      LAUNCH_TIMEOUT_S: '300',
      STOP_GRACE_S: '120',
      SCOPE_CONFIRM_TIMEOUT_S: '20',
    },
    containerEnvironment: {
      HEARTBEAT_INTERVAL_S: String(heartbeatS),
      RISK_POLL_INTERVAL_S: '0.5',
      CONTROL_POLL_INTERVAL_S: String(controlPollS),
      FREQTRADE_TIMEOUT_S: '2',
      STOP_TIMEOUT_S: '30',
      LOG_LEVEL: 'warn',
    },
  });
  const api = apiOf(cloud);
  try {
    const runIds: string[] = [];
    for (let index = 0; index < options.strategies; index += 1) {
      // Twenty simulators booting on a small machine can push a start past its Lambda timeout: a retry
      // (same Idempotency-Key) never makes a second session.
      let started = { status: 0, body: {} as Record<string, unknown> };
      for (let attempt = 0; attempt < 5 && (attempt === 0 || started.status >= 500); attempt += 1)
        started = await api('POST', `/strategies/bench-halt-${index}/start`, {
          body: startBody(TRADING),
          headers: { 'idempotency-key': `bench-halt-${index}` },
        });
      // A start that timed out after creating its session: the retry names that session as the active one.
      const active = (started.body.error as { details?: { active_run_id?: string } } | undefined)?.details
        ?.active_run_id;
      if (started.status !== 202 && active === undefined)
        throw new Error(`start ${index}: ${JSON.stringify(started.body)}`);
      runIds.push(String(active ?? started.body.run_id));
    }
    for (const runId of runIds)
      await sessionWhere(
        cloud,
        runId,
        (s) => s.status === 'running' && s.health?.freqtrade_state === 'running' && s.open_trades.length > 0,
        'trading',
        300_000,
      );

    // reducing: each session's time from the request to the heartbeat that first reported its Freqtrade
    // paused (the agent's own timestamp, same machine clock: independent of how often this loop polls)
    // The function warm first (GET /fleet/state is the same function): the halt measures the fan-out and
    // the agents, not a cold start.
    await api('GET', '/fleet/state');
    const loadBefore = loadavg()[0] ?? 0;
    const pausedAfter = new Map<string, number>();
    const haltAt = performance.now();
    const haltWallMs = Date.now();
    const halting = api('POST', '/fleet/halt', { body: { mode: 'reducing', reason: 'bench' } });
    await eventually(
      async () => {
        const waiting = runIds.filter((runId) => !pausedAfter.has(runId));
        const seen = await Promise.all(waiting.map((runId) => cloud.store.get(runId)));
        for (const session of seen)
          if (session?.health?.freqtrade_state === 'paused' && session.last_heartbeat !== null)
            pausedAfter.set(session.run_id, Date.parse(session.last_heartbeat) - haltWallMs);
        return pausedAfter.size === runIds.length;
      },
      'every Freqtrade paused',
      120_000,
    );
    const reducing = await halting;
    const haltAnswerMs = performance.now() - haltAt;
    // The control plane's part: from the request until the session's intent was written (same machine clock).
    const heldAfter: number[] = [];
    const agentPart: number[] = [];
    for (const runId of runIds) {
      const changedAt = (await cloud.store.get(runId))?.desired_state_changed_at;
      if (!changedAt) continue;
      heldAfter.push(Date.parse(changedAt) - haltWallMs);
      agentPart.push((pausedAfter.get(runId) ?? Number.NaN) - (Date.parse(changedAt) - haltWallMs));
    }

    // halted: from the request until every position is closed and every session stopped
    const stopAt = performance.now();
    const stopping = api('POST', '/fleet/halt', { body: { mode: 'halted', reason: 'bench' } });
    const finals: Session[] = [];
    for (const runId of runIds)
      finals.push(await sessionWhere(cloud, runId, (s) => s.status === 'stopped', 'stopped', 300_000));
    const allStoppedMs = performance.now() - stopAt;
    const halted = await stopping;
    const samples = [...pausedAfter.values()];
    const body = (answer: { body: Record<string, unknown> }) =>
      answer.body.sessions as { unconfirmed: unknown[]; confirmed: unknown[] } | undefined;
    return {
      strategies: options.strategies,
      settings: { control_poll_s: controlPollS, heartbeat_interval_s: heartbeatS },
      halt_to_freqtrade_paused: {
        p50_ms: Math.round(percentile(samples, 50)),
        p99_ms: Math.round(percentile(samples, 99)),
        max_ms: Math.round(Math.max(...samples)),
        goal_p99_ms: controlPollS * 1000 + 1000,
        note: "to the agent's heartbeat reporting Freqtrade paused (sent at once after a confirmed pause); the halt request itself answers once every agent confirmed",
      },
      halt_to_intent_written: {
        p50_ms: Math.round(percentile(heldAfter, 50)),
        p99_ms: Math.round(percentile(heldAfter, 99)),
        note: "the fan-out's share of the latency; the rest is the agent's control poll and Freqtrade's pause",
      },
      intent_written_to_freqtrade_paused: {
        p50_ms: Math.round(percentile(agentPart, 50)),
        p99_ms: Math.round(percentile(agentPart, 99)),
        note: "the agents' share: control poll, /pause, its confirmation and the heartbeat",
      },
      load_average_1m: {
        before_halt: Math.round(loadBefore * 10) / 10,
        after: Math.round((loadavg()[0] ?? 0) * 10) / 10,
      },
      halt_reducing_answer_ms: Math.round(haltAnswerMs),
      reducing_unconfirmed: body(reducing)?.unconfirmed.length ?? null,
      halted_to_all_stopped_ms: Math.round(allStoppedMs),
      positions_after_halt: Object.fromEntries(
        ['none', 'flattened', 'left_open', 'flatten_failed', 'unknown'].map((positions) => [
          positions,
          finals.filter((s) => (s.stop_outcome?.positions ?? 'unknown') === positions).length,
        ]),
      ),
      halted_unconfirmed: body(halted)?.unconfirmed.length ?? null,
      pages: cloud.alerts.published.filter((alert) => alert.kind.startsWith('scope.')).length,
      session_pages_during_halt: cloud.alerts.published.filter(
        (alert) => alert.kind === 'status.paused' || alert.kind === 'status.stopping',
      ).length,
    };
  } finally {
    await cloud.close();
  }
};
