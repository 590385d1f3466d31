import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../console/cli/exit-codes';
import type { LocalCloud } from '../../local/cloud/cloud';
import { RunIdSchema, type Session } from '../../shared/domain/session';
import { apiOf, FAST, sessionWhere, startBody, startCliCloud, TWO_OPEN_TRADES } from './support';

const STRATEGY = 'e2e-cli-deploy';
let cli: Awaited<ReturnType<typeof startCliCloud>>;
let cloud: LocalCloud;
const tradai = (args: string[]) => cli.tradai(args);

beforeAll(async () => {
  cli = await startCliCloud(
    { functionEnvironment: { ...FAST.functionEnvironment, STALE_AFTER_S: '60', STOP_GRACE_S: '20' } },
    150_000,
  );
  cloud = cli.cloud;
}, 90_000);
afterAll(() => cli?.close(), 60_000);

describe('CLI: tradai deploy against a local cloud', () => {
  it('deploys MomentumStrategy v3 -> v4 with carry_positions, shows old pausing/stopping -> new running, exits 0 with the old run superseded only once the new run lists the carried trades', async () => {
    // prepare: version 3 (stage Production) running with two open trades
    const api = apiOf(cloud);
    const started = await api('POST', `/strategies/${STRATEGY}/start`, { body: startBody(TWO_OPEN_TRADES) });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const oldRun = String(started.body.run_id);
    await sessionWhere(
      cloud,
      oldRun,
      (s) => s.status === 'running' && s.open_trades.length === 2,
      'two open trades',
      90_000,
    );

    // act
    const outcome = await tradai([
      '--json',
      'deploy',
      STRATEGY,
      '--version',
      '4',
      '--handoff',
      'carry_positions',
      '--reason',
      'e2e cli: version 1.1.0',
      '--interval',
      '0.3',
      '--timeout',
      '120',
    ]);

    // assess
    expect(outcome.code, outcome.stderr).toBe(EXIT.ok);
    const document = JSON.parse(outcome.stdout);
    expect(document).toMatchObject({
      outcome: 'live',
      rollback_run_id: null,
      from: { run_id: oldRun, superseded_by: document.to.run_id },
      to: { strategy_id: STRATEGY, status: 'running', strategy_version: '1.1.0', supersedes: oldRun },
    });
    // Each phase once, in order (a fast handoff may pass some between two reads, never out of order).
    const phases = outcome.stderr
      .trim()
      .split('\n')
      .map((line) => line.split(':')[0]);
    const order = [
      'handoff requested',
      'old run pausing entries',
      'old run stopping',
      'old run stopped',
      'new run listing the carried trades',
      'new run running',
    ];
    expect(phases.at(-1)).toBe('new run running');
    expect(
      phases.every((phase) => order.includes(phase ?? '')),
      outcome.stderr,
    ).toBe(true);
    expect(phases.map((phase) => order.indexOf(phase ?? ''))).toEqual(
      [...phases.map((phase) => order.indexOf(phase ?? ''))].sort((a, b) => a - b),
    );
    expect(new Set(phases).size).toBe(phases.length);
    const old = (await cloud.store.get(oldRun)) as Session;
    expect(old.status).toBe('stopped');
    expect(old.superseded_by).toBe(document.to.run_id);
    // Exit 0 came after the new run's own report listed both trades of the old one.
    expect(document.from.open_trade_ids).toHaveLength(2);
    expect(document.to.open_trade_ids).toEqual(expect.arrayContaining(document.from.open_trade_ids));
  }, 200_000);
  it('exits 4 when the new version does not come up (a version the registry lacks), naming the reason and the rollback it started', async () => {
    // prepare
    const api = apiOf(cloud);
    const started = await api('POST', '/strategies/e2e-cli-rollback/start', {
      body: startBody(TWO_OPEN_TRADES),
    });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const oldRun = String(started.body.run_id);
    await sessionWhere(cloud, oldRun, (s) => s.status === 'running', 'running', 90_000);

    // act
    const outcome = await tradai([
      'deploy',
      'e2e-cli-rollback',
      '--version',
      '99',
      '--handoff',
      'carry_positions',
      '--reason',
      'e2e cli: a version the registry lacks',
      '--interval',
      '0.3',
      '--timeout',
      '120',
    ]);

    // assess
    expect(outcome.code, outcome.stderr).toBe(EXIT.launchFailed);
    // Named by its run id, never "a rollback was started": the CLI follows until the workflow wrote it.
    const rollback = outcome.stderr.match(/; rollback (\S+) started on 1\.0\.0/)?.[1];
    expect(RunIdSchema.safeParse(rollback).success, outcome.stderr).toBe(true);
    expect(outcome.stderr).toContain('deploy failed');
    expect(outcome.stderr).not.toContain('no rollback');
    const rolledBack = await sessionWhere(
      cloud,
      rollback as string,
      (s) => s.status === 'running',
      'the rollback running',
      90_000,
    );
    expect(rolledBack.handoff).toMatchObject({ kind: 'rollback' });
    expect(rolledBack.strategy_version).toBe('1.0.0');
  }, 200_000);
});
