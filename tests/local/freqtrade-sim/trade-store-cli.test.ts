import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { get, simConfig, waitFor } from './helpers';

const BIN = resolve(import.meta.dirname, '../../../local/freqtrade-sim/bin/freqtrade');

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** `freqtrade trade` as the agent spawns it, in `cwd`; resolves with its API URL once it listens. */
const trade = async (cwd: string, args: string[]) => {
  const child = spawn(BIN, ['trade', ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<void>((done) => child.on('exit', () => done()));
  const port = await waitFor(
    () => /Listening on 127\.0\.0\.1:(\d+)/.exec(stderr)?.[1],
    'the simulator to listen',
    20_000,
  );
  return { child, exited, url: `http://127.0.0.1:${port}`, stderr: () => stderr };
};

type StatusTrade = { trade_id: number; pair: string; open_date: string };
const openTradesOf = async (url: string) =>
  ((await get(url, '/api/v1/status')).body as StatusTrade[]).map(({ trade_id, pair, open_date }) => ({
    trade_id,
    pair,
    open_date,
  }));

describe('FreqtradeSim: trade database on the command line', () => {
  it('finds its open trades again after SIGKILL, given the same --db-url (the database is written before it answers)', async () => {
    // prepare: flat prices, two entries at the first iteration, nothing closes
    const dir = mkdtempSync(join(tmpdir(), 'ftsim-db-'));
    dirs.push(dir);
    const config = join(dir, 'config.json');
    writeFileSync(
      config,
      JSON.stringify(
        simConfig({
          initial_state: 'running',
          max_open_trades: 2,
          sim: { tick_ms: 20, entry_probability: 1, volatility: 0, drift: 0 },
        }),
      ),
    );
    // SQLAlchemy's relative form: tradesv3.live.sqlite in the working directory.
    const args = ['--config', config, '--db-url', 'sqlite:///tradesv3.live.sqlite'];
    const first = await trade(dir, args);
    const before = await waitFor(async () => {
      const open = await openTradesOf(first.url);
      return open.length === 2 ? open : undefined;
    }, 'two open trades');

    // act
    first.child.kill('SIGKILL');
    await first.exited;
    const second = await trade(dir, args);
    const after = await openTradesOf(second.url);

    // assess
    expect(existsSync(join(dir, 'tradesv3.live.sqlite'))).toBe(true);
    expect(after).toEqual(before);
    expect(second.stderr()).toContain('Loaded 2 open and 0 closed trades');
  });
});
