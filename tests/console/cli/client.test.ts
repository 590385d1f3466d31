import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { ApiClient } from '../../../console/cli/client';
import { agedFleet } from '../../../console/cli/commands/ls';
import { CliError } from '../../../console/cli/errors';
import { EXIT } from '../../../console/cli/exit-codes';
import { runTradai } from '../../../console/cli/program';
import { StrategyReplySchema } from '../../../console/cli/replies';
import type { FleetView } from '../../../functions/api/read-strategies/schema';
import { SESSION_STATUSES } from '../../../shared/domain/session';
import { fleetResumed } from '../support/scope-replies';
import { type ApiReply, jsonReply, runCli, startApi } from './support';

/** A 127.0.0.1 API answering each path with a canned reply, recording what it was sent. */
let api: Awaited<ReturnType<typeof startApi>>;
let baseUrl: string;
const replies = new Map<string, ApiReply>();
const received: { path: string; headers: IncomingHttpHeaders }[] = [];

beforeAll(async () => {
  api = await startApi(({ path, headers }) => {
    received.push({ path, headers });
    return replies.get(path) ?? { status: 404, body: '{"message":"Not Found"}' };
  });
  baseUrl = api.baseUrl;
});
afterAll(() => api.close());

const failureOf = async (promise: Promise<unknown>): Promise<CliError> => {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof CliError)) throw new Error(`expected a CliError, got ${String(outcome)}`);
  return outcome;
};

const client = () => new ApiClient({ baseUrl, token: 'a-token', attempts: 1 });

