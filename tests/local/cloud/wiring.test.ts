import { describe, expect, it } from 'vitest';
import { LOCAL_FUNCTIONS, type LocalAdapters, localHandlerOf } from '../../../local/cloud/wiring';
import { loadServerlessConfig } from '../../../local/serverless/config';
import { functionsOf } from '../../../local/serverless/functions';

const serverlessFunctions = async () => functionsOf(await loadServerlessConfig({ stage: 'wiring' }));

describe('Local cloud: typed wiring', () => {
  it("has an entry for exactly serverless.yml's functions (none forgotten, none left over)", async () => {
    const declared = (await serverlessFunctions()).map((fn) => fn.name).sort();

    const wired = Object.keys(LOCAL_FUNCTIONS).sort();

    expect(wired).toEqual(declared);
  });

  it("wires the createHandler of the module serverless.yml names as each function's handler", async () => {
    const functions = await serverlessFunctions();

    const mismatched: string[] = [];
    for (const fn of functions) {
      const module = (await import(fn.module)) as { createHandler?: unknown };
      const wiring = (LOCAL_FUNCTIONS as Record<string, { createHandler: unknown } | undefined>)[fn.name];
      if (module.createHandler === undefined || module.createHandler !== wiring?.createHandler)
        mismatched.push(`${fn.name} (${fn.module})`);
    }

    expect(mismatched).toEqual([]);
  });

  it('refuses a function the map does not wire, naming it and where to add it', () => {
    const adapters = {} as LocalAdapters;

    const build = () => localHandlerOf('newFunction', adapters);

    expect(build).toThrow(/newFunction has no entry in LOCAL_FUNCTIONS \(local\/cloud\/wiring\.ts\)/);
  });
});
