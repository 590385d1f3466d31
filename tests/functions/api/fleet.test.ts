import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { createHandler } from '../../../functions/api/read-strategies/handler';
import { FleetViewSchema } from '../../../functions/api/read-strategies/schema';
import { loadServerlessConfig } from '../../../local/serverless/config';
import { createDocumentClient } from '../../../shared/adapters/dynamodb/client';
import {
  DynamoFleetReader,
  FLEET_INDEX,
  FLEET_PROJECTED_ATTRIBUTES,
} from '../../../shared/adapters/dynamodb/fleet-read';
import { alertRecordOf } from '../../../shared/domain/alert-history';
import { FLEET_ROW } from '../../../shared/domain/fleet';
import type { AlertSeverity } from '../../../shared/domain/ports';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../support/dynamo';
import { type ApiTestEnv, type Invoke, invoker, READ_SCOPES, runningSession, startApiTest } from './support';

/** Every request a document client sends, by command name, counted at the SDK's middleware stack. */
const countingDoc = (endpoint: string) => {
  const doc = createDocumentClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const sent: string[] = [];
  doc.middlewareStack.add(
    (next, context) => (args) => {
      sent.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize', name: 'countRequests' },
  );
  return { doc, sent };
};

describe('Handler: read-strategies GET /fleet', () => {
  let env: ApiTestEnv;
  let invoke: Invoke;
  let sessionsSent: string[];
  const getFleet = (headers: Record<string, string> = {}) =>
    invoke({ method: 'GET', route: '/fleet', scopes: READ_SCOPES, headers });
  const alert = async (strategyId: string, runId: string, severity: AlertSeverity, kind: string) => {
    await env.deps.alertHistory.record(
      alertRecordOf(
        {
          severity,
          kind,
          strategy_id: strategyId,
          run_id: runId,
          subject: `${strategyId}: ${kind}`,
          message: `${kind} on ${strategyId}`,
          dedup_id: `${runId}-${kind}-${env.clock.now()}`,
        },
        env.clock.now(),
      ),
    );
    env.clock.advance(1_000);
  };

  let alphaRun: string;
  let bravoRun: string;
  let charlieRun: string;
  let echoFirstRun: string;
  let echoRun: string;

  beforeAll(async () => {
    env = await startApiTest();
    // One client for every table the route reads: its count is the fleet read's whole DynamoDB cost.
    const sessionsClient = countingDoc(env.dynamo.endpoint);
    sessionsSent = sessionsClient.sent;
    invoke = invoker(
      createHandler({
        ...env.deps,
        fleet: new DynamoFleetReader(sessionsClient.doc, { sessionsTable: env.tables.sessions }),
        staleAfterS: 90,
      }),
    );
    alphaRun = (await runningSession(env, 'alpha', { pnlToday: 100, pnlTotal: 1000 })).run_id;
    bravoRun = (await runningSession(env, 'bravo', { mode: 'live', pnlToday: -40, pnlTotal: 300 })).run_id;
    charlieRun = (await runningSession(env, 'charlie', { pnlToday: 7, pnlTotal: 70 })).run_id;
    await env.deps.store.transition(charlieRun, 'stopping');
    await env.deps.store.transition(charlieRun, 'stopped');
    await env.deps.store.releaseLock('charlie', charlieRun);
    await runningSession(env, 'delta', { pnlToday: 50, pnlTotal: 500, currency: 'BTC' });
    // A strategy restarted: its first session stopped, a second one running.
    echoFirstRun = (await runningSession(env, 'echo', { pnlToday: 1, pnlTotal: 1 })).run_id;
    await env.deps.store.transition(echoFirstRun, 'stopping');
    await env.deps.store.transition(echoFirstRun, 'stopped');
    await env.deps.store.releaseLock('echo', echoFirstRun);
    echoRun = (await runningSession(env, 'echo', { pnlToday: 20, pnlTotal: 200 })).run_id;

    await alert('alpha', alphaRun, 'WARNING', 'freqtrade.restarted');
    await alert('bravo', bravoRun, 'CRITICAL', 'status.stale');
    await alert('bravo', bravoRun, 'INFO', 'status.recovered');
    await alert('charlie', charlieRun, 'CRITICAL', 'risk.breach');
    await alert('echo', echoFirstRun, 'WARNING', 'freqtrade.restarted');
    env.clock.advance(30_000);
  });
  afterAll(async () => env.close());

  it("shows every strategy's current session once, in FleetViewSchema, with the fleet fields", async () => {
    // act
    const response = await getFleet();

    // assess
    expect(response.statusCode).toBe(200);
    const view = FleetViewSchema.parse(response.body);
    expect(view.strategies.map((row) => [row.strategy_id, row.run_id])).toEqual([
      ['alpha', alphaRun],
      ['bravo', bravoRun],
      ['charlie', charlieRun],
      ['delta', expect.any(String)],
      ['echo', echoRun],
    ]);
    expect(view.strategies[0]).toMatchObject({
      trading_mode: 'dry-run',
      status: 'running',
      desired_state: 'running',
      active: true,
      strategy_version: '2.0.0',
      heartbeat_age_s: 35,
      stale_after_s: 90,
      pnl_today: 100,
      pnl_total: 1000,
      stake_currency: 'USDT',
      max_drawdown_pct: 10,
      open_trade_count: 1,
      risk_state: 'ok',
      risk_breaches: [],
    });
    expect(view.strategies[2]).toMatchObject({ status: 'stopped', active: false });
    expect(view.stale_after_s).toBe(90);
  });

  it('never adds dry-run to live money, nor one stake currency to another, nor stopped sessions', async () => {
    // act
    const view = FleetViewSchema.parse((await getFleet()).body);

    // assess
    expect(view.totals.money).toEqual([
      {
        trading_mode: 'dry-run',
        stake_currency: 'BTC',
        strategies: 1,
        equity: 0,
        pnl_today: 50,
        pnl_total: 500,
      },
      {
        trading_mode: 'dry-run',
        stake_currency: 'USDT',
        strategies: 2,
        equity: 0,
        pnl_today: 120,
        pnl_total: 1200,
      },
      {
        trading_mode: 'live',
        stake_currency: 'USDT',
        strategies: 1,
        equity: 0,
        pnl_today: -40,
        pnl_total: 300,
      },
    ]);
    expect(view.totals.strategies).toBe(5);
    expect(view.totals.by_status).toEqual({
      pending: 0,
      launching: 0,
      running: 4,
      paused: 0,
      stale: 0,
      stopping: 0,
      stopped: 1,
      failed: 0,
      completed: 0,
    });
  });

  it("shows each strategy's last alert and counts only open ones: not superseded, not INFO, not of a finished or earlier run", async () => {
    // act
    const view = FleetViewSchema.parse((await getFleet()).body);

    // assess
    const byId = new Map(view.strategies.map((row) => [row.strategy_id, row]));
    expect(byId.get('alpha')).toMatchObject({
      last_alert: { severity: 'WARNING', kind: 'freqtrade.restarted', run_id: alphaRun },
      alert_open: true,
    });
    expect(byId.get('bravo')).toMatchObject({ last_alert: { severity: 'INFO' }, alert_open: false });
    expect(byId.get('charlie')).toMatchObject({ last_alert: { severity: 'CRITICAL' }, alert_open: false });
    expect(byId.get('delta')).toMatchObject({ last_alert: null, alert_open: false });
    expect(byId.get('echo')).toMatchObject({ last_alert: { run_id: echoFirstRun }, alert_open: false });
    expect(view.totals.open_alerts).toEqual({ WARNING: 1, CRITICAL: 0 });
  });

  it('answers 304 with no body to If-None-Match while the fleet is unchanged, though the clock moved', async () => {
    // prepare
    const first = await getFleet();
    const etag = first.headers.ETag as string;
    env.clock.advance(5_000);

    // act
    const again = await getFleet({ 'if-none-match': etag });

    // assess
    expect(etag).toMatch(/^W\/"[\w-]+"$/);
    expect(again.statusCode).toBe(304);
    expect(again.raw).toBe('');
    expect(again.headers.ETag).toBe(etag);
  });

  it('answers 200 with a new ETag once a heartbeat or an alert changed the fleet', async () => {
    // prepare
    const before = (await getFleet()).headers.ETag as string;
    const session = await env.deps.store.get(alphaRun);
    const heartbeat = await env.deps.store.recordHeartbeat({
      run_id: alphaRun,
      agent_id: session?.agent_id as string,
      seq: (session?.heartbeat_seq ?? 0) + 1,
      at: new Date(env.clock.now()).toISOString(),
      metrics: { total_trades: 46, win_rate: 0.6, pnl_today: 110, pnl_total: 1010, open_trade_count: 0 },
      health: { cpu_percent: 30, memory_mb: 500, exchange_connected: true, last_trade_at: null },
      risk: { state: 'ok', snapshot: null, breaches: [], response: null, breached_at: null },
      open_trades: [],
    });
    expect(heartbeat.ok).toBe(true);

    // act
    const afterHeartbeat = await getFleet({ 'if-none-match': before });
    await alert('delta', 'some-run', 'WARNING', 'exchange.disconnected');
    const afterAlert = await getFleet({ 'if-none-match': afterHeartbeat.headers.ETag as string });

    // assess
    expect(afterHeartbeat.statusCode).toBe(200);
    expect(afterHeartbeat.headers.ETag).not.toBe(before);
    expect(afterAlert.statusCode).toBe(200);
    expect(FleetViewSchema.parse(afterAlert.body).strategies[3]?.last_alert?.kind).toBe(
      'exchange.disconnected',
    );
  });

  it('reads the fleet, last alerts included, in two Queries and one BatchGetItem of the beats, and no other DynamoDB request (a third Query of the alerts table made it three)', async () => {
    // prepare
    sessionsSent.length = 0;

    // act
    const view = FleetViewSchema.parse((await getFleet()).body);

    // assess
    expect(view.strategies.some((row) => row.last_alert !== null)).toBe(true);
    expect(sessionsSent).toEqual(['QueryCommand', 'QueryCommand', 'BatchGetItemCommand']);
  });

  it("ages a row from the agent's last beat, not from its snapshot a minute old (a healthy bot showed as late)", async () => {
    // prepare: alpha's agent beat just now; its snapshot is older.
    const before = FleetViewSchema.parse((await getFleet()).body);
    const snapshotAge = before.strategies.find((row) => row.strategy_id === 'alpha')?.heartbeat_age_s ?? 0;
    const session = await env.deps.store.get(alphaRun);
    const beat = await env.deps.store.recordBeat({
      run_id: alphaRun,
      agent_id: session?.agent_id ?? '',
      seq: (session?.heartbeat_seq ?? 0) + 1,
      at: new Date(env.clock.now()).toISOString(),
    });
    expect(beat.ok).toBe(true);

    // act
    const view = FleetViewSchema.parse((await getFleet()).body);

    // assess
    expect(snapshotAge).toBeGreaterThan(0);
    expect(view.strategies.find((row) => row.strategy_id === 'alpha')).toMatchObject({ heartbeat_age_s: 0 });
  });

  it('keeps one fleet row per strategy: a new session takes the row from the earlier ones', async () => {
    // act
    const rows = await env.dynamo.doc.send(
      new QueryCommand({
        TableName: env.tables.sessions,
        IndexName: FLEET_INDEX,
        KeyConditionExpression: 'fleet_row = :row AND strategy_id = :strategy',
        ExpressionAttributeValues: { ':row': FLEET_ROW, ':strategy': 'echo' },
      }),
    );

    // assess
    expect(rows.Items?.map((item) => item.run_id)).toEqual([echoRun]);
  });

  it('still shows a current session written before the fleet index (no fleet row), read by key', async () => {
    // prepare
    await env.dynamo.doc.send(
      new UpdateCommand({
        TableName: env.tables.sessions,
        Key: { run_id: bravoRun },
        UpdateExpression: 'REMOVE fleet_row',
      }),
    );
    sessionsSent.length = 0;

    // act
    const view = FleetViewSchema.parse((await getFleet()).body);

    // assess
    expect(view.strategies.find((row) => row.strategy_id === 'bravo')).toMatchObject({
      run_id: bravoRun,
      trading_mode: 'live',
      pnl_today: -40,
    });
    expect(sessionsSent).toEqual([
      'QueryCommand',
      'QueryCommand',
      'BatchGetItemCommand',
      'BatchGetItemCommand',
    ]);
  });

  it('refuses a token without strategies:read (403)', async () => {
    // act
    const response = await invoke({ method: 'GET', route: '/fleet', scopes: ['tradai/strategies:write'] });

    // assess
    expect(response.statusCode).toBe(403);
  });
});

const TableSchema = z.object({
  Properties: z.object({
    GlobalSecondaryIndexes: z.array(
      z.object({
        IndexName: z.string(),
        Projection: z.object({ NonKeyAttributes: z.array(z.string()).optional() }),
      }),
    ),
  }),
});

describe('Fleet index: projection', () => {
  it("projects exactly the attributes FleetSessionSchema reads (serverless.yml's INCLUDE list)", async () => {
    // prepare
    const config = await loadServerlessConfig({ stage: 'fleet' });

    // act
    const table = TableSchema.parse(config.resources.Resources.WorkflowStateTable);
    const index = table.Properties.GlobalSecondaryIndexes.find((gsi) => gsi.IndexName === FLEET_INDEX);

    // assess
    expect([...(index?.Projection.NonKeyAttributes ?? [])].sort()).toEqual(
      [...FLEET_PROJECTED_ATTRIBUTES].sort(),
    );
  });
});
