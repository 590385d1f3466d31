import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBacktestSummary } from '../../container/agent/backtest-summary-file';
import { EXIT } from '../../container/agent/constants';
import { parseAgentEnv } from '../../container/agent/env';
import { DynamoBacktestEvidence } from '../../shared/adapters/dynamodb/backtest-evidence';
import { backtestSummaryOf } from '../../shared/domain/backtest-summary';
import { useAgentFixture } from './support/fixture';
import { startAgent } from './support/run';

/** Freqtrade's strategy stats, the fields the summary reads (fractions, as Freqtrade writes them). */
const RESULT = {
  strategy: {
    SimStrategy: {
      total_trades: 42,
      profit_total: 0.0731,
      max_drawdown_account: 0.0912,
      winrate: 0.5714,
      sharpe: 1.3,
    },
  },
};

describe('Backtest summary: the promotion gate evidence a backtest session records', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tradai-summary-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads Freqtrade 2026.9's zipped result (deflated entries, the result beside its _config.json)", async () => {
    // prepare: a zip as Freqtrade writes it, made by Python's zipfile
    const folder = join(dir, 'zip');
    await import('node:fs/promises').then((fs) => fs.mkdir(folder, { recursive: true }));
    await writeFile(join(folder, 'result.json'), JSON.stringify(RESULT));
    await writeFile(join(folder, 'config.json'), JSON.stringify({ strategy: 'SimStrategy' }));
    execFileSync('python3', [
      '-c',
      [
        'import sys, zipfile',
        'z = zipfile.ZipFile(sys.argv[1] + "/backtest-result-2026-12-01_10-00-00.zip", "w", zipfile.ZIP_DEFLATED)',
        'z.write(sys.argv[1] + "/config.json", "backtest-result-2026-12-01_10-00-00_config.json")',
        'z.write(sys.argv[1] + "/result.json", "backtest-result-2026-12-01_10-00-00.json")',
        'z.close()',
      ].join('\n'),
      folder,
    ]);
    await writeFile(
      join(folder, '.last_result.json'),
      JSON.stringify({ latest_backtest: 'backtest-result-2026-12-01_10-00-00.zip' }),
    );

    // act
    const summary = await readBacktestSummary(folder, 'SimStrategy');

    // assess
    expect(summary).toEqual({
      total_trades: 42,
      profit_total_pct: 7.31,
      max_drawdown_pct: 9.12,
      win_rate: 0.5714,
      sharpe: 1.3,
    });
  });

  describe('a backtest session', () => {
    const { fx } = useAgentFixture();

    it('completes with the summary of its own result on the item, which the gate reads back by strategy_version', async () => {
      // prepare
      const { runId, env } = await fx.session({ mode: 'backtest', sim: { entry_probability: 0.3 } });
      const resultsRoot = join(dir, runId);
      const parsed = parseAgentEnv({ ...env, RESULTS_S3_URI: `file://${resultsRoot}` });
      if (!parsed.ok) throw new Error(parsed.message);

      // act
      const agent = await startAgent(parsed.options, { store: fx.store });
      const code = await agent.handle.done;

      // assess
      expect(code).toBe(EXIT.ok);
      const session = await fx.store.get(runId);
      expect(session?.status).toBe('completed');
      const stored = join(resultsRoot, 'results', runId);
      const file = (await readdir(stored)).find((name) => /^backtest-result-.*\d\.json$/.test(name)) ?? '';
      const expected = backtestSummaryOf(
        JSON.parse(await readFile(join(stored, file), 'utf8')),
        'SimStrategy',
      );
      expect(expected).toBeDefined();
      expect(session?.backtest_summary).toEqual(expected);
      const evidence = await new DynamoBacktestEvidence(fx.dynamo.doc, {
        sessionsTable: fx.dynamo.tables.sessions,
      }).completedBacktests('SimStrategy');
      expect(evidence.find((record) => record.run_id === runId)).toMatchObject({
        strategy_version: '1.0.0',
        summary: expected,
      });
    });
  });
});
