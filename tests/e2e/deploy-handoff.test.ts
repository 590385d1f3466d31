import { copyFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DIR, type LocalCloud } from '../../local/cloud/cloud';
import { readOrderLog } from '../../local/freqtrade-sim/order-log';
import type { Session } from '../../shared/domain/session';
import { accountIdOf } from '../../shared/runtime/account-identity';
import { CHURNING, expectNoOverlap, tradesOf } from './handoff-support';
import {
  alertsFor,
  apiOf,
  eventually,
  FAST,
  LIVE_TRADER,
  sessionWhere,
  startBody,
  startFastCloud,
  TWO_OPEN_TRADES,
} from './support';

const SECRET = 'tradai/exchange/binance';
const LIVE_LIMITS = {
  max_drawdown_pct: 50,
  max_daily_loss: 100_000,
  max_open_trades: 5,
  max_leverage: 2,
  max_monitor_failures: 5,
};

describe('Local cloud: rolling a running strategy (deploy, restart, rollback)', () => {
  let dataDir: string;
  let cloud: LocalCloud;
  let api: ReturnType<typeof apiOf>;
  let secretsFile: string;
  let orderLog: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tradai-e2e-deploy-'));
    orderLog = join(dataDir, 'orders.jsonl');
    secretsFile = join(dataDir, 'secrets.json');
    copyFileSync(join(DEMO_DIR, 'secrets.json'), secretsFile);
    cloud = await startFastCloud({
      dataDir,
      containerEnvironment: {
        ...FAST.containerEnvironment,
        FREQTRADE_SIM_ORDER_LOG: orderLog,
        SECRETS_FILE: secretsFile,
      },
      functionEnvironment: { ...FAST.functionEnvironment, STALE_AFTER_S: '60', STOP_GRACE_S: '20' },
    });
    api = apiOf(cloud);
  }, 60_000);
  afterAll(async () => {
    await cloud?.close();
    await rm(dataDir, { recursive: true, force: true });
  }, 60_000);

  const start = async (strategyId: string, overrides: Record<string, unknown>, live: boolean) => {
    const answer = await api('POST', `/strategies/${strategyId}/start`, {
      body: startBody(overrides, live ? { mode: 'live', risk_limits: LIVE_LIMITS } : {}),
      ...(live ? LIVE_TRADER : {}),
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    return String(answer.body.run_id);
  };
  /** The successor's own heartbeat (after its claim) showing Freqtrade trading. */
  const trading = (runId: string, what: string, extra: (s: Session) => boolean = () => true) =>
    sessionWhere(
      cloud,
      runId,
      (s) => s.status === 'running' && s.health?.freqtrade_state === 'running' && extra(s),
      what,
      90_000,
    );
  /** POST deploy or restart, answered 202: the successor's run id. */
  const roll = async (strategyId: string, action: 'deploy' | 'restart', body: unknown, live: boolean) => {
    const answer = await api('POST', `/strategies/${strategyId}/${action}`, {
      body,
      ...(live ? LIVE_TRADER : {}),
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    return String(answer.body.run_id);
  };
  /** The successor trading on a heartbeat of its own, sent after its claim. */
  const tradingAfterClaim = async (runId: string) => {
    const claimed = await sessionWhere(cloud, runId, (s) => s.agent_id !== null, 'successor claimed', 90_000);
    return trading(runId, 'successor trading', (s) => s.heartbeat_seq > claimed.heartbeat_seq);
  };
  const stopAndRelease = async (strategyId: string, runId: string) => {
    await api('POST', `/strategies/${strategyId}/stop`, { body: { reason: 'e2e done' } });
    await sessionWhere(cloud, runId, (s) => s.status === 'stopped', 'stopped', 60_000);
    await eventually(
      async () => (await cloud.store.getLock(strategyId))?.active_run_id === null,
      `${strategyId}: lock released`,
      60_000,
    );
  };

  it('deploys version 4 with carry_positions while two live trades are open: the new Freqtrade manages the same trades, lock and leases pass to it, the old run shows superseded, and the two bots never overlap', async () => {
    const oldRun = await start('e2e-roll', TWO_OPEN_TRADES, true);
    const carried = tradesOf(await trading(oldRun, 'two open trades', (s) => s.open_trades.length === 2));

    const newRun = await roll(
      'e2e-roll',
      'deploy',
      { version: '4', handoff: 'carry_positions', reason: 'e2e: version 1.1.0' },
      true,
    );
    const after = await tradingAfterClaim(newRun);
    await cloud.streamsDrained();

    expect(tradesOf(after)).toEqual(carried);
    expect(after.strategy_version).toBe('1.1.0');
    expect(after.handoff?.phase).toBe('live');
    const old = (await cloud.store.get(oldRun)) as Session;
    expect(old.status).toBe('stopped');
    expect(old.superseded_by).toBe(newRun);
    expect(old.stop_outcome?.plan).toBe('handoff');
    expect((await cloud.store.getLock('e2e-roll'))?.active_run_id).toBe(newRun);
    const account = accountIdOf('binance', 'demo-paper-trading-key');
    for (const pair of new Set(after.pairs))
      expect((await cloud.store.getAccountLease(account, pair))?.holder_run_id).toBe(newRun);
    expectNoOverlap(readOrderLog(orderLog), oldRun, newRun);
    expect(alertsFor(cloud, oldRun, { severity: 'CRITICAL' })).toEqual([]);
    expect(alertsFor(cloud, newRun, { severity: 'CRITICAL' })).toEqual([]);
    const view = await api('GET', '/strategies/e2e-roll');
    expect(JSON.stringify(view.body)).toContain(newRun);
    const oldView = await api('GET', `/sessions/${oldRun}`);
    expect(JSON.stringify(oldView.body)).toContain(`"superseded_by":"${newRun}"`);

    await stopAndRelease('e2e-roll', newRun);
  }, 240_000);

  it('deploys with wait_flat: the old version takes no new entries, its own exits close every trade within the bound, and only then the new one starts', async () => {
    const oldRun = await start('e2e-flat', CHURNING, false);
    await trading(oldRun, 'churning trades', (s) => (s.metrics?.total_trades ?? 0) >= 2);

    const newRun = await roll(
      'e2e-flat',
      'deploy',
      { alias: 'challenger', handoff: 'wait_flat', wait_flat_s: 30, reason: 'e2e: flat first' },
      false,
    );
    await trading(newRun, 'successor trading');

    const old = (await cloud.store.get(oldRun)) as Session;
    expect(old.status).toBe('stopped');
    expect(old.stop_outcome).toMatchObject({ plan: 'handoff', positions: 'none', open_trade_ids: [] });
    expect(old.stop_outcome?.detail).toContain('wait_flat: every trade closed');
    expectNoOverlap(readOrderLog(orderLog), oldRun, newRun);
    await stopAndRelease('e2e-flat', newRun);
  }, 240_000);

  it('rolls back when the new version does not come up: the previous version trades again on the same trades, with one CRITICAL page saying so', async () => {
    const oldRun = await start('e2e-rollback', TWO_OPEN_TRADES, false);
    const carried = tradesOf(await trading(oldRun, 'two open trades', (s) => s.open_trades.length === 2));

    const newRun = await roll(
      'e2e-rollback',
      'deploy',
      { version: '99', handoff: 'carry_positions', reason: 'e2e: a version the registry lacks' },
      false,
    );
    const failed = await sessionWhere(
      cloud,
      newRun,
      (s) => s.status === 'failed' && s.handoff?.phase === 'rolled_back',
      'failed and rolled back',
      90_000,
    );
    const rollbackRun = failed.superseded_by as string;
    const back = await trading(rollbackRun, 'rollback trading', (s) => s.open_trades.length === 2);
    await cloud.streamsDrained();

    expect(back.handoff).toMatchObject({ kind: 'rollback', rollback_of: newRun });
    expect(back.strategy_version).toBe('1.0.0');
    expect(tradesOf(back)).toEqual(carried);
    const critical = [oldRun, newRun, rollbackRun].flatMap((run) =>
      alertsFor(cloud, run, { severity: 'CRITICAL' }),
    );
    expect(critical.map((alert) => alert.kind)).toEqual(['handoff.rolled_back']);
    expect(critical[0]?.message).toContain(rollbackRun);
    expectNoOverlap(readOrderLog(orderLog), oldRun, rollbackRun);
    await stopAndRelease('e2e-rollback', rollbackRun);
  }, 240_000);

  it("rotates the exchange key through POST /restart: the fresh task trades with the new key (its own account leases), the old key's leases are freed, the trades carried, one bot at any instant", async () => {
    const oldRun = await start('e2e-rotate', TWO_OPEN_TRADES, true);
    const carried = tradesOf(await trading(oldRun, 'two open trades', (s) => s.open_trades.length === 2));
    const oldAccount = accountIdOf('binance', 'demo-paper-trading-key');
    expect((await cloud.store.get(oldRun))?.account_id).toBe(oldAccount);

    // The secret's new version, as Secrets Manager's AWSCURRENT would serve it to a new task.
    writeFileSync(
      secretsFile,
      JSON.stringify({ [SECRET]: { key: 'rotated-paper-key', secret: 'rotated-paper-secret' } }),
    );
    const newRun = await roll('e2e-rotate', 'restart', { reason: 'e2e: key rotated' }, true);
    const after = await tradingAfterClaim(newRun);

    const newAccount = accountIdOf('binance', 'rotated-paper-key');
    expect(after.account_id).toBe(newAccount);
    expect(after.handoff?.kind).toBe('restart');
    expect(tradesOf(after)).toEqual(carried);
    for (const pair of new Set(after.pairs)) {
      expect((await cloud.store.getAccountLease(newAccount, pair))?.holder_run_id).toBe(newRun);
      expect((await cloud.store.getAccountLease(oldAccount, pair))?.holder_run_id ?? null).toBeNull();
    }
    expectNoOverlap(readOrderLog(orderLog), oldRun, newRun);
    await stopAndRelease('e2e-rotate', newRun);
  }, 240_000);
});
