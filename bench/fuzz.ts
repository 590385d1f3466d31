/**
 * `npm run bench -- --only fuzz`: 10,000 fast-check cases per target (tests/support/fuzz-targets.ts: every
 * HTTP route on the real handlers over the embedded DynamoDB, and every parser of external input), seeded so
 * a run can be repeated. Reports per target and in total: 5xx count (goal 0), untyped crashes (goal 0),
 * state changes on refused input (goal 0) and cases per second. CI runs the same targets at 100 cases
 * (tests/functions/fuzz-at-scale.test.ts).
 */
import { type FuzzReport, runFuzzTarget, startEventFuzz, startHttpFuzz } from '../tests/support/fuzz-targets';

// EMF output would flood the bench log; the chain still calls Metrics exactly as in Lambda.
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

export const GOALS = { status_5xx: 0, faults: 0, state_changes_on_refused: 0 } as const;

export const runFuzzBench = async (options: { casesPerTarget: number; seed?: number }) => {
  const seed = options.seed ?? 20261201;
  const http = await startHttpFuzz();
  const events = await startEventFuzz(http.env);
  const targets: Record<string, FuzzReport> = {};
  try {
    for (const target of [...http.targets, ...events.targets]) {
      const report = await runFuzzTarget(target, { numRuns: options.casesPerTarget, seed });
      targets[target.name] = report;
      process.stdout.write(
        `${target.name}: ${report.cases} cases, ${report.cases_per_s}/s, 5xx ${report.status_5xx}, faults ${report.faults}, state changes on refused ${report.state_changes_on_refused}\n`,
      );
    }
  } finally {
    await events.close();
    await http.close();
  }
  const reports = Object.values(targets);
  const sum = (key: 'cases' | 'status_5xx' | 'faults' | 'state_changes_on_refused') =>
    reports.reduce((total, report) => total + report[key], 0);
  const totals = {
    targets: reports.length,
    cases: sum('cases'),
    status_5xx: sum('status_5xx'),
    faults: sum('faults'),
    state_changes_on_refused: sum('state_changes_on_refused'),
  };
  return {
    seed,
    cases_per_target: options.casesPerTarget,
    goals: GOALS,
    totals,
    met: totals.status_5xx === 0 && totals.faults === 0 && totals.state_changes_on_refused === 0,
    targets,
  };
};
