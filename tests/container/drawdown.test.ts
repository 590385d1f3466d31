import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FreqtradeClient } from '../../container/agent/freqtrade/client';
import { MetricsCollector } from '../../container/agent/metrics';
import { RiskMonitor } from '../../container/agent/risk-monitor';
import { ManualClock } from '../../shared/domain/clock';
import type { RiskLimits } from '../../shared/domain/risk';
import { type Fixture, LIMITS, startFixture } from './support/fixture';
import { type ReplayServer, startReplayServer } from './support/freqtrade-replies';
import { pollUntil } from './support/poll';
import { type RunningAgent, startAgent } from './support/run';
import { type RecordedRequest, recordingFetch } from './support/sim';

/** A bot 23 % below the capital it started with (1300 → 1001), as real Freqtrade 2026.9 reports it. */
const BELOW_START = { equity: 1001, startingCapital: 1300, closedMaxDrawdown: 0.23 };
const TWENTY_PCT: RiskLimits = { ...LIMITS, max_drawdown_pct: 20 };
const T0 = Date.parse('2026-03-02T10:00:00.000Z');

describe('Drawdown baseline: the higher of peak equity and starting capital', () => {
  const servers: ReplayServer[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
  });

  const replay = async (bot: Parameters<typeof startReplayServer>[0]) => {
    const server = await startReplayServer(bot, () => T0);
    servers.push(server);
    const client = new FreqtradeClient({ url: server.url, username: 'u', password: 'p', auth: 'basic' });
    return { server, client };
  };

  it('pauses at the first poll a bot already 23 % below its starting capital with a 20 % limit (drawdown measured only from first equity seen)', async () => {
    // prepare
    const { client } = await replay(BELOW_START);
    const collector = new MetricsCollector({ clock: new ManualClock(T0), loopStaleAfterMs: 60_000 });
    const monitor = new RiskMonitor(TWENTY_PCT, null, 'running');
    // act
    await collector.poll(client, true);
    const snapshot = collector.riskSnapshot();
    const decision = monitor.evaluate(snapshot, T0);
    // assess
    expect(snapshot.starting_capital).toBe(1300);
    expect(snapshot.drawdown_pct).toBeCloseTo(23, 1);
    expect(decision.newStep).toBe('pause');
    expect(decision.assessment.breaches.map((breach) => breach.rule)).toEqual(['drawdown']);
  });

  it('takes risk_limits.starting_capital over what Freqtrade reports', async () => {
    // prepare
    const { client } = await replay({ equity: 1001, startingCapital: 1001 });
    const collector = new MetricsCollector({
      clock: new ManualClock(T0),
      loopStaleAfterMs: 60_000,
      startingCapital: 1300,
    });
    // act
    await collector.poll(client, true);
    // assess
    expect(collector.riskSnapshot()).toMatchObject({ starting_capital: 1300, equity: 1001 });
    expect(collector.riskSnapshot().drawdown_pct).toBeCloseTo(23, 1);
  });

  it('measures from the peak once equity rose above the starting capital', async () => {
    // prepare
    const { server, client } = await replay({ equity: 1500, startingCapital: 1300 });
    const collector = new MetricsCollector({ clock: new ManualClock(T0), loopStaleAfterMs: 60_000 });
    await collector.poll(client, true);
    // act
    server.bot.equity = 1350;
    await collector.poll(client, true);
    // assess
    expect(collector.riskSnapshot()).toMatchObject({ peak_equity: 1500, equity: 1350, drawdown_pct: 10 });
  });

  it('counts from the equity at an acknowledged resume, and a restarted agent keeps that', async () => {
    // prepare
    const clock = new ManualClock(T0);
    const { client } = await replay(BELOW_START);
    const collector = new MetricsCollector({ clock, loopStaleAfterMs: 60_000 });
    await collector.poll(client, true);
    // act
    clock.advance(60_000);
    collector.acknowledgeLosses();
    await collector.poll(client, true);
    const acknowledged = collector.riskSnapshot();
    const restarted = new MetricsCollector({ clock, loopStaleAfterMs: 60_000, previous: acknowledged });
    await restarted.poll(client, true);
    // assess
    expect(acknowledged).toMatchObject({
      drawdown_pct: 0,
      starting_capital: 1300,
      losses_acknowledged_at: '2026-03-02T10:01:00.000Z',
    });
    expect(
      new RiskMonitor(TWENTY_PCT, null, 'running').evaluate(acknowledged, clock.now()).newStep,
    ).toBeNull();
    expect(restarted.riskSnapshot().drawdown_pct).toBe(0);
  });

  it('does not read an unknown equity (Freqtrade booting) as a drawdown from the starting capital', () => {
    // prepare
    const collector = new MetricsCollector({
      clock: new ManualClock(T0),
      loopStaleAfterMs: 60_000,
      startingCapital: 1300,
    });
    // act
    const snapshot = collector.riskSnapshot();
    // assess
    expect(snapshot.drawdown_pct).toBe(0);
    expect(new RiskMonitor(TWENTY_PCT, null, 'running').evaluate(snapshot, T0).assessment.breached).toBe(
      false,
    );
  });
});

