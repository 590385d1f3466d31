import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';

// semver ships no types; the two functions used here, typed by hand.
const semver = createRequire(import.meta.url)('semver') as {
  subset(sub: string, dom: string): boolean;
  minVersion(range: string): { major: number; minor: number } | null;
};

const ROOT = process.cwd();
const readJson = async (file: string) => JSON.parse(await readFile(join(ROOT, file), 'utf8'));

/**
 * Locked packages that declare a newer Node than ours, with the module that supplies what they use of it.
 * Only the local cloud and the tests load aws-local-stepfunctions (Lambda bundles never do), and all it
 * needs of Node 22 is Promise.withResolvers.
 */
const POLYFILLED: Record<string, string> = { 'aws-local-stepfunctions': 'local/cloud/polyfills.ts' };

const SOURCE_FOLDERS = ['bench', 'console', 'container', 'functions', 'local', 'scripts', 'shared', 'tests'];

/** Files that load `name` at run time (type-only imports are erased), with the modules they import in order. */
const runtimeImportersOf = async (name: string) => {
  const files = (
    await Promise.all(
      SOURCE_FOLDERS.map(async (folder) =>
        (
          await readdir(join(ROOT, folder), { recursive: true })
        )
          .filter((entry) => entry.endsWith('.ts'))
          .map((entry) => join(folder, entry)),
      ),
    )
  ).flat();
  const importers: { file: string; imports: string[] }[] = [];
  for (const file of files) {
    const source = await readFile(join(ROOT, file), 'utf8');
    const imports = [...source.matchAll(/^import (?!type )[^;]*?['"]([^'"]+)['"];?$/gms)].map(
      ([, module = '']) => (module.startsWith('.') ? join(dirname(file), module) : module),
    );
    if (imports.includes(name)) importers.push({ file, imports });
  }
  return importers;
};

const packageNameOf = (lockPath: string) => lockPath.replace(/^.*node_modules\//, '');

describe('Node version: package.json engines and the README agree with the lockfile', () => {
  it('claims only Node versions every locked package accepts, or whose one need a polyfill supplies (>=20.19 included 21 and 23; commander 15 and zod-openapi 6 declared >=22)', async () => {
    // prepare
    const ours: string = (await readJson('package.json')).engines.node;
    const lock = await readJson('package-lock.json');

    // act: every package whose declared Node range does not hold every version we claim.
    const disagreeing = Object.entries(lock.packages as Record<string, { engines?: { node?: string } }>)
      .filter(([path]) => path !== '')
      .flatMap(([path, entry]) => {
        const theirs = entry.engines?.node;
        return theirs === undefined || semver.subset(ours, theirs) || packageNameOf(path) in POLYFILLED
          ? []
          : [`${packageNameOf(path)} needs ${theirs}`];
      });

    // assess
    expect(disagreeing).toEqual([]);
  });

  it.each(Object.entries(POLYFILLED))(
    'loads %s only after its polyfill, in every file that loads it (the engine threw on Node 20 without it)',
    async (name, polyfill) => {
      // act
      const importers = await runtimeImportersOf(name);

      // assess: the polyfill comes before the package, so the package's first call finds what it needs.
      expect(importers.length).toBeGreaterThan(0);
      for (const { file, imports } of importers) {
        const at = imports.indexOf(polyfill.replace(/\.ts$/, ''));
        expect(at, `${file} imports ${polyfill}`).toBeGreaterThanOrEqual(0);
        expect(at, `${file} imports ${polyfill} before ${name}`).toBeLessThan(imports.indexOf(name));
      }
    },
  );

  it('tells a new user the same minimum Node version in the README', async () => {
    // prepare
    const ours: string = (await readJson('package.json')).engines.node;
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const minimum = semver.minVersion(ours);

    // assess
    expect(minimum).not.toBeNull();
    expect(readme).toContain(`Node.js ${minimum?.major}.${minimum?.minor}+`);
  });
});
