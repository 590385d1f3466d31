import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHandler, type PromoteDeps } from '../../../functions/api/promote-strategy/handler';
import { FilePromotionRegistry } from '../../../local/mlflow/file-promotion-registry';
import { DynamoBacktestEvidence } from '../../../shared/adapters/dynamodb/backtest-evidence';
import { MlflowPromotionRegistry } from '../../../shared/adapters/mlflow/promotion-registry';
import type { PromotionFloors } from '../../../shared/domain/model-promotion';
import { PromotionFloorsEnvSchema } from '../../../shared/runtime/api-promote-deps';
import {
  ALL_SCOPES,
  type ApiTestEnv,
  errorOf,
  type Invoke,
  invoker,
  LIVE_GROUPS,
  runningSession,
  startApiTest,
  WRITE_SCOPES,
} from './support';

const MODEL = 'PascalStrategy';

/** Two versions, v1 in Production and @champion, v2 new: the seed's tag schema (strategy_version differs). */
const registryFile = () => ({
  registered_models: [
    {
      name: MODEL,
      aliases: { champion: '1' },
      versions: [
        { version: '1', current_stage: 'Production', tags: { strategy_version: '2.0.0' } },
        { version: '2', current_stage: 'None', tags: { strategy_version: '2.1.0' } },
      ],
    },
  ],
});

