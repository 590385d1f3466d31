/**
 * Bundles the agent (container/agent/main.ts) into one ESM file for the image:
 * `npx tsx container/build.ts [--outdir dir]` (default `.esbuild/agent`): `agent.mjs` plus chunks that are
 * loaded only when used (the S3 and Secrets Manager clients are not needed with local file sources).
 */
import { resolve } from 'node:path';
import { build } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..');

export const DEFAULT_OUTDIR = resolve(ROOT, '.esbuild/agent');

/** Returns the path of the entry file (`<outdir>/agent.mjs`). */
export const bundleAgent = async (outdir: string = DEFAULT_OUTDIR): Promise<string> => {
  await build({
    entryPoints: [resolve(ROOT, 'container/agent/main.ts')],
    outdir,
    entryNames: 'agent',
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    splitting: true,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    minify: true,
    sourcemap: 'linked',
    // Stack traces need only the mappings and names; the sources' text (~60 % of the maps) would sit in
    // the agent's heap for its whole life under --enable-source-maps (~4 MB of RSS, bench --only agent).
    sourcesContent: false,
    legalComments: 'none',
    // Some AWS SDK dependencies still call require(); give the ESM bundle one.
    banner: {
      js: "import { createRequire as __tradaiCreateRequire } from 'node:module'; const require = __tradaiCreateRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
  return resolve(outdir, 'agent.mjs');
};

if (import.meta.url === `file://${process.argv[1]}`) {
  const flag = process.argv.indexOf('--outdir');
  const outdir = flag >= 0 && process.argv[flag + 1] ? resolve(process.argv[flag + 1] ?? '') : DEFAULT_OUTDIR;
  bundleAgent(outdir)
    .then((path) => process.stdout.write(`bundled the agent into ${path}\n`))
    .catch((error: unknown) => {
      process.stderr.write(`bundle failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    });
}
