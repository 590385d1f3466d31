import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../../console/cli/exit-codes';
import { runTradai } from '../../../console/cli/program';

/** A 127.0.0.1 API standing in for POST /strategies/{id}/promote: answers `reply`, records what it was sent. */
let server: Server;
let baseUrl: string;
let reply: { status: number; body: unknown } = { status: 200, body: {} };
const sent: { path: string; body: unknown }[] = [];

beforeAll(async () => {
  server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let text = '';
    request.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    request.on('end', () => {
      sent.push({ path: request.url ?? '', body: text === '' ? undefined : JSON.parse(text) });
      response.writeHead(reply.status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  sent.length = 0;
});

const tradai = async (args: string[]) => {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const code = await runTradai(['--api-url', baseUrl, '--token', 't', ...args], {
    env: {},
    stdin: new PassThrough(),
    stdout,
    stderr,
    signal: new AbortController().signal,
  });
  return { code, out, err };
};

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
