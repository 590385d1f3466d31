import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler as createReadHandler } from '../../../functions/api/read-strategies/handler';
import { createHandler as createStartHandler } from '../../../functions/api/start-strategy/handler';
import {
  type ApiTestEnv,
  apiEvent,
  errorOf,
  invoker,
  lambdaContext,
  parseResponse,
  READ_SCOPES,
  startApiTest,
  startBody,
} from './support';

describe('HTTP chain: shared/http', () => {
  let env: ApiTestEnv;

  beforeAll(async () => {
    env = await startApiTest();
  });
  afterAll(async () => env.close());

  it('hides an unexpected fault behind a generic 500 without its message or stack', async () => {
    // prepare
    const failing = env.dynamo.newStore(env.clock);
    failing.currentSessionOf = async () => {
      throw new Error('connection to 10.0.3.7 refused: secret-detail');
    };
    const invoke = invoker(createReadHandler({ ...env.deps, store: failing }));

    // act
    const response = await invoke({
      method: 'GET',
      route: '/strategies/{strategyId}',
      params: { strategyId: 'alpha' },
    });

    // assess
    expect(response.statusCode).toBe(500);
    expect(response.body).toEqual({ error: { code: 'internal_error', message: 'Internal server error' } });
    expect(response.raw).not.toContain('secret-detail');
  });

  it('answers 500 to an event that is not an API Gateway payload 2.0 event', async () => {
    // prepare
    const handler = createReadHandler(env.deps);

    // act
    const response = parseResponse(await handler({ hello: 'world' } as never, lambdaContext()));

    // assess
    expect(response.statusCode).toBe(500);
    expect(errorOf(response).code).toBe('internal_error');
  });

  it('refuses a body on a route that takes none', async () => {
    // prepare
    const invoke = invoker(createReadHandler(env.deps));

    // act
    const response = await invoke({
      method: 'GET',
      route: '/strategies',
      scopes: READ_SCOPES,
      body: { x: 1 },
    });

    // assess
    expect(response.statusCode).toBe(400);
    expect(errorOf(response).details).toEqual([{ field: '(body)', message: 'must be empty' }]);
  });

  it('decodes a base64-encoded JSON body', async () => {
    // prepare
    const invoke = invoker(createStartHandler(env.deps));
    const body = Buffer.from(JSON.stringify(startBody())).toString('base64');

    // act
    const response = await invoke({
      method: 'POST',
      route: '/strategies/{strategyId}/start',
      params: { strategyId: 'base64' },
      body,
      isBase64Encoded: true,
    });

    // assess
    expect(response.statusCode).toBe(202);
  });

  it('refuses a malformed Idempotency-Key with 400 before anything is written', async () => {
    // prepare
    const invoke = invoker(createStartHandler(env.deps));
    const before = await env.snapshot();

    // act
    const response = await invoke({
      method: 'POST',
      route: '/strategies/{strategyId}/start',
      params: { strategyId: 'badkey' },
      body: startBody(),
      headers: { 'Idempotency-Key': 'has spaces in it' },
    });

    // assess
    expect(response.statusCode).toBe(400);
    expect(errorOf(response).details?.[0]?.field).toBe('header.idempotency-key');
    expect(await env.snapshot()).toEqual(before);
  });

  it('answers 401 to claims without a subject', async () => {
    // prepare
    const handler = createReadHandler(env.deps);
    const event = apiEvent({ method: 'GET', route: '/strategies', scopes: READ_SCOPES });
    event.requestContext.authorizer.jwt.claims = { scope: 'strategies:read' };

    // act
    const response = parseResponse(await handler(event, lambdaContext()));

    // assess
    expect(response.statusCode).toBe(401);
    expect(response.body).toMatchObject({ error: { code: 'unauthorized', reason: 'no_subject' } });
  });

  it('answers 401 with reason missing_token to a request no authorizer saw, never echoing its header (every 401 looked the same)', async () => {
    // prepare
    const handler = createReadHandler(env.deps);
    const event = apiEvent({
      method: 'GET',
      route: '/strategies',
      scopes: null,
      headers: { authorization: 'Bearer eyJhbGciOiJFUzI1NiJ9.leaked.token' },
    });

    // act
    const response = parseResponse(await handler(event, lambdaContext()));

    // assess
    expect(response.statusCode).toBe(401);
    expect(response.body).toMatchObject({ error: { code: 'unauthorized', reason: 'missing_token' } });
    expect(response.headers['www-authenticate']).toContain('error_description="missing_token"');
    expect(response.raw).not.toContain('leaked');
  });
});
