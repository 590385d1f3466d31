import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../../console/cli/exit-codes';
import { jsonReply, runCli, startApi } from './support';

/** A 127.0.0.1 API standing in for POST /strategies/{id}/promote: answers `reply`, records what it was sent. */
let api: Awaited<ReturnType<typeof startApi>>;
let reply: { status: number; body: unknown } = { status: 200, body: {} };
const sent: { path: string; body: unknown }[] = [];

beforeAll(async () => {
  api = await startApi(({ path, text }) => {
    sent.push({ path, body: text === '' ? undefined : JSON.parse(text) });
    return jsonReply(reply.status, reply.body);
  });
});
afterAll(() => api.close());
beforeEach(() => {
  sent.length = 0;
});

const tradai = (args: string[]) => runCli(api.baseUrl, args);

describe('CLI: tradai promote', () => {
  it('posts the version, target and reason and prints where the version is now', async () => {
    // prepare
    reply = {
      status: 200,
      body: {
        strategy_id: 'demo',
        model: 'TradaiDemo',
        version: '2',
        to: 'Production',
        kind: 'stage',
        stage_before: 'Staging',
        stage: 'Production',
        aliases: [],
        backtest_run_id: null,
        active_run_id: 'dry-run-demo-1',
      },
    };

    // act
    const { code, out, err } = await tradai([
      'promote',
      'demo',
      '--version',
      '2',
      '--to',
      'Production',
      '--reason',
      'won',
    ]);

    // assess
    expect(code).toBe(EXIT.ok);
    expect(sent).toEqual([
      { path: '/strategies/demo/promote', body: { version: '2', to: 'Production', reason: 'won' } },
    ]);
    expect(out).toContain('TradaiDemo v2 is now stage Production (was Staging)');
    expect(err).toContain('dry-run-demo-1 keeps its version');
  });

  it("prints the API's refusal naming the floor and exits 3 (refused)", async () => {
    // prepare
    reply = {
      status: 422,
      body: {
        error: {
          code: 'below_floor',
          message:
            'backtest b-1 of TradaiDemo v2 fails the floor max_drawdown_pct: 22.4 % max drawdown, at most 15',
        },
      },
    };

    // act
    const { code, err } = await tradai([
      'promote',
      'demo',
      '--version',
      '2',
      '--to',
      'Production',
      '--reason',
      'x',
    ]);

    // assess
    expect(code).toBe(EXIT.refused);
    expect(err).toContain('max_drawdown_pct');
  });

  it('refuses a reserved alias before sending anything (usage, exit 2)', async () => {
    // act
    const { code, err } = await tradai([
      'promote',
      'demo',
      '--version',
      '2',
      '--to',
      'latest',
      '--reason',
      'x',
    ]);

    // assess
    expect(code).toBe(EXIT.usage);
    expect(err).toContain('--to');
    expect(sent).toEqual([]);
  });
});
