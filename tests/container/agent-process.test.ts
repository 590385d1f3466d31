import { spawn } from 'node:child_process';
import { chmod, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../container/agent/constants';
import { CANARY_KEY, CANARY_SECRET, SIM_BIN, useAgentFixture } from './support/fixture';
import { pollUntil } from './support/poll';
import { type RunningAgent, startAgent } from './support/run';

const ROOT = resolve(import.meta.dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');

const runProcess = (command: string, args: string[], env: Record<string, string>) => {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => {
    out.stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    out.stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((done) => child.once('close', (code) => done(code)));
  return { child, out, exited };
};

describe('Agent: spawning Freqtrade (simulator binary)', () => {
  const { fx } = useAgentFixture();

  it('exits 2 with one line naming the bad variables (npx tsx container/agent/main.ts)', async () => {
    // act
    const run = runProcess('npx', ['tsx', 'container/agent/main.ts'], {
      TRADING_MODE: 'paper',
      STRATEGY_ID: 'x',
    });
    const code = await run.exited;
    // assess
    const lines = run.out.stderr
      .trim()
      .split('\n')
      .filter((line) => !line.includes('NodeVersionSupportWarning') && line.startsWith('Invalid'));
    expect(code).toBe(EXIT.configuration);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('RUN_ID');
    expect(lines[0]).toContain('TRADING_MODE');
    expect(lines[0]).toContain('MLFLOW_TRACKING_URI');
  });

  it('fails the session and exits 2 on an invalid strategy config, naming the path', async () => {
    // prepare
    const { runId, options } = await fx.session({ overrides: { stake_amount: -5 } });
    // act
    const agent = await startAgent(options, { store: fx.store });
    const code = await agent.handle.done;
    // assess
    const session = await fx.store.get(runId);
    expect(code).toBe(EXIT.configuration);
    expect(session?.status).toBe('failed');
    expect(session?.status_reason).toContain('stake_amount');
  });

  it('keeps the exchange secret out of the config file, logs and DynamoDB, and hands it to Freqtrade by environment', async () => {
    // prepare: a wrapper proves the credentials arrived in Freqtrade's environment without printing them
    const { runId, options } = await fx.session();
    const marker = join(fx.dir, `${runId}.env-ok`);
    const wrapper = join(fx.dir, `${runId}-freqtrade.sh`);
    await writeFile(
      wrapper,
      `#!/bin/sh\nif [ "$FREQTRADE__EXCHANGE__KEY" = "${CANARY_KEY}" ] && [ "$FREQTRADE__EXCHANGE__SECRET" = "${CANARY_SECRET}" ]; then touch "${marker}"; fi\nexec "${SIM_BIN}" "$@"\n`,
    );
    await chmod(wrapper, 0o700);
    let agent: RunningAgent | undefined;
    try {
      // act
      agent = await startAgent({ ...options, freqtradeCmd: wrapper }, { store: fx.store });
      await pollUntil(
        'heartbeats with data',
        async () => {
          const s = await fx.store.get(runId);
          return s?.metrics?.equity !== undefined && s.heartbeat_seq >= 2;
        },
        30_000,
      );
      // assess
      await expect(readFile(marker)).resolves.toBeDefined();
      const onDisk = await readFile(join(options.workDir ?? '', 'config.json'), 'utf8');
      expect(onDisk).not.toContain(CANARY_KEY);
      expect(onDisk).not.toContain(CANARY_SECRET);
      expect(JSON.parse(onDisk).api_server).toMatchObject({ listen_ip_address: '127.0.0.1' });
      const items = [];
      for (const table of [fx.dynamo.tables.sessions, fx.dynamo.tables.metrics]) {
        const scan = await fx.dynamo.doc.send(new ScanCommand({ TableName: table }));
        items.push(...(scan.Items ?? []));
      }
      const stored = JSON.stringify(items);
      expect(stored).toContain(runId);
      expect(stored).not.toContain(CANARY_KEY);
      expect(stored).not.toContain(CANARY_SECRET);
      const logs = agent.logs.join('\n');
      expect(logs).toContain('freqtrade');
      expect(logs).not.toContain(CANARY_KEY);
      expect(logs).not.toContain(CANARY_SECRET);
    } finally {
      await agent?.handle.shutdown('test over');
    }
    expect(agent?.logs.join('\n')).not.toContain(CANARY_SECRET);
  });

  it('restarts Freqtrade after a crash and counts the restarts in health', async () => {
    // prepare
    const { runId, options } = await fx.session({
      sim: { scenario: { name: 'crash', at_s: 1, exit_code: 3 } },
    });
    const agent = await startAgent({ ...options, restartBackoffMaxS: 0.2 }, { store: fx.store });
    try {
      // act
      const session = await pollUntil(
        'a restart reported',
        async () => {
          const s = await fx.store.get(runId);
          return (s?.health?.freqtrade_restarts ?? 0) >= 1 ? s : undefined;
        },
        30_000,
      );
      // assess
      expect(session.health?.freqtrade_restarts).toBeGreaterThanOrEqual(1);
      await pollUntil(
        'freqtrade answering again',
        () => agent.handle.status().freqtradeState === 'running',
        30_000,
      );
      expect(agent.logs.some((line) => line.includes('freqtrade exited unexpectedly; restarting'))).toBe(
        true,
      );
    } finally {
      await agent.handle.shutdown('test over');
    }
  });

  it('runs a backtest as a one-shot, stores its results outside the container and records where', async () => {
    // prepare
    const { runId, options } = await fx.session({
      mode: 'backtest',
      overrides: { user_data_dir: join(fx.dir, 'user_data') },
    });
    const stored = join(fx.dir, runId, 'configs', 'results', runId);
    // act
    const agent = await startAgent(options, { store: fx.store });
    const code = await agent.handle.done;
    // assess
    const session = await fx.store.get(runId);
    expect(code).toBe(EXIT.ok);
    expect(session?.status).toBe('completed');
    expect(session?.result_s3_path).toBe(`file://${stored}/`);
    expect((await readdir(stored)).some((name) => name.startsWith('backtest-result-'))).toBe(true);
  });

  it('fails a one-shot whose results cannot be stored, saying so', async () => {
    // prepare
    const { runId, options } = await fx.session({
      mode: 'backtest',
      overrides: { user_data_dir: join(fx.dir, 'user_data-unstored') },
    });
    const refusing = { publish: async () => Promise.reject(new Error('AccessDenied: s3:PutObject')) };
    // act
    const agent = await startAgent(options, { store: fx.store, resultStore: refusing });
    const code = await agent.handle.done;
    // assess
    const session = await fx.store.get(runId);
    expect(code).toBe(EXIT.fault);
    expect(session?.status).toBe('failed');
    expect(session?.status_reason).toMatch(/results could not be stored: AccessDenied/);
  });

  it('runs end to end as a process: heartbeats in DynamoDB, SIGTERM drains and exits 0', async () => {
    // prepare
    const { runId, env } = await fx.session();
    // act
    const run = runProcess(TSX, ['container/agent/main.ts'], env);
    try {
      await pollUntil(
        'heartbeats from the process',
        async () => {
          const s = await fx.store.get(runId);
          return (
            s?.metrics?.equity !== undefined &&
            s.health?.freqtrade_state === 'running' &&
            s.heartbeat_seq >= 2
          );
        },
        40_000,
      );
      run.child.kill('SIGTERM');
      const code = await run.exited;
      // assess
      expect(code).toBe(0);
      const session = await fx.store.get(runId);
      expect(session?.agent_id).toBeTruthy();
      expect(run.out.stdout).toContain('"message":"agent exiting"');
      expect(run.out.stdout).not.toContain(CANARY_SECRET);
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
    }
  });
});