describe('Handler: promote-strategy', () => {
  let env: ApiTestEnv;
  let dir: string;
  let file: string;
  let seq = 0;
  const fresh = () => `promo-${++seq}`;
  const floors: { current: PromotionFloors | null } = { current: null };

  const depsWith = (registry: PromoteDeps['registry']): PromoteDeps => ({
    ...env.deps,
    registry,
    backtests: new DynamoBacktestEvidence(env.dynamo.doc, { sessionsTable: env.tables.sessions }),
    get promotionFloors() {
      return floors.current;
    },
  });
  let invoke: Invoke;
  const promote = (strategyId: string, body: unknown, extra: Partial<Parameters<Invoke>[0]> = {}) =>
    invoke({
      method: 'POST',
      route: '/strategies/{strategyId}/promote',
      params: { strategyId },
      body,
      scopes: WRITE_SCOPES,
      ...extra,
    });
  const stored = async () => JSON.parse(await readFile(file, 'utf8')).registered_models[0];
  const auditOf = async (strategyId: string) => (await env.deps.audit.listByStrategy(strategyId)).items;
  /** A seed §6 backtest record, as the backtest workflow writes it into the unified table. */
  const backtestRecord = (runId: string, fields: Record<string, unknown>) =>
    env.dynamo.doc.send(
      new PutCommand({
        TableName: env.tables.sessions,
        Item: {
          run_id: runId,
          workflow_type: 'backtest',
          strategy_name: MODEL,
          status: 'completed',
          created_at: new Date(env.clock.now()).toISOString(),
          completed_at: new Date(env.clock.now()).toISOString(),
          result_s3_path: `s3://tradai-results/results/${runId}/`,
          ttl: 1_900_000_000,
          ...fields,
        },
      }),
    );

  beforeAll(async () => {
    env = await startApiTest();
    dir = await mkdtemp(join(tmpdir(), 'tradai-promote-'));
    file = join(dir, 'registry.json');
    invoke = invoker(createHandler(depsWith(new FilePromotionRegistry(file))));
  });
  beforeEach(async () => {
    floors.current = null;
    await writeFile(file, JSON.stringify(registryFile()));
  });
  afterAll(async () => {
    await env.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('promotes v2 to Production: v1 is archived, 200 with the stage before and after, audited with the registry change', async () => {
    // prepare
    const strategyId = fresh();
    await runningSession(env, strategyId);

    // act
    const response = await promote(strategyId, {
      version: '2',
      to: 'Production',
      reason: 'won the backtest',
    });

    // assess
    expect(response.statusCode).toBe(200);
    expect(response.body).toMatchObject({
      model: MODEL,
      version: '2',
      to: 'Production',
      kind: 'stage',
      stage_before: 'None',
      stage: 'Production',
    });
    const model = await stored();
    expect(model.versions.map((v: { current_stage: string }) => v.current_stage)).toEqual([
      'Archived',
      'Production',
    ]);
    const [entry] = await auditOf(strategyId);
    expect(entry).toMatchObject({
      action: 'promote',
      outcome: 'accepted',
      reason: 'won the backtest',
      promotion: {
        model: MODEL,
        version: '2',
        to: 'Production',
        stage_before: 'None',
        stage_after: 'Production',
        backtest_run_id: null,
      },
    });
  });

  it('moves an alias (champion) to v2 and leaves the stages alone', async () => {
    // prepare
    const strategyId = fresh();
    await runningSession(env, strategyId);

    // act
    const response = await promote(strategyId, { version: 2, to: 'champion', reason: 'new champion' });

    // assess
    expect(response.statusCode).toBe(200);
    expect(response.body).toMatchObject({ kind: 'alias', to: 'champion', aliases: ['champion'] });
    const model = await stored();
    expect(model.aliases).toEqual({ champion: '2' });
    expect(model.versions[0].current_stage).toBe('Production');
  });

  it("refuses to move a live session's own selection without the live permission (403), and the registry is unchanged", async () => {
    // prepare: a live session selects by stage Production (the default)
    const strategyId = fresh();
    await runningSession(env, strategyId, { mode: 'live' });

    // act
    const refused = await promote(strategyId, { version: '2', to: 'Production', reason: 'try' });
    const staging = await promote(strategyId, { version: '2', to: 'Staging', reason: 'not what live runs' });

    // assess
    expect(refused.statusCode).toBe(403);
    expect(staging.statusCode).toBe(200);
    expect((await stored()).versions[0].current_stage).toBe('Production');
  });

  it('lets a live trader move the live selection', async () => {
    // prepare
    const strategyId = fresh();
    await runningSession(env, strategyId, { mode: 'live' });

    // act
    const response = await promote(
      strategyId,
      { version: '2', to: 'Production', reason: 'approved by risk' },
      { scopes: ALL_SCOPES, groups: LIVE_GROUPS },
    );

    // assess
    expect(response.statusCode).toBe(200);
    expect((await stored()).versions[1].current_stage).toBe('Production');
  });

  it('refuses a gated promotion with no completed backtest of the version (409 backtest_required), unchanged', async () => {
    // prepare
    const strategyId = fresh();
    await runningSession(env, strategyId);
    floors.current = PromotionFloorsEnvSchema.parse('{"min_trades":30}');

    // act
    const response = await promote(strategyId, { version: '2', to: 'Production', reason: 'no evidence' });

    // assess
    expect(response.statusCode).toBe(409);
    expect(errorOf(response).code).toBe('backtest_required');
    expect(errorOf(response).message).toContain('strategy_version 2.1.0');
    expect((await stored()).versions[1].current_stage).toBe('None');
    const [entry] = await auditOf(strategyId);
    expect(entry).toMatchObject({ action: 'promote', outcome: 'refused' });
  });

  it('refuses a gated promotion whose backtest fails a floor (422 below_floor naming max_drawdown_pct), unchanged', async () => {
    // prepare
    const strategyId = fresh();
    await runningSession(env, strategyId);
    floors.current = PromotionFloorsEnvSchema.parse('{"min_trades":30,"max_drawdown_pct":15}');
    await backtestRecord(`backtest-${strategyId}-deep`, {
      strategy_version: '2.1.0',
      backtest_summary: { total_trades: 120, profit_total_pct: 8.5, max_drawdown_pct: 22.4, win_rate: 0.55 },
    });

    // act
    const response = await promote(strategyId, { version: '2', to: 'Production', reason: 'deep drawdown' });

    // assess
    expect(response.statusCode).toBe(422);
    expect(response.body.error).toMatchObject({
      code: 'below_floor',
      details: {
        floor: 'max_drawdown_pct',
        required: 15,
        actual: 22.4,
        run_id: `backtest-${strategyId}-deep`,
      },
    });
    expect((await stored()).versions[1].current_stage).toBe('None');
  });

  it('promotes when the newest backtest of that version passes every floor, naming it; Staging is not gated', async () => {
    // prepare
    const strategyId = fresh();
    await runningSession(env, strategyId);
    floors.current = PromotionFloorsEnvSchema.parse(
      '{"min_trades":30,"max_drawdown_pct":15,"min_win_rate":0.5}',
    );
    await backtestRecord(`backtest-${strategyId}-other-version`, {
      strategy_version: '2.0.0',
      backtest_summary: { total_trades: 200, profit_total_pct: 20, max_drawdown_pct: 5, win_rate: 0.7 },
    });
    await backtestRecord(`backtest-${strategyId}-good`, {
      model_version: '2',
      strategy_version: '2.1.0',
      backtest_summary: { total_trades: 64, profit_total_pct: 4.1, max_drawdown_pct: 9.8, win_rate: 0.52 },
    });

    // act
    const staging = await promote(fresh(), {
      version: '1',
      to: 'Staging',
      model: MODEL,
      reason: 'not gated',
    });
    const response = await promote(strategyId, { version: '2', to: 'Production', reason: 'passed' });

    // assess
    expect(staging.statusCode).toBe(200);
    expect(response.statusCode).toBe(200);
    expect(response.body.backtest_run_id).toBe(`backtest-${strategyId}-good`);
    const entries = await auditOf(strategyId);
    expect(entries.at(-1)?.promotion?.backtest_run_id).toBe(`backtest-${strategyId}-good`);
  });

  it('refuses a version the registry does not have (422 version_not_found) and a strategy that never ran without "model" (422)', async () => {
    // prepare
    const strategyId = fresh();
    await runningSession(env, strategyId);

    // act
    const missing = await promote(strategyId, { version: '9', to: 'Production', reason: 'typo' });
    const unknown = await promote(fresh(), { version: '2', to: 'Production', reason: 'no session' });

    // assess
    expect(missing.statusCode).toBe(422);
    expect(errorOf(missing).code).toBe('version_not_found');
    expect(errorOf(missing).message).toContain(`${MODEL} v9`);
    expect(unknown.statusCode).toBe(422);
    expect(errorOf(unknown).code).toBe('model_unknown');
  });

  it('refuses a body naming a reserved alias, no reason or an unknown field (400 naming each field)', async () => {
    // prepare
    const strategyId = fresh();

    // act
    const reserved = await promote(strategyId, { version: '2', to: 'latest', reason: 'x' });
    const noReason = await promote(strategyId, { version: '2', to: 'Production' });
    const extra = await promote(strategyId, { version: '2', to: 'Production', reason: 'x', stage: 'x' });

    // assess
    expect(reserved.statusCode).toBe(400);
    expect(errorOf(reserved).details?.map((d) => d.field)).toContain('to');
    expect(noReason.statusCode).toBe(400);
    expect(errorOf(noReason).details?.map((d) => d.field)).toContain('reason');
    expect(extra.statusCode).toBe(400);
  });

  it('answers 503 registry_unavailable when MLflow is unreachable, changing nothing and recording the failure', async () => {
    // prepare: a port nothing listens on
    const probe = createServer();
    await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
    const address = probe.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    await new Promise<void>((done) => probe.close(() => done()));
    const offline = invoker(
      createHandler(
        depsWith(new MlflowPromotionRegistry({ trackingUri: `http://127.0.0.1:${port}`, timeoutMs: 2_000 })),
      ),
    );
    const strategyId = fresh();
    await runningSession(env, strategyId);

    // act
    const response = await offline({
      method: 'POST',
      route: '/strategies/{strategyId}/promote',
      params: { strategyId },
      body: { version: '2', to: 'Production', reason: 'mlflow down' },
      scopes: WRITE_SCOPES,
    });

    // assess
    expect(response.statusCode).toBe(503);
    expect(errorOf(response).code).toBe('registry_unavailable');
    const [entry] = await auditOf(strategyId);
    expect(entry).toMatchObject({ action: 'promote', outcome: 'failed' });
  });
});
