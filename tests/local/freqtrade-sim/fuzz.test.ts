import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig } from '../../../local/freqtrade-sim/index';
import { call, simConfig, startSim } from './helpers';

describe('FreqtradeSim: hostile input', () => {
  it('either accepts a configuration or refuses it with a ConfigError, never anything else', () => {
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.constantFrom('api_server', 'sim', 'exchange', 'stake_amount', 'dry_run'),
        (value, key) => {
          try {
            resolveConfig(simConfig({ [key]: value }));
          } catch (error) {
            expect(error).toBeInstanceOf(ConfigError);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('answers any JSON body on the write routes with 2xx, 4xx or 502, never a 500', async () => {
    const sim = await startSim(
      { initial_state: 'running', sim: { open_trades_at_start: 1 } },
      { autoTick: false },
    );
    const routes = ['/api/v1/forceexit', '/api/v1/forceenter', '/sim/scenario'];

    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), fc.constantFrom(...routes), async (body, route) => {
        const response = await call(sim.url, route, { method: 'POST', body });
        expect([200, 422, 502]).toContain(response.status);
        // Whatever was accepted on /sim/scenario, go back to a steady simulator.
        if (route === '/sim/scenario') sim.setScenario({ name: 'steady' });
      }),
      { numRuns: 150 },
    );
  });
});