describe('Agent: a bot already below its drawdown limit when the agent starts', () => {
  let fx: Fixture;
  const servers: ReplayServer[] = [];
  const agents: RunningAgent[] = [];

  beforeAll(async () => {
    fx = await startFixture();
  });
  afterEach(async () => {
    for (const agent of agents.splice(0)) await agent.handle.shutdown('test over');
    for (const server of servers.splice(0)) await server.close();
  });
  afterAll(async () => {
    await fx.close();
  });

  const breachOf = (runId: string) =>
    pollUntil('a drawdown breach on the session', async () => {
      const session = await fx.store.get(runId);
      return session?.risk?.state === 'breached' && session.risk.response !== null ? session : undefined;
    });

  it('pauses an attached bot 23 % below its starting capital at the first risk poll (drawdown measured only from first equity seen)', async () => {
    // prepare
    const server = await startReplayServer(BELOW_START);
    servers.push(server);
    const { runId, options } = await fx.session({ limits: { max_drawdown_pct: 20 } });
    // act
    const agent = await startAgent(
      { ...options, attach: { url: server.url, username: 'u', password: 'p', auth: 'basic' } },
      { store: fx.store },
    );
    agents.push(agent);
    const session = await breachOf(runId);
    // assess
    expect(server.bot.state).toBe('paused');
    expect(session.risk?.response?.step).toBe('pause');
    expect(session.risk?.breaches.map((breach) => breach.rule)).toEqual(['drawdown']);
    expect(session.risk?.snapshot).toMatchObject({ starting_capital: 1300, equity: 1001 });
    // The first poll's /balance already showed it: the pause went out before a second /balance.
    const firstBalance = server.calls.indexOf('GET /balance');
    const pause = server.calls.indexOf('POST /pause');
    expect(pause).toBeGreaterThan(firstBalance);
    expect(server.calls.slice(firstBalance + 1, pause)).not.toContain('GET /balance');
  });

  it('pauses a supervised bot started below the starting capital in its limits at the first risk poll (drawdown measured only from first equity seen)', async () => {
    // prepare: the session says it started with 1300; the bot's wallet holds 1000 (dry_run_wallet).
    const calls: RecordedRequest[] = [];
    const { runId, options } = await fx.session({
      limits: { max_drawdown_pct: 20, starting_capital: 1300 },
      sim: { open_trades_at_start: 0 },
    });
    // act
    const agent = await startAgent(options, { store: fx.store, freqtradeFetch: recordingFetch(calls) });
    agents.push(agent);
    const session = await breachOf(runId);
    // assess
    expect(session.risk?.breaches.map((breach) => breach.rule)).toEqual(['drawdown']);
    expect(session.risk?.snapshot?.starting_capital).toBe(1300);
    expect(session.risk?.breaches[0]?.observed).toBeCloseTo(23, 0);
    const balances = calls.filter((call) => call.path.endsWith('/balance') && call.body?.includes('total'));
    const firstBalance = calls.indexOf(balances[0] as RecordedRequest);
    const pause = calls.findIndex((call) => call.method === 'POST' && call.path.endsWith('/pause'));
    expect(pause).toBeGreaterThan(firstBalance);
    expect(calls.slice(firstBalance + 1, pause).filter((call) => call.path.endsWith('/balance'))).toEqual([]);
  });

  it('pauses a supervised bot whose Freqtrade reports a starting capital above its wallet at the first risk poll (drawdown measured only from first equity seen)', async () => {
    // prepare: Freqtrade's available_capital 1300 is its starting_capital; the dry-run wallet holds 1000.
    const calls: RecordedRequest[] = [];
    const { runId, options } = await fx.session({
      limits: { max_drawdown_pct: 20 },
      overrides: { available_capital: 1300 },
      sim: { open_trades_at_start: 0 },
    });
    // act
    const agent = await startAgent(options, { store: fx.store, freqtradeFetch: recordingFetch(calls) });
    agents.push(agent);
    const session = await breachOf(runId);
    // assess
    expect(session.risk?.breaches.map((breach) => breach.rule)).toEqual(['drawdown']);
    expect(session.risk?.snapshot).toMatchObject({ starting_capital: 1300, equity: 1000 });
    const firstBalance = calls.findIndex(
      (call) => call.path.endsWith('/balance') && call.body?.includes('total'),
    );
    const pause = calls.findIndex((call) => call.method === 'POST' && call.path.endsWith('/pause'));
    expect(pause).toBeGreaterThan(firstBalance);
    expect(calls.slice(firstBalance + 1, pause).filter((call) => call.path.endsWith('/balance'))).toEqual([]);
  });
});
