import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { SourceMap } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleAgent } from '../../container/build';
import { imageNodeInvocation } from '../../container/image-flags';

const runNode = async (args: string[], env: Record<string, string> = {}) => {
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, output };
};

describe('Image: the flags container/Dockerfile starts node with', () => {
  let server: ReturnType<typeof createServer>;
  let url: string;
  let dir: string;

  beforeAll(async () => {
    server = createServer((_request, response) => response.end('{"status":"ok"}'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/health`;
    dir = await mkdtemp(join(tmpdir(), 'tradai-image-flags-'));
  });

  afterAll(async () => {
    server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('puts in NODE_OPTIONS only flags node allows there (else every node in the image exits 9: "--lite-mode is not allowed in NODE_OPTIONS")', async () => {
    const { nodeOptions } = await imageNodeInvocation();

    const refused = nodeOptions.filter(
      (flag) => !process.allowedNodeEnvironmentFlags.has(flag.replace(/=.*$/, '')),
    );

    expect(refused).toEqual([]);
  });

  it('leaves the global fetch working for the agent (MLflow over HTTP) and the HEALTHCHECK (--lite-mode and --jitless remove WebAssembly, which fetch needs)', async () => {
    const { entrypointFlags, nodeOptions } = await imageNodeInvocation();
    const script = `fetch(${JSON.stringify(url)}).then((r) => r.text()).then((t) => process.stdout.write(t))`;

    const agentLike = await runNode([...entrypointFlags, '-e', script], {
      NODE_OPTIONS: nodeOptions.join(' '),
    });
    const healthcheckLike = await runNode(['-e', script], { NODE_OPTIONS: nodeOptions.join(' ') });

    expect(agentLike).toEqual({ code: 0, output: '{"status":"ok"}' });
    expect(healthcheckLike).toEqual({ code: 0, output: '{"status":"ok"}' });
  });

  it('starts the bundled agent with the ENTRYPOINT flags (an unknown V8 flag would exit 9 before the agent runs)', async () => {
    const { entrypointFlags, nodeOptions, script } = await imageNodeInvocation();
    const bundle = await bundleAgent(join(dir, 'agent'));

    const result = await runNode([...entrypointFlags, bundle, '--help'], {
      NODE_OPTIONS: nodeOptions.join(' '),
    });

    expect(script).toBe('/opt/tradai/agent.mjs');
    expect(result.code).toBe(0);
    expect(result.output).toContain('Usage: npm run agent');
  });

  it('maps the bundle back to the TypeScript lines without shipping the sources (stack traces stay readable)', async () => {
    const bundle = await bundleAgent(join(dir, 'mapped'));
    const [code, map] = await Promise.all([readFile(bundle, 'utf8'), readFile(`${bundle}.map`, 'utf8')]);
    const payload = JSON.parse(map) as { sourcesContent?: unknown };
    const before = code.slice(0, code.indexOf('Usage: npm run agent')).split('\n');

    const entry = new SourceMap(payload as never).findEntry(before.length - 1, (before.at(-1) ?? '').length);

    expect(payload.sourcesContent).toBeUndefined();
    expect('originalSource' in entry && entry.originalSource).toMatch(/container\/agent\/main\.ts$/);
  });
});
