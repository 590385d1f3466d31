import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, createApi, ReplyRefusedError } from '../../../console/web/src/api';
import { loadLoginConfig, localLogin } from '../../../console/web/src/auth';
import { type FleetView, FleetViewSchema } from '../../../functions/api/read-strategies/schema';
import { FleetStateSchema } from '../../../functions/api/trading-scope/schema';
import { SESSION_STATUSES } from '../../../shared/domain/session';
import { type ApiReply, jsonReply, startApi } from '../cli/support';

/** A 127.0.0.1 server standing in for the API and the site: each path answers with a canned reply. */
let server: Awaited<ReturnType<typeof startApi>>;
const replies = new Map<string, ApiReply>();
/** The page's relative paths, sent to the test's server. */
const send = (path: string, init: RequestInit) => fetch(`${server.baseUrl}${path}`, init);
const api = () =>
  createApi(
    () => 'token',
    () => undefined,
    send,
  );

beforeAll(async () => {
  server = await startApi(
    ({ path }) => replies.get(path) ?? { status: 404, body: '{"message":"Not Found"}' },
  );
});
afterAll(async () => {
  await server?.close();
});

const fleetRow = (strategyId: string): FleetView['strategies'][number] => ({
  strategy_id: strategyId,
  run_id: `dry-run-${strategyId}-1`,
  strategy_name: 'MomentumStrategy',
  strategy_version: '3',
  trading_mode: 'dry-run',
  status: 'running',
  status_reason: null,
  desired_state: 'running',
  active: true,
  status_changed_at: '2026-12-01T10:00:00.000Z',
  last_heartbeat: '2026-12-01T10:00:00.000Z',
  heartbeat_age_s: 4,
  stale_after_s: 90,
  stake_currency: 'USDT',
  equity: 10_000,
  pnl_today: 1.5,
  pnl_total: -2,
  drawdown_pct: 1.2,
  max_drawdown_pct: 10,
  open_trade_count: 1,
  risk_state: 'ok',
  risk_breaches: [],
  last_alert: null,
  alert_open: false,
});

const fleetOf = (rows: FleetView['strategies']): FleetView =>
  FleetViewSchema.parse({
    as_of: '2026-12-01T10:00:04.000Z',
    stale_after_s: 90,
    strategies: rows,
    totals: {
      strategies: rows.length,
      by_status: Object.fromEntries(SESSION_STATUSES.map((status) => [status, 0])),
      money: [],
      open_alerts: { WARNING: 0, CRITICAL: 0 },
    },
    truncated: false,
  });

const refusalOf = async (promise: Promise<unknown>): Promise<ReplyRefusedError> => {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof ReplyRefusedError))
    throw new Error(`expected a refused reply, got ${String(error)}`);
  return error;
};

