import { describe, expect, it } from 'vitest';
import { get, startSim } from './helpers';

/**
 * Freqtrade's dry-run wallet holds `dry_run_wallet` (wallets.py `_start_cap`), while `/balance`'s
 * `starting_capital` is `available_capital` where set (`get_starting_balance`).
 */
describe('FreqtradeSim: starting capital and the dry-run wallet', () => {
  it('holds dry_run_wallet and reports available_capital as starting_capital (wallet taken as available_capital)', async () => {
    // Prepare
    const sim = await startSim({ dry_run_wallet: 1000, available_capital: 1300 }, { autoTick: false });

    // Act
    const balance = (await get(sim.url, '/api/v1/balance')).body as Record<string, unknown>;

    // Assess
    expect(balance).toMatchObject({ total: 1000, total_bot: 1000, starting_capital: 1300 });
    expect(balance.starting_capital_pct).toBeCloseTo(-23.08, 2);
  });

  it('reports dry_run_wallet as starting_capital without available_capital', async () => {
    const sim = await startSim({ dry_run_wallet: 1000 }, { autoTick: false });

    const balance = (await get(sim.url, '/api/v1/balance')).body as Record<string, unknown>;

    expect(balance).toMatchObject({ total: 1000, starting_capital: 1000, starting_capital_pct: 0 });
  });
});
