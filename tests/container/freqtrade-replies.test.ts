import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReplayServer, startReplayServer } from './support/freqtrade-replies';

const ROOT = resolve(import.meta.dirname, '../..');
const PYTHON = join(ROOT, '.venv/bin/python');

/**
 * Validates replies with Freqtrade's own pydantic response models (the installed Freqtrade 2026.9):
 * every required field present and of its type, and no field Freqtrade does not have.
 */
const CHECK = `
import json, sys
from freqtrade.rpc.api_server import api_schemas as s
models = {"show_config": s.ShowConfig, "balance": s.Balances, "profit": s.Profit, "health": s.Health,
          "count": s.Count, "daily": s.DailyWeeklyMonthly, "version": s.Version}
out = {}
for name, body in json.load(sys.stdin).items():
    model = models[name]
    try:
        model.model_validate(body)
        extra = sorted(set(body) - set(model.model_fields))
        out[name] = "ok" if not extra else "unknown fields: " + ", ".join(extra)
    except Exception as error:
        out[name] = str(error)[:500]
print(json.dumps(out))
`;

const validate = (replies: Record<string, unknown>): Promise<Record<string, string>> =>
  new Promise((done, fail) => {
    const child = spawn(PYTHON, ['-c', CHECK], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', fail);
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code === 0) done(JSON.parse(stdout) as Record<string, string>);
      else fail(new Error(`python exited ${code}: ${stderr.slice(-2000)}`));
    });
    child.stdin.end(JSON.stringify(replies));
  });

describe("Replayed Freqtrade replies match Freqtrade 2026.9's own response models", () => {
  let server: ReplayServer;
  beforeAll(async () => {
    server = await startReplayServer({ equity: 1001, startingCapital: 1300, closedMaxDrawdown: 0.23 });
  });
  afterAll(async () => {
    await server.close();
  });

  it('serves /show_config, /balance, /profit, /health, /count, /daily and /version in their real shapes', async () => {
    // prepare
    const routes = ['show_config', 'balance', 'profit', 'health', 'count', 'daily', 'version'];
    const replies: Record<string, unknown> = {};
    for (const route of routes) {
      const response = await fetch(`${server.url}/api/v1/${route}${route === 'daily' ? '?timescale=1' : ''}`);
      replies[route] = await response.json();
    }
    // act
    const verdicts = await validate(replies);
    // assess
    expect(verdicts).toEqual(Object.fromEntries(routes.map((route) => [route, 'ok'])));
  }, 90_000);
});
