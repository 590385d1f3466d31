import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '../../local/cloud/cloud';
import { accountScope } from '../../shared/domain/trading-scope';
import {
  apiOf,
  LIVE_LIMITS,
  LIVE_TRADER,
  sessionWhere,
  startBody,
  startFastCloud,
  TWO_OPEN_TRADES,
} from './support';

describe('Local cloud: an account budget', () => {
  let cloud: LocalCloud;
  let api: ReturnType<typeof apiOf>;
  beforeAll(async () => {
    cloud = await startFastCloud();
    api = apiOf(cloud);
  }, 60_000);
  afterAll(async () => {
    await cloud?.close();
  }, 60_000);

  it('puts the account into reducing when its exposure reaches the cap: one CRITICAL naming the session, Freqtrade paused', async () => {
    // prepare: a live session holding positions on the demo account
    const started = await api('POST', '/strategies/e2e-budget/start', {
      ...LIVE_TRADER,
      body: startBody(TWO_OPEN_TRADES, { mode: 'live', risk_limits: LIVE_LIMITS }),
    });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const runId = String(started.body.run_id);
    const trading = await sessionWhere(
      cloud,
      runId,
      (s) => s.status === 'running' && s.open_trades.length > 0,
      'running with open trades',
      120_000,
    );
    const accountId = String(trading.account_id);

    // act: a cap below what the account already holds (a first budget only tightens: write suffices)
    const put = await api('PUT', `/accounts/${accountId}/budget`, {
      body: { stake_currency: 'USDT', gross_exposure_max: 1, reason: 'e2e: cap exposure' },
    });
    const paused = await sessionWhere(
      cloud,
      runId,
      (s) => s.desired_state === 'paused' && s.health?.freqtrade_state === 'paused',
      'Freqtrade paused by the account budget',
      60_000,
    );
    await cloud.streamsDrained();

    // assess
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(await cloud.store.getTradingScope(accountScope(accountId))).toMatchObject({
      state: 'reducing',
      changed_by: 'risk:account-budget',
    });
    expect(paused.scope_holds).toEqual([`scope#account#${accountId}`]);
    const critical = cloud.alerts.published.filter((alert) => alert.severity === 'CRITICAL');
    expect(critical.map((alert) => alert.kind)).toEqual(['account.budget_breach']);
    expect(critical[0]?.message).toContain(runId);
    expect(critical[0]?.message).toContain('gross exposure');
    const view = await api('GET', `/accounts/${accountId}/budget`);
    expect(view.body).toMatchObject({
      account_id: accountId,
      budget: { gross_exposure_max: 1 },
      currencies_seen: ['USDT'],
    });
    expect((view.body.today as { exposure: number }).exposure).toBeGreaterThan(1);
  }, 240_000);

  it('refuses to raise the cap without the live permission (403), and takes it with it', async () => {
    // prepare
    const accountId = String((await cloud.store.get(String(await latestRun())))?.account_id);
    // act
    const refused = await api('PUT', `/accounts/${accountId}/budget`, {
      body: { stake_currency: 'USDT', gross_exposure_max: 1_000_000, reason: 'e2e: raise' },
    });
    const raised = await api('PUT', `/accounts/${accountId}/budget`, {
      ...LIVE_TRADER,
      body: { stake_currency: 'USDT', gross_exposure_max: 1_000_000, reason: 'e2e: raise' },
    });
    // assess
    expect(refused.status).toBe(403);
    expect(raised.status, JSON.stringify(raised.body)).toBe(200);
    expect(raised.body.budget).toMatchObject({ gross_exposure_max: 1_000_000, updated_by: 'local-operator' });
  });

  const latestRun = async () => (await cloud.store.getLock('e2e-budget'))?.active_run_id;
});