describe('CLI: the API client', () => {
  it('names the reply field that does not parse instead of crashing (exit 1)', async () => {
    // prepare
    replies.set('/strategies/x', jsonReply(200, { strategy_id: 'x', session: { run_id: 7 } }));

    // act
    const error = await failureOf(client().get('/strategies/x', StrategyReplySchema));

    // assess
    expect(error.exitCode).toBe(EXIT.error);
    expect(error.message).toContain('GET /strategies/x: the reply is not understood');
    expect(error.message).toContain('field session.run_id');
  });

  it('reads a reply from a newer API carrying fields this CLI does not know, dropping them (it refused the whole reply)', async () => {
    // prepare: a strict schema, as the API's own are, and a reply with one field more at two depths
    const Schema = z.strictObject({
      strategy_id: z.string(),
      session: z.strictObject({ run_id: z.string() }),
    });
    replies.set(
      '/strategies/x',
      jsonReply(200, { strategy_id: 'x', added_later: 1, session: { run_id: 'r-1', also_new: true } }),
    );

    // act
    const reply = await client().get('/strategies/x', Schema);

    // assess
    expect(reply).toEqual({ strategy_id: 'x', session: { run_id: 'r-1' } });
  });

  it('still names a bad field of a reply that also carries unknown ones (exit 1)', async () => {
    // prepare
    const Schema = z.strictObject({
      strategy_id: z.string(),
      session: z.strictObject({ run_id: z.string() }),
    });
    replies.set(
      '/strategies/x',
      jsonReply(200, { strategy_id: 'x', added_later: 1, session: { run_id: 7 } }),
    );

    // act
    const error = await failureOf(client().get('/strategies/x', Schema));

    // assess
    expect(error.message).toContain('field session.run_id');
    expect(error.message).not.toContain('added_later');
  });

  it('says a reply that is not JSON is not JSON (exit 1)', async () => {
    replies.set('/html', { status: 200, body: '<html>proxy login</html>' });

    const error = await failureOf(client().get('/html', z.object({})));

    expect(error.exitCode).toBe(EXIT.error);
    expect(error.message).toContain('not JSON');
  });

  it("reports a function's refusal with its code, message and field issues", async () => {
    // prepare
    replies.set(
      '/strategies/x/start',
      jsonReply(400, {
        error: {
          code: 'invalid_request',
          message: 'The request body is invalid',
          details: [{ field: 'risk_limits', message: 'required for live' }],
        },
      }),
    );

    // act
    const error = await failureOf(client().post('/strategies/x/start', {}, z.object({})));

    // assess
    expect(error.exitCode).toBe(EXIT.refused);
    expect(error.message).toBe(
      'POST /strategies/x/start refused (400 invalid_request): The request body is invalid\n  risk_limits: required for live',
    );
    expect(error.detail).toMatchObject({ status: 400, code: 'invalid_request' });
  });

  it("reports a refusal without field issues by its code and message (it said only 'Not Found')", async () => {
    replies.set('/strategies/nope', {
      status: 404,
      body: '{"error":{"code":"not_found","message":"Strategy nope has no sessions"}}',
    });

    const error = await failureOf(client().get('/strategies/nope', z.object({})));

    expect(error.exitCode).toBe(EXIT.refused);
    expect(error.message).toBe('GET /strategies/nope refused (404 not_found): Strategy nope has no sessions');
  });

  it("reads API Gateway's 401 (reason only in www-authenticate) as an auth failure (exit 6)", async () => {
    replies.set('/fleet', {
      status: 401,
      body: '{"message":"Unauthorized"}',
      headers: { 'www-authenticate': 'Bearer error="invalid_token", error_description="token_expired"' },
    });

    const error = await failureOf(client().get('/fleet', z.object({})));

    expect(error.exitCode).toBe(EXIT.auth);
    expect(error.message).toContain('Unauthorized');
  });

  it('a 5xx is a fault, not a refusal (exit 1)', async () => {
    replies.set('/boom', {
      status: 500,
      body: '{"error":{"code":"internal_error","message":"Internal server error"}}',
    });

    const error = await failureOf(client().get('/boom', z.object({})));

    expect(error.exitCode).toBe(EXIT.error);
  });

  it('an API nobody listens on is unreachable (exit 5), after its retries', async () => {
    // prepare: a port that was just free
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    // act
    const error = await failureOf(
      new ApiClient({ baseUrl: `http://127.0.0.1:${port}`, token: 't', attempts: 2 }).get(
        '/fleet',
        z.object({}),
      ),
    );

    // assess
    expect(error.exitCode).toBe(EXIT.unreachable);
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('sends each command with its own Idempotency-Key and the bearer token', async () => {
    // prepare
    replies.set('/strategies/x/pause', { status: 202, body: '{}' });

    // act
    await client().post('/strategies/x/pause', { reason: 'r' }, z.object({}));
    await client().post('/strategies/x/pause', { reason: 'r' }, z.object({}));

    // assess
    const keys = received
      .filter((entry) => entry.path === '/strategies/x/pause')
      .map((entry) => entry.headers['idempotency-key']);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^tradai-cli-[0-9a-f-]{36}$/);
    expect(keys[0]).not.toBe(keys[1]);
    expect(received.at(-1)?.headers.authorization).toBe('Bearer a-token');
  });
});

describe('CLI: a command on a live session is confirmed by typing its id', () => {
  const liveSession = {
    run_id: 'live-x-1',
    strategy_id: 'x',
    strategy_name: 'MomentumStrategy',
    strategy_version: '1',
    trading_mode: 'live',
    status: 'running',
    status_reason: null,
    desired_state: 'running',
    active: true,
    flatten_on_stop: false,
    created_at: '2026-01-01T00:00:00.000Z',
    started_at: '2026-01-01T00:00:00.000Z',
    status_changed_at: '2026-01-01T00:00:00.000Z',
    last_heartbeat: null,
    heartbeat_age_s: null,
    requested_by: 'alice',
    exchange: 'binance',
    pairs: [],
    metrics: null,
    open_trade_count: 0,
    risk_limits: { max_drawdown_pct: 10, max_daily_loss: 100 },
    risk: null,
  };
  const accepted = {
    run_id: 'live-x-1',
    strategy_id: 'x',
    status: 'running',
    desired_state: 'stopped',
    flatten_on_stop: true,
  };

  /** runTradai in-process with a terminal on stdin that answers `answer`. */
  const runWithTerminal = async (answer: string, args: string[]) => {
    const stdin = Object.assign(new PassThrough(), { isTTY: true });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let errors = '';
    stderr.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
      if (errors.includes('Type x to confirm')) stdin.write(`${answer}\n`);
    });
    stdout.resume();
    const code = await runTradai(['--api-url', baseUrl, '--token', 't', ...args], {
      env: {},
      stdin,
      stdout,
      stderr,
      signal: new AbortController().signal,
    });
    return { code, errors };
  };
  const stopsSent = () => received.filter((entry) => entry.path === '/strategies/x/stop').length;

  beforeAll(() => {
    replies.set('/strategies/x', jsonReply(200, { strategy_id: 'x', session: liveSession }));
    replies.set('/strategies/x/stop', jsonReply(202, accepted));
  });

  it('sends nothing when the answer is not the strategy id (exit 7)', async () => {
    // act
    const outcome = await runWithTerminal('y', ['stop', 'x', '--flatten', '--reason', 'risk']);

    // assess
    expect(outcome.code).toBe(EXIT.declined);
    expect(outcome.errors).toContain('stop and FLATTEN the LIVE strategy x');
    expect(stopsSent()).toBe(0);
  });

  it('sends the stop once the strategy id is typed', async () => {
    const outcome = await runWithTerminal('x', ['stop', 'x', '--flatten', '--reason', 'risk']);

    expect(outcome.code).toBe(EXIT.ok);
    expect(stopsSent()).toBe(1);
  });
});

