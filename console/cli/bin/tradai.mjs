#!/usr/bin/env node
// The package's `tradai` bin. It runs the bundle `npm run build:cli` writes (prepack, so every packed or
// installed copy has it), which needs nothing but Node; in a checkout where it was never built, the
// TypeScript itself through the checkout's tsx.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/tradai.mjs', import.meta.url);
if (existsSync(bundle)) {
  await import(bundle.href);
} else {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write(
      `tradai: ${new URL('..', import.meta.url).pathname} has no bundle: run npm run build:cli there (or npm run tradai -- ...)\n`,
    );
    process.exit(1);
  }
  register();
  await import(new URL('../main.ts', import.meta.url).href);
}
