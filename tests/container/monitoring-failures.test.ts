import { afterEach, describe, expect, it } from 'vitest';
import { FreqtradeClient } from '../../container/agent/freqtrade/client';
import { MetricsCollector } from '../../container/agent/metrics';
import { RiskMonitor } from '../../container/agent/risk-monitor';
import { ManualClock } from '../../shared/domain/clock';
import { LIMITS } from './support/fixture';
import { type ReplayServer, startReplayServer } from './support/freqtrade-replies';

const T0 = Date.parse('2026-03-02T10:00:00.000Z');

describe('MetricsCollector: every 5xx from Freqtrade is a monitoring failure', () => {
  const servers: ReplayServer[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
  });

  const replay = async (bot: Parameters<typeof startReplayServer>[0]) => {
    const server = await startReplayServer(bot, () => T0);
    servers.push(server);
    const client = new FreqtradeClient({ url: server.url, username: 'u', password: 'p', auth: 'basic' });
    const collector = new MetricsCollector({ clock: new ManualClock(T0), loopStaleAfterMs: 60_000 });
    return { server, client, collector };
  };

  it('breaches fail-closed when /balance is stuck at 502 (equity frozen silently at its last value)', async () => {
    // prepare
    const { server, client, collector } = await replay({ equity: 1000, startingCapital: 1000 });
    await collector.poll(client, true);
    server.bot.failRoutes['/balance'] = 502;
    server.bot.equity = 700;
    const monitor = new RiskMonitor({ ...LIMITS, max_monitor_failures: 3 }, null, 'running');
    // act
    const outcomes = [];
    for (let poll = 0; poll < 3; poll += 1) outcomes.push(await collector.poll(client, true));
    const decision = monitor.evaluate(collector.riskSnapshot(), T0);
    // assess
    expect(outcomes.every((outcome) => outcome.failures.some((f) => f.includes('/balance')))).toBe(true);
    expect(collector.consecutiveFailures).toBe(3);
    expect(decision.assessment.breaches.map((breach) => breach.rule)).toContain('monitor_failures');
    expect(decision.newStep).toBe('pause');
  });

  it.each([500, 503, 504])('counts HTTP %i as a failure', async (status) => {
    // prepare
    const { server, client, collector } = await replay({});
    server.bot.failRoutes['/profit'] = status;
    // act
    const outcome = await collector.poll(client, true);
    // assess
    expect(outcome.failures).toEqual([expect.stringContaining(`HTTP ${status}`)]);
    expect(collector.consecutiveFailures).toBe(1);
  });

  it("does not count /count's 'trader is not running' refusal of a stopped bot", async () => {
    // prepare
    const { server, client, collector } = await replay({ state: 'running' });
    await collector.poll(client, true);
    server.bot.state = 'stopped';
    // act
    const outcome = await collector.poll(client, true);
    // assess
    expect(outcome.failures).toEqual([]);
    expect(outcome.freqtradeState).toBe('stopped');
    expect(collector.consecutiveFailures).toBe(0);
  });
});