describe('CLI: a halt the agents have not all confirmed', () => {
  it('names the sessions that did not confirm and exits 1, since the brake is not known to hold', async () => {
    // prepare
    replies.set(
      '/fleet/halt',
      jsonReply(200, {
        scope: 'fleet',
        account_id: null,
        state: 'reducing',
        generation: 1,
        previous_state: 'active',
        changed_by: 'alice',
        reason: 'drill',
        changed_at: '2026-01-01T00:00:00.000Z',
        changed: true,
        sessions: {
          acted: [
            { run_id: 'live-a-1', strategy_id: 'a', trading_mode: 'live', action: 'pause', note: null },
          ],
          untouched: [],
          failed: [],
          confirmed: [],
          unconfirmed: [
            {
              run_id: 'live-a-1',
              strategy_id: 'a',
              trading_mode: 'live',
              status: 'running',
              freqtrade_state: 'running',
              last_heartbeat: null,
            },
          ],
        },
        confirm_timeout_s: 30,
      }),
    );

    // act
    const { code, out, err } = await runCli(baseUrl, ['halt', '--mode', 'reducing', '--reason', 'drill']);

    // assess
    expect(code).toBe(EXIT.error);
    expect(out).toContain('live-a-1');
    expect(out).toContain('not confirmed');
    expect(err).toContain('1 session(s) did not confirm within 30s');
  });
});

describe('CLI: a resume names the sessions it left paused because their agent is held', () => {
  it('lists each held session with what holds it and what to do (stop, check the positions, start again), instead of counting it as resumed', async () => {
    // prepare
    replies.set(
      '/fleet/resume',
      jsonReply(
        200,
        fleetResumed([
          {
            run_id: 'live-b-1',
            strategy_id: 'b',
            trading_mode: 'live',
            reason: 'agent_held',
            held_by: 'fail_closed',
            message:
              'kept paused: its agent holds Freqtrade stopped (fail_closed: Freqtrade did not honour pause) and will not trade again in this task.',
          },
        ]),
      ),
    );

    // act
    const { code, out, err } = await runCli(baseUrl, ['resume-fleet', '--reason', 'drill over', '--yes']);

    // assess
    expect(code, err).toBe(EXIT.ok);
    expect(out).toContain('1 kept paused (agent held)');
    expect(out.split('\n').find((line) => line.includes('live-b-1 '))).toContain(
      'kept paused: agent held (fail_closed)',
    );
    expect(out).toContain('Freqtrade did not honour pause');
    expect(out).toContain('tradai stop b --reason');
    expect(out).toContain('tradai start b');
  });
});

