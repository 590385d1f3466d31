import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// semver ships no types; the two functions used here, typed by hand.
const semver = createRequire(import.meta.url)('semver') as {
  subset(sub: string, dom: string): boolean;
  minVersion(range: string): { major: number; minor: number } | null;
};

const ROOT = process.cwd();
const readJson = async (file: string) => JSON.parse(await readFile(join(ROOT, file), 'utf8'));

describe('Node version: package.json engines and the README agree with the lockfile', () => {
  it('claims only Node versions every locked package accepts (>=20.19 included 21 and 23, and aws-local-stepfunctions and zod-openapi declare >=22)', async () => {
    // prepare
    const ours: string = (await readJson('package.json')).engines.node;
    const lock = await readJson('package-lock.json');

    // act: every package whose declared Node range does not hold every version we claim.
    const disagreeing = Object.entries(lock.packages as Record<string, { engines?: { node?: string } }>)
      .filter(([path]) => path !== '')
      .flatMap(([path, entry]) => {
        const theirs = entry.engines?.node;
        return theirs === undefined || semver.subset(ours, theirs)
          ? []
          : [`${path.replace(/^.*node_modules\//, '')} needs ${theirs}`];
      });

    // assess
    expect(disagreeing).toEqual([]);
  });

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
