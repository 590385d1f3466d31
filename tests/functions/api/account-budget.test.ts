import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { buildOpenApiDocument } from '../../../functions/api/openapi';
import { createHandler } from '../../../functions/api/trading-scope/handler';
import { LocalAlertPublisher } from '../../../local/cloud/alerts';
import type { DynamoAccountBudgetStore } from '../../../shared/adapters/dynamodb/account-budget-store';
import { anyJson, nastyNumber, nastyString } from '../../support/arbitraries';
import {
  type ApiTestEnv,
  errorOf,
  type Invoke,
  invoker,
  LIVE_GROUPS,
  READ_SCOPES,
  startApiTest,
  WRITE_SCOPES,
} from './support';

let accountSeq = 0;
const newAccount = () => {
  accountSeq += 1;
  return `${accountSeq.toString(16).padStart(4, '0')}${'ef'.repeat(14)}`;
};

describe('Handler: trading-scope, account budgets', () => {
  let env: ApiTestEnv;
  let budgets: DynamoAccountBudgetStore;
  let invoke: Invoke;

  beforeAll(async () => {
    env = await startApiTest();
    budgets = env.dynamo.newBudgets(env.clock);
    invoke = invoker(
      createHandler({
        ...env.deps,
        store: env.dynamo.newStore(env.clock),
        alerts: new LocalAlertPublisher({ print: () => undefined }),
        budgets,
        confirmTimeoutMs: 300,
      }),
    );
  });
  afterAll(async () => env.close());

  const put = (accountId: string, body: unknown, extra: Partial<Parameters<Invoke>[0]> = {}) =>
    invoke({
      method: 'PUT',
      route: '/accounts/{accountId}/budget',
      params: { accountId },
      body,
      scopes: WRITE_SCOPES,
      ...extra,
    });
  const auditOf = async (accountId: string) =>
    (await env.deps.audit.listByStrategy(`scope#account#${accountId}`)).items.map((entry) => [
      entry.action,
      entry.outcome,
      entry.detail,
    ]);

  it('sets a first budget with strategies:write, audited, and shows it with today’s totals', async () => {
    // prepare
    const accountId = newAccount();
    // act
    const answer = await put(accountId, {
      stake_currency: 'usdt',
      daily_loss_max: 500,
      reason: 'limit the desk',
    });
    const read = await invoke({
      method: 'GET',
      route: '/accounts/{accountId}/budget',
      params: { accountId },
      scopes: READ_SCOPES,
    });
    // assess
    expect(answer.statusCode).toBe(200);
    expect(read.body).toMatchObject({
      account_id: accountId,
      budget: { stake_currency: 'USDT', daily_loss_max: 500 },
      today: { pnl_today: 0, exposure: 0 },
      currencies_seen: [],
    });
    expect(await auditOf(accountId)).toEqual([
      ['budget', 'accepted', 'none -> loss 500, exposure unlimited USDT'],
    ]);
  });

  it('refuses to raise or remove a limit without the live permission (403), writing nothing', async () => {
    // prepare
    const accountId = newAccount();
    await put(accountId, { stake_currency: 'USDT', daily_loss_max: 500, reason: 'limit' });
    // act
    const raised = await put(accountId, { stake_currency: 'USDT', daily_loss_max: 900, reason: 'more room' });
    const removed = await put(accountId, { stake_currency: 'USDT', reason: 'no limit' });
    const lowered = await put(accountId, { stake_currency: 'USDT', daily_loss_max: 400, reason: 'tighter' });
    const liveRaise = await put(
      accountId,
      { stake_currency: 'USDT', daily_loss_max: 900, reason: 'more room, approved' },
      { scopes: [...WRITE_SCOPES, 'tradai/strategies:live'], groups: LIVE_GROUPS },
    );
    // assess
    expect([raised.statusCode, removed.statusCode, lowered.statusCode, liveRaise.statusCode]).toEqual([
      403, 403, 200, 200,
    ]);
    expect(errorOf(raised).code).toBe('live_permission_required');
    expect((await budgets.getAggregate(accountId)).budget?.daily_loss_max).toBe(900);
  });

  it.each([
    ['a negative limit', { stake_currency: 'USDT', daily_loss_max: -5, reason: 'x' }, 'daily_loss_max'],
    ['an unknown field', { stake_currency: 'USDT', max_loss: 5, reason: 'x' }, ''],
    ['no reason', { stake_currency: 'USDT', daily_loss_max: 5 }, 'reason'],
    ['no currency', { daily_loss_max: 5, reason: 'x' }, 'stake_currency'],
  ])('refuses %s with 400 naming the field', async (_name, body, field) => {
    const accountId = newAccount();
    const answer = await put(accountId, body);
    expect(answer.statusCode).toBe(400);
    if (field !== '') expect(errorOf(answer).details?.map((detail) => detail.field)).toContain(field);
    expect((await budgets.getAggregate(accountId)).budget).toBeUndefined();
  });

  it('PUT body: one the handler accepts is valid per the OpenAPI document; one the document refuses, the handler refuses', async () => {
    // prepare
    const document = buildOpenApiDocument() as unknown as {
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>
      >;
    };
    const schema = z.fromJSONSchema(
      document.paths['/accounts/{accountId}/budget']?.put?.requestBody?.content['application/json']
        ?.schema as never,
    );
    const limit = fc.oneof(fc.double({ min: 0.01, max: 1e6, noNaN: true }), nastyNumber);
    const valid = fc.record(
      {
        stake_currency: fc.oneof(fc.constantFrom('USDT', 'btc', 'EUR'), nastyString),
        daily_loss_max: limit,
        gross_exposure_max: limit,
        reason: fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), nastyString),
      },
      { requiredKeys: ['stake_currency', 'reason'] },
    );
    let accepted = 0;
    let refused = 0;
    // act and assess
    await fc.assert(
      fc.asyncProperty(fc.oneof(valid, anyJson), async (candidate) => {
        const response = await put(newAccount(), JSON.stringify(candidate), {
          scopes: [...WRITE_SCOPES, 'tradai/strategies:live'],
          groups: LIVE_GROUPS,
        });
        expect([200, 400]).toContain(response.statusCode);
        const documentValid = schema.safeParse(candidate).success;
        if (response.statusCode === 200) {
          accepted += 1;
          expect(documentValid, JSON.stringify(candidate)).toBe(true);
        }
        if (!documentValid) {
          refused += 1;
          expect(response.statusCode, JSON.stringify(candidate)).toBe(400);
        }
      }),
      { numRuns: 60, seed: 20261201 },
    );
    expect(accepted).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  });

  it('refuses an account id that is not one (400)', async () => {
    const answer = await put('not-an-account', { stake_currency: 'USDT', reason: 'x' });
    expect(answer.statusCode).toBe(400);
  });
});
