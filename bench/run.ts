/**
 * `npm run bench [-- --only agent,sweep] [--quick]`: runs the benchmarks, writes one JSON file each and a
 * summary under bench/results/, and prints a short table. Speed is measured here, never asserted in tests.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseCommandLine } from '../local/cli';

type Bench = (quick: boolean) => Promise<Record<string, unknown>>;

const BENCHES: Record<string, Bench> = {
  functions: async () => (await import('./functions')).runFunctionsBench(),
  sweep: async (quick) =>
    (await import('./sweep')).runSweepBench({ sizes: quick ? [1_000, 10_000] : [10_000, 100_000] }),
  agent: async (quick) =>
    (await import('./agent')).runAgentBench({ durationS: quick ? 20 : 120, runs: quick ? 10 : 50 }),
  'local-cloud': async (quick) =>
    (await import('./local-cloud')).runLocalCloudBench({ runs: quick ? 3 : 10 }),
  // N = 10 over a simulated hour (its 4 incidents: ~290 per strategy a month, the seed budgets ~100 alerts);
  // N = 1,000 makes ~700 requests per simulated second: a short window (two sweeps) keeps the run in minutes.
  fleet: async (quick) =>
    (await import('./fleet')).runFleetBench({
      runs: [
        { strategies: 10, windowS: quick ? 300 : 3_600, tickS: 1 },
        { strategies: 1_000, windowS: quick ? 60 : 120, tickS: 5 },
      ],
    }),
  fuzz: async (quick) => (await import('./fuzz')).runFuzzBench({ casesPerTarget: quick ? 1_000 : 10_000 }),
  // S sessions on one account through the real stream processor: what a budget costs per heartbeat.
  'account-budget': async (quick) =>
    (await import('./account-budget')).runAccountBudgetBench({
      sessions: quick ? 200 : 1_000,
      rounds: quick ? 2 : 4,
    }),
  // A live strategy with open trades rolled between two versions: the zero-container window p50/p99.
  handoff: async (quick) => (await import('./handoff')).runHandoffBench({ handoffs: quick ? 3 : 10 }),
  'fleet-halt': async (quick) =>
    (await import('./fleet-halt')).runFleetHaltBench({ strategies: quick ? 5 : 20 }),
  // 1,000 strategies at the default 15 s heartbeat: ~67 heartbeats a second through the stream processor.
  stream: async (quick) =>
    (await import('./stream')).runStreamBench({
      strategies: quick ? 200 : 1_000,
      heartbeatS: 15,
      durationS: quick ? 20 : 60,
      overheadWrites: quick ? 200 : 1_000,
    }),
  'fleet-read': async (quick) =>
    (await import('./fleet-read')).runFleetReadBench({ strategies: 1_000, runs: quick ? 20 : 100 }),
  // The console's render at 200 strategies in chromium (tests/browser/support.ts launches it).
  dashboard: async (quick) =>
    (await import('./dashboard')).runDashboardBench({ strategies: 200, updates: quick ? 5 : 20 }),
};

const { values } = parseCommandLine({
  usage: `
Usage: npm run bench [-- options]
  Runs the benchmarks, writes one JSON file each and a summary under bench/results/, prints a table.
  --only <a,b>          some of: ${Object.keys(BENCHES).join(', ')} (default all)
  --quick               shorter runs
  --out <folder>        where results go (default bench/results)
  -h, --help            this text
`,
  options: { only: { type: 'string' }, quick: { type: 'boolean', default: false }, out: { type: 'string' } },
});
const selected = values.only ? values.only.split(',').map((name) => name.trim()) : Object.keys(BENCHES);
const unknown = selected.filter((name) => !(name in BENCHES));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')} (known: ${Object.keys(BENCHES).join(', ')})`);
  process.exit(2);
}

const outDir = values.out ?? join(import.meta.dirname, 'results');
await mkdir(outDir, { recursive: true });
const machine = {
  node: process.version,
  cpus: cpus().length,
  cpu: cpus()[0]?.model,
  memory_gb: Math.round(totalmem() / 2 ** 30),
};
const summary: Record<string, unknown> = {
  at: new Date().toISOString(),
  quick: values.quick,
  machine,
  results: {},
};
let failed = false;
for (const name of selected) {
  const bench = BENCHES[name] as Bench;
  process.stdout.write(`\n== ${name}\n`);
  try {
    const result = await bench(values.quick);
    (summary.results as Record<string, unknown>)[name] = result;
    await writeFile(join(outDir, `${name}.json`), `${JSON.stringify({ machine, ...result }, null, 2)}\n`);
    console.log(JSON.stringify(result, null, 2));
  } catch (error) {
    failed = true;
    (summary.results as Record<string, unknown>)[name] = { error: String(error) };
    console.error(
      `${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
  }
}
await writeFile(join(outDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
console.log(`\nresults written to ${outDir}`);
process.exit(failed ? 1 : 0);
