import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleAgent } from '../../container/build';
import { imageNodeInvocation } from '../../container/image-flags';
import { type Fixture, SIM_STRATEGY_TAGS, startFixture } from './support/fixture';
import { type FakeMlflow, startFakeMlflow } from './support/mlflow-server';
import { pollUntil } from './support/poll';

/**
 * Preloaded into the agent: counts calls of the global fetch and records, as the process exits, whether
 * undici (fetch's engine, with its WebAssembly HTTP parser: ~7 MB of RSS) was ever loaded.
 */
const PROBE = `
import { writeFileSync } from 'node:fs';
const original = globalThis.fetch;
let calls = 0;
globalThis.fetch = (...args) => { calls += 1; return original(...args); };
process.on('exit', () => {
  const undici = process.moduleLoadList.filter((name) => name.includes('undici'));
  writeFileSync(process.env.PROBE_OUT, JSON.stringify({ calls, undici }));
});
`;

describe('Agent footprint: MLflow over HTTP without the global fetch (issue 14)', () => {
  let fx: Fixture;
  let mlflow: FakeMlflow;
  let dir: string;

  beforeAll(async () => {
    fx = await startFixture();
    mlflow = await startFakeMlflow([
      { name: 'SimStrategy', version: '1', current_stage: 'Production', tags: SIM_STRATEGY_TAGS },
    ]);
    dir = await mkdtemp(join(tmpdir(), 'tradai-no-fetch-'));
  });

  afterAll(async () => {
    await mlflow.close();
    await fx.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the registry from MLflow without calling fetch or loading undici (its WebAssembly parser put the agent past 60 MB)', async () => {
    // prepare
    const { entrypointFlags, nodeOptions } = await imageNodeInvocation();
    const bundle = await bundleAgent(join(dir, 'agent'));
    const probe = join(dir, 'probe.mjs');
    const out = join(dir, 'probe.json');
    await writeFile(probe, PROBE);
    const { env } = await fx.session();
    const child = spawn(process.execPath, [...entrypointFlags, '--import', probe, bundle], {
      env: {
        PATH: process.env.PATH ?? '',
        ...env,
        MLFLOW_TRACKING_URI: mlflow.url,
        NODE_OPTIONS: nodeOptions.join(' '),
        PROBE_OUT: out,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const closed = once(child, 'close');
    // act
    try {
      await pollUntil(
        'the agent to load its config from MLflow and claim the session',
        () => output.includes('strategy config loaded') && output.includes('session claimed'),
        30_000,
      );
    } finally {
      child.kill('SIGTERM');
      await closed;
    }
    // assert
    expect(mlflow.requests.map((request) => request.path)).toContainEqual(
      expect.stringContaining('/api/2.0/mlflow/registered-models/get-latest-versions'),
    );
    expect(JSON.parse(await readFile(out, 'utf8'))).toEqual({ calls: 0, undici: [] });
  });
});
