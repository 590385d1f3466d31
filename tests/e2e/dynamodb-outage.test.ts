import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '../../local/cloud/cloud';
import {
  agentPidOf,
  alertsFor,
  apiOf,
  type CuttableProxy,
  eventually,
  FAST,
  freqtradeApiOf,
  sessionWhere,
  startBody,
  startCuttableProxy,
  startFastCloud,
} from './support';

/**
 * Production (the defaults of tests/packaging/detection-defaults.test.ts): heartbeats every 15 s, the agent
 * fails closed after 30 s without a written heartbeat, the sweep marks a session stale after 35 s. Here the
 * windows keep their order (fail-closed before stale), in seconds: an outage that outlasts both.
 */
const HEARTBEAT_INTERVAL_S = Number(FAST.containerEnvironment?.HEARTBEAT_INTERVAL_S ?? '0.5');
const FAIL_CLOSED_S = 4 * HEARTBEAT_INTERVAL_S;
const STALE_AFTER_S = 6 * HEARTBEAT_INTERVAL_S;

interface FreqtradeTrade {
  trade_id: number;
}

/** A proxy between the containers and DynamoDB, and a local cloud whose agents go through it. */
const startCutOffCloud = async (staleAfterS: number) => {
  const proxy = await startCuttableProxy();
  const cloud = await startFastCloud({
    containerEnvironment: {
      ...FAST.containerEnvironment,
      HEARTBEAT_FAIL_CLOSED_S: String(FAIL_CLOSED_S),
      // The agent reaches DynamoDB through the proxy; the functions go to the gateway directly.
      AWS_ENDPOINT_URL_DYNAMODB: proxy.url,
    },
    functionEnvironment: { ...FAST.functionEnvironment, STALE_AFTER_S: String(staleAfterS) },
  });
  proxy.setTarget(cloud.dynamoEndpoint);
  return { proxy, cloud };
};

/** A dry-run whose Freqtrade keeps entering and exiting (each pair re-entered once it exits), running. */
const startTrading = async (cloud: LocalCloud, strategyId: string) => {
  const started = await apiOf(cloud)('POST', `/strategies/${strategyId}/start`, {
    body: startBody({ minimal_roi: { '0': 0 }, sim: { tick_ms: 200, entry_probability: 1 } }),
  });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  const runId = String(started.body.run_id);
  await sessionWhere(cloud, runId, (s) => s.status === 'running', 'running');
  const freqtrade = freqtradeApiOf(agentPidOf(cloud, runId) as number);
  const state = async () => (await freqtrade<{ state: string }>('/show_config')).state;
  const highestTradeId = async () => {
    const open = await freqtrade<FreqtradeTrade[]>('/status');
    const closed = await freqtrade<{ trades: FreqtradeTrade[] }>('/trades');
    return Math.max(0, ...open.map((t) => t.trade_id), ...closed.trades.map((t) => t.trade_id));
  };
  await eventually(async () => (await highestTradeId()) > 3, 'Freqtrade entering trades');
  await cloud.streamsDrained();
  return { runId, state, highestTradeId };
};

describe('Local cloud: DynamoDB unreachable to the agent', () => {
  let proxy: CuttableProxy;
  let cloud: LocalCloud;
  beforeAll(async () => {
    ({ proxy, cloud } = await startCutOffCloud(STALE_AFTER_S));
  }, 60_000);
  afterAll(async () => {
    await cloud?.close();
    await proxy?.close();
  }, 60_000);

  it("holds entries fail-closed while cut off, pages one stale and one recovery, and trades again (a paused heartbeat after the recovery paged 'paused' then 'resumed')", async () => {
    // prepare
    const { runId, state, highestTradeId } = await startTrading(cloud, 'e2e-dynamo-outage');

    // act: cut the agent off DynamoDB (heartbeat writes and control polls alike) past both windows
    proxy.cut();
    await sessionWhere(cloud, runId, (s) => s.status === 'stale', 'marked stale', 60_000);
    await eventually(async () => (await state()) === 'paused', 'Freqtrade paused fail-closed', 60_000);
    const highestWhilePaused = await highestTradeId();
    const refusedWhileCut = proxy.refused;
    await sessionWhere(cloud, runId, (s) => s.status === 'stale', 'still stale');
    const stillPaused = await state();
    const highestBeforeRestore = await highestTradeId();
    proxy.restore();
    const recovered = await sessionWhere(
      cloud,
      runId,
      (s) => s.status === 'running' && s.health?.freqtrade_state === 'running',
      'recovered and trading',
      60_000,
    );
    await eventually(
      async () => (await highestTradeId()) > highestBeforeRestore,
      'a new trade after recovery',
      60_000,
    );
    await sessionWhere(cloud, runId, (s) => s.heartbeat_seq >= recovered.heartbeat_seq + 4, 'heartbeats');
    await cloud.streamsDrained();

    // assess
    expect(refusedWhileCut).toBeGreaterThan(0);
    expect(stillPaused).toBe('paused');
    expect(highestBeforeRestore).toBe(highestWhilePaused);
    const final = await cloud.store.get(runId);
    expect(final?.status).toBe('running');
    expect(final?.desired_state).toBe('running');
    expect(await state()).toBe('running');
    expect(alertsFor(cloud, runId).map((alert) => [alert.kind, alert.severity])).toEqual([
      ['status.launching', 'INFO'],
      ['status.running', 'INFO'],
      ['status.stale', 'CRITICAL'],
      ['status.recovered', 'WARNING'],
    ]);
  });
});

describe('Local cloud: DynamoDB unreachable to the agent past its fail-closed window, not past the stale threshold', () => {
  let proxy: CuttableProxy;
  let cloud: LocalCloud;
  beforeAll(async () => {
    // A stale threshold far beyond the outage: the session is never marked stale (production: a cut of
    // between 30 s and 35 s).
    ({ proxy, cloud } = await startCutOffCloud(600));
  }, 60_000);
  afterAll(async () => {
    await cloud?.close();
    await proxy?.close();
  }, 60_000);

  it("pages nothing for the agent's own fail-closed pause and its end (it paged 'paused' then 'resumed trading')", async () => {
    // prepare
    const { runId, state, highestTradeId } = await startTrading(cloud, 'e2e-dynamo-blip');
    const alertsBefore = alertsFor(cloud, runId).length;

    // act: cut until the agent has paused Freqtrade, then restore
    proxy.cut();
    await eventually(async () => (await state()) === 'paused', 'Freqtrade paused fail-closed', 60_000);
    const highestWhilePaused = await highestTradeId();
    proxy.restore();
    const back = await sessionWhere(
      cloud,
      runId,
      (s) => s.health?.freqtrade_state === 'running' && s.last_heartbeat !== null,
      'heartbeats back, Freqtrade trading',
      60_000,
    );
    await eventually(async () => (await highestTradeId()) > highestWhilePaused, 'a new trade', 60_000);
    await sessionWhere(cloud, runId, (s) => s.heartbeat_seq >= back.heartbeat_seq + 4, 'heartbeats');
    await cloud.streamsDrained();

    // assess
    const final = await cloud.store.get(runId);
    expect(final?.status).toBe('running');
    expect(final?.desired_state).toBe('running');
    expect(alertsFor(cloud, runId).slice(alertsBefore)).toEqual([]);
  });
});