describe('CLI: ls says when the fleet or an account is halted', () => {
  const emptyFleet = {
    as_of: '2026-01-01T00:00:00.000Z',
    stale_after_s: 35,
    strategies: [],
    totals: {
      strategies: 0,
      by_status: Object.fromEntries(SESSION_STATUSES.map((status) => [status, 0])),
      money: [],
      open_alerts: { WARNING: 0, CRITICAL: 0 },
    },
    truncated: false,
  };
  const scope = (extra: Record<string, unknown>) => ({
    scope: 'fleet',
    account_id: null,
    state: 'active',
    generation: 0,
    previous_state: null,
    changed_by: 'system',
    reason: '',
    changed_at: '2026-01-01T00:00:00.000Z',
    ...extra,
  });
  const ls = () => runCli(baseUrl, ['ls']);

  it('prints a halted account in a line naming who, when and why, with how to lift it', async () => {
    // prepare
    replies.set('/fleet', jsonReply(200, emptyFleet));
    replies.set(
      '/fleet/state',
      jsonReply(200, {
        fleet: scope({}),
        accounts: [
          scope({
            scope: 'account',
            account_id: 'ab12cd34ef56ab78',
            state: 'halted',
            changed_by: 'budget',
            reason: 'daily loss',
          }),
        ],
      }),
    );

    // act
    const outcome = await ls();

    // assess
    expect(outcome.code).toBe(EXIT.ok);
    expect(outcome.out).toContain(
      'ACCOUNT ab12cd34ef56ab78 HALTED since 2026-01-01T00:00:00.000Z by budget: daily loss (tradai resume-fleet --account ab12cd34ef56ab78)',
    );
    expect(outcome.out).not.toContain('FLEET');
  });

  it('shows the fleet from an API without GET /fleet/state (404), with no warning', async () => {
    replies.set('/fleet', jsonReply(200, emptyFleet));
    replies.delete('/fleet/state');

    const outcome = await ls();

    expect(outcome).toMatchObject({ code: EXIT.ok, err: '' });
    expect(outcome.out).toContain('no strategies yet');
  });
});

describe('CLI: polling the fleet with If-None-Match', () => {
  it('sends the ETag it holds and reads a 304 as unchanged (no body to parse)', async () => {
    // prepare
    replies.set('/fleet-304', { status: 304, body: '', headers: { etag: 'W/"abc"' } });

    // act
    const reply = await client().getIfChanged('/fleet-304', z.object({ never: z.string() }), 'W/"abc"');

    // assess
    expect(reply).toEqual({ unchanged: true });
    expect(received.at(-1)?.headers['if-none-match']).toBe('W/"abc"');
  });

  it('returns a changed body with its new ETag', async () => {
    replies.set('/fleet-200', { status: 200, body: '{"n":1}', headers: { etag: 'W/"def"' } });

    const reply = await client().getIfChanged('/fleet-200', z.object({ n: z.number() }), undefined);

    expect(reply).toEqual({ unchanged: false, body: { n: 1 }, etag: 'W/"def"' });
    expect(received.at(-1)?.headers['if-none-match']).toBeUndefined();
  });

  it("ages an active session's heartbeat by the time since the read, and no other", () => {
    // prepare
    const row = { active: true, heartbeat_age_s: 3 };
    const fleet = {
      strategies: [row, { ...row, active: false }, { ...row, heartbeat_age_s: null }],
    } as unknown as FleetView;

    // act
    const aged = agedFleet(fleet, 10);

    // assess
    expect(aged.strategies.map((entry) => entry.heartbeat_age_s)).toEqual([13, 3, null]);
  });
});
