/**
 * Per-function bundle size and cold init time. Every `functions/**\/handler.ts` is bundled exactly as
 * serverless.yml's `custom.esbuild` says (read from the file, so the two cannot drift), then each bundle is
 * imported in a fresh `node` process, several times, and the median import time is reported.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build, type Format, type Platform } from 'esbuild';
import { z } from 'zod';
import { loadServerlessConfig } from '../local/serverless/config';
import { round1 } from './stats';

const run = promisify(execFile);

const ROOT = resolve(import.meta.dirname, '..');
/**
 * Inside the repository so the bundles resolve the excluded `@aws-sdk/*` from node_modules, as Lambda's
 * runtime provides them; not under .esbuild, which `osls package` wipes.
 */
const OUT_DIR = join(ROOT, 'bench', 'results', '.function-bundles');

export const GOALS = { bundle_kb: 250, init_ms: 150 } as const;

const EsbuildConfigSchema = z.object({
  bundle: z.boolean().default(true),
  minify: z.boolean().default(false),
  sourcemap: z.boolean().default(false),
  target: z.string().default('node22'),
  platform: z.string().default('node'),
  format: z.string().default('esm'),
  outputFileExtension: z.string().default('.js'),
  exclude: z.array(z.string()).default([]),
  banner: z.record(z.string(), z.string()).optional(),
});

const findHandlers = async (dir: string): Promise<string[]> => {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map(async (entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return findHandlers(path);
      return entry.name === 'handler.ts' ? [path] : [];
    }),
  );
  return nested.flat().sort();
};

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};

interface InitSample {
  total: number;
  sdk: number;
  own: number;
  /** The process's RSS once the bundle is loaded, MB: what a memory size must hold before any work. */
  rssMb: number;
}

/**
 * Loads the bundle in a process of its own: module evaluation only, as in Lambda's init phase. The AWS SDK
 * modules the bundle imports (excluded from it; the runtime provides them) are loaded first and timed apart,
 * so the bundle's own cost is visible next to the SDK's.
 */
const initSample = async (bundle: string, sdkModules: readonly string[]): Promise<InitSample> => {
  const script = [
    'const t0 = performance.now();',
    `for (const name of ${JSON.stringify(sdkModules)}) await import(name);`,
    'const t1 = performance.now();',
    `await import(${JSON.stringify(pathToFileURL(bundle).href)});`,
    'const t2 = performance.now();',
    'const rssMb = process.memoryUsage().rss / 2 ** 20;',
    'process.stdout.write(JSON.stringify({ total: t2 - t0, sdk: t1 - t0, own: t2 - t1, rssMb }));',
  ].join('\n');
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
    cwd: ROOT,
    env: { ...process.env, AWS_REGION: process.env.AWS_REGION ?? 'eu-central-1', NODE_OPTIONS: '' },
    timeout: 30_000,
  });
  return InitSampleSchema.parse(JSON.parse(stdout));
};

const InitSampleSchema = z.object({ total: z.number(), sdk: z.number(), own: z.number(), rssMb: z.number() });

export interface FunctionsBenchOptions {
  /** Fresh processes per function; the median is reported. */
  runs?: number;
}

export async function runFunctionsBench(
  options: FunctionsBenchOptions = {},
): Promise<Record<string, unknown>> {
  const runs = options.runs ?? 5;
  const config = await loadServerlessConfig({ stage: 'bench' });
  const esbuild = EsbuildConfigSchema.parse(config.custom?.esbuild ?? {});
  const handlers = await findHandlers(join(ROOT, 'functions'));
  // serverless.yml's memorySize per function (its handler path), else the provider's.
  const providerMemory = Number(config.provider.memorySize ?? 1024);
  const memoryByHandler = new Map(
    Object.values((config.functions ?? {}) as Record<string, { handler?: string; memorySize?: number }>).map(
      (fn) => [
        String(fn.handler ?? '')
          .replace(/^functions\//, '')
          .replace(/\/handler\.handler$/, ''),
        fn.memorySize ?? providerMemory,
      ],
    ),
  );
  const memoryOf = (name: string) => memoryByHandler.get(name) ?? providerMemory;
  await rm(OUT_DIR, { recursive: true, force: true });
  await mkdir(OUT_DIR, { recursive: true });

  const functions: Record<string, unknown>[] = [];
  for (const entry of handlers) {
    const name = relative(join(ROOT, 'functions'), entry).replace(/\/handler\.ts$/, '');
    const outfile = join(OUT_DIR, name, `handler${esbuild.outputFileExtension}`);
    try {
      const result = await build({
        entryPoints: [entry],
        outfile,
        bundle: esbuild.bundle,
        minify: esbuild.minify,
        sourcemap: esbuild.sourcemap,
        target: esbuild.target,
        platform: esbuild.platform as Platform,
        format: esbuild.format as Format,
        external: esbuild.exclude,
        ...(esbuild.banner === undefined ? {} : { banner: esbuild.banner }),
        metafile: true,
        logLevel: 'silent',
      });
      const sdkModules = [
        ...new Set(
          Object.values(result.metafile.outputs)
            .flatMap((output) => output.imports)
            .filter((imported) => imported.external && imported.path.startsWith('@aws-sdk/'))
            .map((imported) => imported.path),
        ),
      ].sort();
      const bytes = (await stat(outfile)).size;
      const gzipBytes = gzipSync(await readFile(outfile)).byteLength;
      const samples: InitSample[] = [];
      for (let index = 0; index < runs; index += 1) samples.push(await initSample(outfile, sdkModules));
      const initMs = round1(median(samples.map((sample) => sample.total)));
      const bundleKb = round1(bytes / 1024);
      functions.push({
        function: name,
        bundle_kb: bundleKb,
        gzip_kb: round1(gzipBytes / 1024),
        init_ms_median: initMs,
        init_sdk_ms_median: round1(median(samples.map((sample) => sample.sdk))),
        init_own_ms_median: round1(median(samples.map((sample) => sample.own))),
        rss_after_init_mb_median: round1(median(samples.map((sample) => sample.rssMb))),
        memory_mb: memoryOf(name),
        init_ms_samples: samples.map((sample) => round1(sample.total)),
        sdk_modules: sdkModules,
        within_goal: bundleKb <= GOALS.bundle_kb && initMs <= GOALS.init_ms,
      });
    } catch (error) {
      const stderr = (error as { stderr?: unknown }).stderr;
      const detail =
        typeof stderr === 'string'
          ? stderr
              .split('\n')
              .filter((line) => /Error/.test(line))
              .at(-1)
          : undefined;
      functions.push({
        function: name,
        error: detail ?? (error instanceof Error ? error.message.split('\n')[0] : String(error)),
      });
    }
  }
  return {
    goals: GOALS,
    node: process.version,
    runs_per_function: runs,
    esbuild: { ...esbuild, banner: esbuild.banner === undefined ? undefined : '(createRequire banner)' },
    functions,
    all_within_goal: functions.every((result) => result.within_goal === true),
  };
}
