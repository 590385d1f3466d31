import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FreqtradeClient } from '../../container/agent/freqtrade/client';
import { type HttpFetch, nodeHttpFetch } from '../../container/agent/http';
import type { OpenTrade } from '../../shared/domain/session';
import { useAgentFixture } from './support/fixture';
import { pollUntil } from './support/poll';
import { startAgent } from './support/run';
import { attachTo, startSim } from './support/sim';

const trade = (trade_id: number, pair = 'BTC/USDT'): OpenTrade => ({
  trade_id,
  pair,
  is_short: false,
  amount: 0.01,
  open_rate: 50_000,
  current_rate: 50_100,
  stake_amount: 100,
  leverage: 1,
  profit_abs: 1,
  profit_ratio: 0.01,
  open_date: '2026-06-01T11:00:00.000Z',
});

describe('Agent: taking over a session with open trades (issue 8 finding 1, startup guard)', () => {
  const { fx, agents, sims } = useAgentFixture();

  /** A predecessor agent claimed the session and last reported these trades open. */
  const predecessorReported = async (runId: string, trades: OpenTrade[]) => {
    const claim = await fx.store.claimSession({
      run_id: runId,
      agent_id: 'old-task:1:abcd',
      strategy_version: '1.0.0',
      exchange: 'binance',
      pairs: ['BTC/USDT'],
    });
    if (!claim.ok) throw new Error(claim.message);
    const beat = await fx.store.recordHeartbeat({
      run_id: runId,
      agent_id: 'old-task:1:abcd',
      seq: claim.session.heartbeat_seq + 1,
      at: new Date().toISOString(),
      metrics: { total_trades: 0, win_rate: 0, pnl_today: 0, pnl_total: 0, open_trade_count: trades.length },
      health: { cpu_percent: 0, memory_mb: 0, exchange_connected: true, last_trade_at: null },
      risk: { state: 'ok', snapshot: null, breaches: [], response: null, breached_at: null },
      open_trades: trades,
    });
    if (!beat.ok) throw new Error(beat.message);
  };

  const sim = async (knobs: Record<string, unknown> = {}) => {
    const started = await startSim(knobs);
    sims.push(started);
    return started;
  };

  it('keeps entries paused and reports the trades its Freqtrade does not show (the trade store was lost)', async () => {
    // prepare
    const bot = await sim({ open_trades_at_start: 0 });
    const { runId, options } = await fx.session();
    await predecessorReported(runId, [trade(901), trade(902, 'ETH/USDT')]);
    // act
    const agent = await startAgent({ ...options, attach: attachTo(bot) }, { store: fx.store });
    agents.push(agent);
    const session = await pollUntil('missing trades on the session', async () => {
      const s = await fx.store.get(runId);
      return s?.health?.missing_trades ? s : undefined;
    });
    // assess
    expect(session.health?.missing_trades).toMatchObject({
      trade_ids: [901, 902],
      expected: 2,
      found: 0,
      action: 'entries_paused',
    });
    expect(session.health?.missing_trades?.account).toContain('binance');
    await pollUntil('entries paused', () => bot.state().state === 'paused');
    // the guard holds against the pre-takeover desired_state running
    await pollUntil('later heartbeats, entries still paused', async () => {
      const beat = (await fx.store.beatsOf([runId])).get(runId);
      return (beat?.heartbeat_seq ?? 0) > session.heartbeat_seq + 2 ? beat : undefined;
    });
    expect(bot.state().state).toBe('paused');
  });

  it('trades again once the operator resumes past the missing trades (pause, then resume)', async () => {
    // prepare
    const bot = await sim({ open_trades_at_start: 0 });
    const { runId, options } = await fx.session();
    await predecessorReported(runId, [trade(903)]);
    const agent = await startAgent({ ...options, attach: attachTo(bot) }, { store: fx.store });
    agents.push(agent);
    await pollUntil('missing trades', async () => (await fx.store.get(runId))?.health?.missing_trades);
    await pollUntil('entries paused', () => bot.state().state === 'paused');
    // act
    await fx.store.setDesiredState(runId, 'paused');
    await pollUntil('agent saw paused', () => agent.handle.status().desiredState === 'paused');
    await fx.store.setDesiredState(runId, 'running');
    // assess
    await pollUntil('trading again', () => bot.state().state === 'running');
    await pollUntil('report cleared', async () => !(await fx.store.get(runId))?.health?.missing_trades);
  });

  it('finds the trades its predecessor reported and trades on, with no report', async () => {
    // prepare: a first agent reports the bot's trades, then its task is replaced
    const bot = await sim();
    const { runId, options } = await fx.session();
    const first = await startAgent({ ...options, attach: attachTo(bot) }, { store: fx.store });
    await pollUntil(
      'trades reported',
      async () => ((await fx.store.get(runId))?.open_trades.length ?? 0) > 0,
    );
    await first.handle.shutdown('task replaced');
    // act
    const second = await startAgent({ ...options, attach: attachTo(bot) }, { store: fx.store });
    agents.push(second);
    // assess
    await pollUntil('trading again', () => bot.state().state === 'running');
    const session = await pollUntil('a heartbeat of the new agent', async () => {
      const s = await fx.store.get(runId);
      return s?.agent_id === second.handle.status().agentId && s.heartbeat_seq > 0 && s.metrics?.equity
        ? s
        : undefined;
    });
    expect(session.health?.missing_trades ?? null).toBeNull();
  });

  it('asks again at the next poll when its read of closed trades fails, and finds the trades closed since the report (one unanswered read counted them missing: a false CRITICAL, entries left off)', async () => {
    // prepare: a first agent reports the bot's open trades; they close before the next agent looks,
    // and that agent's first read of the closed trades fails (a 503; a timeout is the same failure)
    const bot = await sim({ entry_probability: 0 });
    const { runId, options } = await fx.session();
    const first = await startAgent({ ...options, attach: attachTo(bot) }, { store: fx.store });
    const reported = await pollUntil('trades reported', async () => {
      const s = await fx.store.get(runId);
      return (s?.open_trades.length ?? 0) > 0 ? s?.open_trades : undefined;
    });
    await first.handle.shutdown('task replaced');
    expect((await new FreqtradeClient(attachTo(bot)).forceExitAll()).ok).toBe(true);
    await pollUntil('reported trades closed', () => bot.state().closed_trades >= reported.length);
    const historyAnswers: number[] = [];
    const historyFailsOnce: HttpFetch = async (url, init) => {
      if (!new URL(url).pathname.endsWith('/trades')) return nodeHttpFetch(url, init);
      if (historyAnswers.length === 0) {
        historyAnswers.push(503);
        return { ok: false, status: 503, text: async () => '{"detail":"Service Unavailable"}' };
      }
      const response = await nodeHttpFetch(url, init);
      historyAnswers.push(response.status);
      return response;
    };

    // act
    const second = await startAgent(
      { ...options, attach: attachTo(bot) },
      { store: fx.store, freqtradeFetch: historyFailsOnce },
    );
    agents.push(second);

    // assess: asked again, found them closed, no report, and the bot trades again
    await pollUntil('closed trades read again', () => historyAnswers.includes(200));
    await pollUntil('trading again', () => bot.state().state === 'running');
    const session = await pollUntil('a heartbeat of the new agent after the guard', async () => {
      const s = await fx.store.get(runId);
      return s?.agent_id === second.handle.status().agentId && s.heartbeat_seq > 1 ? s : undefined;
    });
    expect(session.health?.missing_trades ?? null).toBeNull();
    expect(historyAnswers[0]).toBe(503);
  });

  it('counts the trades missing once three reads of closed trades went unanswered (entries never come back on unconfirmed trades)', async () => {
    // prepare: reported trades the bot never had, and a history that never answers
    const bot = await sim({ open_trades_at_start: 0 });
    const { runId, options } = await fx.session();
    await predecessorReported(runId, [trade(911)]);
    let historyReads = 0;
    const historyNeverAnswers: HttpFetch = async (url, init) => {
      if (!new URL(url).pathname.endsWith('/trades')) return nodeHttpFetch(url, init);
      historyReads += 1;
      return { ok: false, status: 503, text: async () => '{"detail":"Service Unavailable"}' };
    };

    // act
    const agent = await startAgent(
      { ...options, attach: attachTo(bot) },
      { store: fx.store, freqtradeFetch: historyNeverAnswers },
    );
    agents.push(agent);

    // assess
    const session = await pollUntil('missing trades on the session', async () => {
      const s = await fx.store.get(runId);
      return s?.health?.missing_trades ? s : undefined;
    });
    expect(session.health?.missing_trades).toMatchObject({ trade_ids: [911], action: 'entries_paused' });
    expect(historyReads).toBe(3);
    expect(bot.state().state).toBe('paused');
  });

  it('starts a supervised Freqtrade paused until the trades are confirmed', async () => {
    // prepare
    const { runId, options } = await fx.session({ sim: { open_trades_at_start: 0 } });
    await predecessorReported(runId, [trade(77)]);
    // act
    const agent = await startAgent(options, { store: fx.store });
    agents.push(agent);
    const session = await pollUntil(
      'missing trades on the session',
      async () => {
        const s = await fx.store.get(runId);
        return s?.health?.missing_trades ? s : undefined;
      },
      30_000,
    );
    // assess
    const written = JSON.parse(await readFile(join(options.workDir ?? '', 'config.json'), 'utf8'));
    expect(written.initial_state).toBe('paused');
    expect(session.health?.missing_trades?.trade_ids).toEqual([77]);
    expect(agent.handle.status().freqtradeState).toBe('paused');
  });
});
