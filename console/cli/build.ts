/**
 * `npm run build:cli [-- --outfile <file>]` (and `prepack`): bundles `tradai` into one file (default
 * console/cli/dist/tradai.mjs, gitignored), so the package's bin runs where only Node is installed: no
 * tsx, no devDependencies, no node_modules at all.
 */
import { build } from 'esbuild';
import { parseCommandLine } from '../../local/cli';

const { values } = parseCommandLine({
  usage: `
Usage: npm run build:cli [-- --outfile <file>]
  Bundles the tradai CLI into one ES module the package's bin (console/cli/bin/tradai.mjs) runs.
  --outfile <file>   where (default console/cli/dist/tradai.mjs)
  -h, --help         this text
`,
  options: { outfile: { type: 'string', default: new URL('./dist/tradai.mjs', import.meta.url).pathname } },
});
await build({
  entryPoints: [new URL('./main.ts', import.meta.url).pathname],
  outfile: values.outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  legalComments: 'none',
  logLevel: 'warning',
  // CommonJS dependencies (cli-table3) call require() for Node's own modules, which an ES module lacks.
  banner: {
    js: "import { createRequire as __tradaiRequire } from 'node:module';\nconst require = __tradaiRequire(import.meta.url);",
  },
});
console.log(`built ${values.outfile}`);
