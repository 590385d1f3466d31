import { describe, expect, it } from 'vitest';
import { useAgentFixture } from './support/fixture';
import { pollUntil } from './support/poll';
import { startAgent } from './support/run';

describe('Agent: the durable trade store', () => {
  const { fx, agents } = useAgentFixture();

  it('fails a live session that has no durable trade store before Freqtrade starts, naming TRADE_DB_URL (its trades would die with the task)', async () => {
    // prepare
    const { runId, options } = await fx.session({ mode: 'live' });
    const { tradeDbUrl: _none, ...withoutStore } = options;

    // act
    const agent = await startAgent(withoutStore, { store: fx.store });
    agents.push(agent);
    const failed = await pollUntil('the session failed', async () => {
      const session = await fx.store.get(runId);
      return session?.status === 'failed' ? session : undefined;
    });

    // assess
    expect(failed.status_reason).toContain('TRADE_DB_URL');
    expect(agent.logs.some((line) => line.includes('"message":"freqtrade started"'))).toBe(false);
  });
});