describe('Console page: every reply parsed with the API’s own schema, a bad one refused naming the field', () => {
  it('reads a fleet that matches FleetViewSchema, with its ETag', async () => {
    // prepare
    const fleet = fleetOf([fleetRow('alpha')]);
    replies.set('/fleet', { ...jsonReply(200, fleet), headers: { etag: '"v1"' } });
    // act
    const answer = await api().getIfChanged('/fleet', FleetViewSchema, undefined);
    // assess
    expect(answer).toEqual({ body: fleet, etag: '"v1"' });
  });

  it('refuses a fleet whose row has an unknown status, naming strategies.1.status (never cast into the table)', async () => {
    // prepare: the second row's status is one no version of the API sends
    const fleet = fleetOf([fleetRow('alpha'), fleetRow('beta')]);
    replies.set(
      '/fleet',
      jsonReply(200, {
        ...fleet,
        strategies: [fleet.strategies[0], { ...fleet.strategies[1], status: 'exploded' }],
      }),
    );
    // act
    const refusal = await refusalOf(api().getIfChanged('/fleet', FleetViewSchema, undefined));
    // assess
    expect(refusal).toBeInstanceOf(ApiError);
    expect(refusal.code).toBe('reply_refused');
    expect(refusal.message).toMatch(/^The reply to GET \/fleet was refused: field strategies\.1\.status: /);
  });

  it('reads a fleet from a newer API whose rows carry a field this page does not know, dropping it (an open tab refused every fleet after a deploy)', async () => {
    // prepare
    const fleet = fleetOf([fleetRow('alpha')]);
    replies.set(
      '/fleet',
      jsonReply(200, { ...fleet, added_later: {}, strategies: [{ ...fleet.strategies[0], new_column: 3 }] }),
    );
    // act
    const answer = await api().get('/fleet', FleetViewSchema);
    // assess
    expect(answer).toEqual(fleet);
  });

  it('refuses a fleet missing its totals and a reply that is not JSON, in words', async () => {
    // prepare
    const { totals: _dropped, ...withoutTotals } = fleetOf([]);
    replies.set('/fleet', jsonReply(200, withoutTotals));
    replies.set('/fleet/state', { status: 200, body: '<html>proxy error</html>' });
    // act
    const missing = await refusalOf(api().get('/fleet', FleetViewSchema));
    const notJson = await refusalOf(api().get('/fleet/state', FleetStateSchema));
    // assess
    expect(missing.message).toContain('field totals:');
    expect(notJson.message).toBe('The reply to GET /fleet/state was refused: it is not JSON');
  });

  it('names at most three fields of a reply that is wrong everywhere, and counts the rest', async () => {
    // prepare
    replies.set('/fleet/state', jsonReply(200, { fleet: { scope: 'galaxy' }, accounts: 'none' }));
    // act
    const refusal = await refusalOf(api().get('/fleet/state', FleetStateSchema));
    // assess
    expect(refusal.message.match(/field /g)).toHaveLength(3);
    expect(refusal.message).toMatch(/and \d+ more$/);
  });

  it('refuses a /config.json whose Cognito domain is not a host name, naming domain, before any login', async () => {
    // prepare: a domain that would smuggle a path and a query into the hosted UI's URL
    replies.set(
      '/config.json',
      jsonReply(200, { kind: 'cognito', domain: 'evil.example/x?', clientId: 'abc', scopes: ['openid'] }),
    );
    // act
    const refusal = await refusalOf(loadLoginConfig(send));
    // assess
    expect(refusal.message).toBe(
      'The reply to GET /config.json was refused: field domain: must be a host name',
    );
  });

  it('reads a local and a Cognito /config.json, and refuses one of no known kind naming kind', async () => {
    // prepare
    const cognito = {
      kind: 'cognito',
      domain: 'tradai-operators.auth.eu-central-1.amazoncognito.com',
      clientId: 'abc123',
      scopes: ['openid'],
    };
    // act
    replies.set('/config.json', jsonReply(200, { kind: 'local' }));
    const local = await loadLoginConfig(send);
    replies.set('/config.json', jsonReply(200, cognito));
    const hosted = await loadLoginConfig(send);
    replies.set('/config.json', jsonReply(200, { kind: 'saml' }));
    const unknown = await refusalOf(loadLoginConfig(send));
    // assess
    expect(local).toEqual({ kind: 'local' });
    expect(hosted).toEqual(cognito);
    expect(unknown.message).toMatch(/field kind: /);
  });

  it('refuses a local login reply without a token string, naming token; a refused login keeps the API’s words', async () => {
    // prepare
    const options = { subject: 'alice', scopes: ['strategies:read'], groups: [] };
    replies.set('/local/token', jsonReply(200, { token: 42 }));
    // act
    const refusal = await refusalOf(localLogin(options, send));
    replies.set(
      '/local/token',
      jsonReply(400, { error: { code: 'invalid_request', message: 'subject: Too small' } }),
    );
    const refused = await localLogin(options, send).catch((error: unknown) => error);
    // assess
    expect(refusal.message).toMatch(/^The reply to POST \/local\/token was refused: field token: /);
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).message).toBe('subject: Too small');
  });
});
