import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deployBodyOf, HandoffSessionSchema, handoffProgress } from '../../../console/cli/commands/deploy';
import { UsageError } from '../../../console/cli/errors';
import { EXIT } from '../../../console/cli/exit-codes';
import { jsonReply, runCli, startApi } from './support';

const OLD = 'dry-run-demo-old';
const NEW = 'dry-run-demo-new';
const ROLLBACK = 'dry-run-demo-rb';

/** A session as GET /sessions/{runId} shows it (functions/api/shared/views.ts), with the handoff fields. */
const view = (runId: string, patch: Record<string, unknown> = {}) => ({
  run_id: runId,
  strategy_id: 'demo',
  strategy_name: 'MomentumStrategy',
  strategy_version: '1.0.0',
  trading_mode: 'dry-run',
  status: 'running',
  status_reason: null,
  desired_state: 'running',
  active: true,
  flatten_on_stop: false,
  created_at: '2026-12-01T10:00:00.000Z',
  started_at: '2026-12-01T10:00:05.000Z',
  status_changed_at: '2026-12-01T10:00:05.000Z',
  last_heartbeat: '2026-12-01T10:00:06.000Z',
  heartbeat_age_s: 1,
  requested_by: 'ops',
  exchange: 'binance',
  pairs: ['BTC/USDT'],
  metrics: null,
  open_trade_count: 2,
  open_trade_ids: [1, 2],
  risk_limits: { max_drawdown_pct: 20, max_daily_loss: 100 },
  risk: null,
  supersedes: null,
  superseded_by: null,
  handoff: null,
  ...patch,
});
const handoff = (phase: string, patch: Record<string, unknown> = {}) => ({
  kind: 'deploy',
  mode: 'carry_positions',
  phase,
  from_run_id: OLD,
  to_run_id: NEW,
  rollback_of: null,
  requested_at: '2026-12-01T10:01:00.000Z',
  ...patch,
});
/** The successor as it is once created, the predecessor as it is while still trading. */
const successor = (phase: string, patch: Record<string, unknown> = {}) =>
  view(NEW, {
    status: 'pending',
    supersedes: OLD,
    strategy_version: null,
    open_trade_count: 0,
    open_trade_ids: [],
    handoff: handoff(phase),
    ...patch,
  });
/** The pure step from two replies, read as the CLI reads them (a fixture the schema refuses fails here). */
const progress = (old: unknown, next: unknown) =>
  handoffProgress(HandoffSessionSchema.parse(old), HandoffSessionSchema.parse(next));
const predecessor = (patch: Record<string, unknown> = {}) => view(OLD, { superseded_by: NEW, ...patch });
/** A successor that did not come up, its workflow having started the rollback. */
const rolledBack = successor('rolled_back', {
  status: 'failed',
  active: false,
  status_reason: 'freqtrade did not start',
  superseded_by: ROLLBACK,
});

describe('CLI: the deploy body is checked with the API schema before anything is sent', () => {
  it('builds a version deploy with carry_positions', () => {
    expect(deployBodyOf({ version: '4', handoff: 'carry_positions', reason: 'v1.1.0' })).toEqual({
      version: '4',
      handoff: 'carry_positions',
      reason: 'v1.1.0',
    });
  });

  it('refuses two of --version, --alias and --stage (usage error naming --version)', () => {
    expect(() =>
      deployBodyOf({ version: '4', alias: 'champion', handoff: 'carry_positions', reason: 'r' }),
    ).toThrow(/--version: give exactly one of version, alias or stage/);
  });

  it('refuses none of --version, --alias and --stage', () => {
    expect(() => deployBodyOf({ handoff: 'wait_flat', reason: 'r' })).toThrow(UsageError);
  });

  it('refuses --wait-flat-s with carry_positions, naming the flag', () => {
    expect(() =>
      deployBodyOf({ stage: 'Staging', handoff: 'carry_positions', waitFlatS: 60, reason: 'r' }),
    ).toThrow(/--wait-flat-s: is only for handoff wait_flat/);
  });

  it('refuses an unknown handoff mode and a version that is not a number', () => {
    expect(() => deployBodyOf({ version: 'v4', handoff: 'flatten', reason: 'r' })).toThrow(
      /--version: must be a registry version number.*--handoff/,
    );
  });

  it('refuses a wait_flat bound above the API maximum', () => {
    expect(() => deployBodyOf({ version: '4', handoff: 'wait_flat', waitFlatS: 7200, reason: 'r' })).toThrow(
      /--wait-flat-s/,
    );
  });
});

describe('CLI: handoff progress from the old and the new session', () => {
  it('names each phase in order: old pausing, old stopping, new launching, new running (live)', () => {
    const steps = [
      progress(predecessor(), successor('requested')),
      progress(predecessor({ desired_state: 'stopped' }), successor('retiring')),
      progress(predecessor({ status: 'stopping', desired_state: 'stopped' }), successor('retiring')),
      progress(
        predecessor({ status: 'stopped', active: false }),
        successor('predecessor_gone', { status: 'launching' }),
      ),
      progress(
        predecessor({ status: 'stopped', active: false }),
        successor('live', { status: 'running', strategy_version: '1.1.0', open_trade_ids: [1, 2] }),
      ),
    ];

    expect(steps.map((step) => step.phase)).toEqual([
      'requested',
      'old_pausing',
      'old_stopping',
      'new_launching',
      'new_running',
    ]);
    expect(steps.slice(0, 4).every((step) => step.verdict.kind === 'waiting')).toBe(true);
    expect(steps[2]?.line).toContain('2 open trades to carry');
    expect(steps[4]?.verdict).toEqual({ kind: 'live' });
    expect(steps[4]?.line).toContain('version 1.1.0');
    expect(steps[4]?.line).toContain('2 open trades carried');
  });

  it('wait_flat: says the old run is closing its trades while it still has some', () => {
    const step = progress(
      predecessor({ desired_state: 'stopped', open_trade_count: 1 }),
      successor('retiring', { handoff: handoff('retiring', { mode: 'wait_flat' }) }),
    );

    expect(step.phase).toBe('old_flattening');
    expect(step.line).toContain('1 open trade');
  });

  it('a running successor whose Freqtrade does not list the carried trades yet is not live: it waits, naming the missing ids', () => {
    const step = progress(
      predecessor({ status: 'stopped', active: false, open_trade_ids: [1, 2] }),
      successor('live', { status: 'running', strategy_version: '1.1.0', open_trade_ids: [2] }),
    );

    expect(step.phase).toBe('new_listing_trades');
    expect(step.verdict).toEqual({ kind: 'listing_trades', missing: [1] });
    expect(step.line).toContain('trade 1');
  });

  it('a successor whose takeover guard cleared is live though a carried trade closed before its first report (read as missing: exit 4)', () => {
    // Freqtrade runs again only once the guard found each carried trade open or closed since the report.
    const step = progress(
      predecessor({ status: 'stopped', active: false, open_trade_ids: [1, 2] }),
      successor('live', {
        status: 'running',
        open_trade_ids: [2],
        health: { freqtrade_state: 'running', missing_trade_ids: [] },
      }),
    );

    expect(step.verdict).toEqual({ kind: 'live' });
    expect(step.line).toContain('trade 1 closed since the handoff');
  });

  it('a successor whose agent reports carried trades missing is not complete at once, naming them (not after --carry-wait)', () => {
    const step = progress(
      predecessor({ status: 'stopped', active: false, open_trade_ids: [1, 2] }),
      successor('live', {
        status: 'running',
        open_trade_ids: [2],
        health: { freqtrade_state: 'paused', missing_trade_ids: [1] },
      }),
    );

    expect(step.verdict).toEqual({ kind: 'trades_missing', missing: [1] });
    expect(step.line).toContain('trade 1');
  });

  it('a running successor that lists every carried trade is live, naming them', () => {
    const step = progress(
      predecessor({ status: 'stopped', active: false, open_trade_ids: [1, 2] }),
      successor('live', { status: 'running', open_trade_ids: [1, 2, 3] }),
    );

    expect(step.verdict).toEqual({ kind: 'live' });
    expect(step.line).toContain('2 open trades carried (1, 2)');
  });

  it('wait_flat that went flat carries nothing: live at the first heartbeat', () => {
    const step = progress(
      predecessor({ status: 'stopped', active: false, open_trade_count: 0, open_trade_ids: [] }),
      successor('live', { status: 'running', handoff: handoff('live', { mode: 'wait_flat' }) }),
    );

    expect(step.verdict).toEqual({ kind: 'live' });
  });

  it('a failed successor with a rollback: failed, naming the reason and the rollback run', () => {
    const step = progress(predecessor({ status: 'stopped', active: false }), rolledBack);

    expect(step.verdict).toEqual({
      kind: 'failed',
      reason: 'freqtrade did not start',
      rollbackRunId: ROLLBACK,
    });
    expect(step.line).toMatch(new RegExp(`rollback ${ROLLBACK} started`));
  });

  it('a failed successor without a rollback after the old run stopped says the strategy is not trading', () => {
    const step = progress(
      predecessor({ status: 'stopped', active: false }),
      successor('failed', { status: 'failed', active: false, status_reason: 'no registry version 9' }),
    );

    expect(step.verdict).toEqual({ kind: 'failed', reason: 'no registry version 9', rollbackRunId: null });
    expect(step.line).toContain(`no rollback started: ${OLD} is stopped, the strategy is not trading`);
    expect(step.line).not.toMatch(/rollback \S+ started/);
  });

  it('a successor that failed before the old run was retired: no rollback needed, the old run still trading', () => {
    const step = progress(
      predecessor(),
      successor('failed', { status: 'failed', active: false, status_reason: 'launch workflow failed' }),
    );

    expect(step.verdict).toEqual({ kind: 'failed', reason: 'launch workflow failed', rollbackRunId: null });
    expect(step.line).toContain(`no rollback needed: ${OLD} still trading`);
    expect(step.line).not.toMatch(/rollback \S+ started/);
  });

  it.each(['requested', 'retiring', 'predecessor_gone'])(
    'a successor failed by its agent while its handoff is still %s is not the outcome yet: the launch workflow has not decided on a rollback',
    (phase) => {
      const step = progress(
        predecessor({ status: 'stopped', active: false }),
        successor(phase, { status: 'failed', active: false, status_reason: 'no registry version 99' }),
      );

      expect(step.verdict).toEqual({ kind: 'waiting' });
      expect(step.phase).toBe('new_failed');
      expect(step.line).toContain('no registry version 99');
      expect(step.line).not.toMatch(/rollback \S+ started/);
    },
  );

  it('a successor stopped by the operator before it ran is a failed handoff once its workflow recorded it', () => {
    const step = progress(
      predecessor({ status: 'stopped', active: false }),
      successor('failed', { status: 'stopped', active: false, status_reason: 'operator' }),
    );

    expect(step.verdict.kind).toBe('failed');
  });
});

/**
 * A 127.0.0.1 API: GET /strategies/demo answers the predecessor; POST deploy/restart the 202; each GET of
 * a session the next reply of its script (the last one repeated).
 */
let api: Awaited<ReturnType<typeof startApi>>;
let strategyReply: unknown;
let scripts: Record<string, unknown[]> = {};
let postStatus = 202;
const sent: { method: string; path: string; body: unknown }[] = [];

beforeAll(async () => {
  api = await startApi(({ method, path, text }) => {
    sent.push({ method, path, body: text === '' ? undefined : JSON.parse(text) });
    if (method === 'POST') {
      if (postStatus !== 202)
        return jsonReply(postStatus, { error: { code: 'handoff_in_progress', message: 'busy' } });
      return jsonReply(202, {
        run_id: NEW,
        strategy_id: 'demo',
        status: 'pending',
        supersedes: OLD,
        handoff: 'carry_positions',
      });
    }
    if (path === '/strategies/demo') return jsonReply(200, strategyReply);
    const runId = path.replace('/sessions/', '');
    const script = scripts[runId];
    if (script === undefined) return jsonReply(404, { error: { code: 'not_found', message: runId } });
    return jsonReply(200, script.length > 1 ? script.shift() : script[0]);
  });
});
afterAll(() => api.close());
beforeEach(() => {
  sent.length = 0;
  postStatus = 202;
  strategyReply = { strategy_id: 'demo', session: view(OLD) };
});

const tradai = (args: string[]) => runCli(api.baseUrl, args);
/** `tradai [--json] deploy demo` with each flag and its value in the order given (`{ version: '4' }` is `--version 4`). */
const deploy = (flags: Record<string, string>, options: { json?: boolean } = {}) =>
  tradai([
    ...(options.json ? ['--json'] : []),
    'deploy',
    'demo',
    ...Object.entries(flags).flatMap(([flag, value]) => [`--${flag}`, value]),
  ]);
const posts = () => sent.filter((request) => request.method === 'POST');
const stopped = predecessor({ status: 'stopped', active: false });

describe('CLI: tradai deploy and restart', () => {
  it('deploys, prints each handoff phase once, and exits 0 with one JSON document once the new run runs', async () => {
    // prepare
    scripts = {
      [NEW]: [
        successor('requested'),
        successor('retiring'),
        successor('retiring'),
        successor('predecessor_gone', { status: 'launching' }),
        // The first heartbeat comes before the new Freqtrade lists the carried trades.
        successor('live', { status: 'running', strategy_version: '1.1.0' }),
        successor('live', { status: 'running', strategy_version: '1.1.0', open_trade_ids: [1, 2] }),
      ],
      [OLD]: [
        predecessor(),
        predecessor({ desired_state: 'stopped' }),
        predecessor({ status: 'stopping', desired_state: 'stopped' }),
        stopped,
      ],
    };

    // act
    const { code, out, err } = await deploy(
      { version: '4', handoff: 'carry_positions', reason: 'v1.1.0', interval: '0.01' },
      { json: true },
    );

    // assess
    expect(code, err).toBe(EXIT.ok);
    expect(posts()).toEqual([
      {
        method: 'POST',
        path: '/strategies/demo/deploy',
        body: { version: '4', handoff: 'carry_positions', reason: 'v1.1.0' },
      },
    ]);
    const lines = err.trim().split('\n');
    expect(lines.map((line) => line.split(':')[0])).toEqual([
      'handoff requested',
      'old run pausing entries',
      'old run stopping',
      'old run stopped',
      'new run listing the carried trades',
      'new run running',
    ]);
    expect(JSON.parse(out)).toMatchObject({
      outcome: 'live',
      rollback_run_id: null,
      from: { run_id: OLD, status: 'stopped' },
      to: { run_id: NEW, status: 'running', strategy_version: '1.1.0', open_trade_ids: [1, 2] },
    });
  });

  it('never exits 0 on a silent loss of carried trades: a new run that does not list them within --carry-wait exits 4 naming the missing trade ids', async () => {
    scripts = {
      [NEW]: [successor('live', { status: 'running', strategy_version: '1.1.0', open_trade_ids: [2] })],
      [OLD]: [stopped],
    };

    const { code, err } = await deploy(
      { version: '4', handoff: 'carry_positions', reason: 'v1.1.0', interval: '0.01', 'carry-wait': '0.05' },
      { json: true },
    );

    expect(code, err).toBe(EXIT.launchFailed);
    expect(err).toContain(`${NEW} runs but does not list 1 carried trade of ${OLD} (trade 1)`);
    expect(JSON.parse(err.trim().split('\n').at(-1) ?? '')).toMatchObject({
      error: { exit_code: EXIT.launchFailed, missing_trade_ids: [1] },
    });
  });

  it('exits 4 at once, naming them, when the new run reports carried trades missing (it waited out --carry-wait first)', async () => {
    scripts = {
      [NEW]: [
        successor('live', {
          status: 'running',
          strategy_version: '1.1.0',
          open_trade_ids: [2],
          health: { freqtrade_state: 'paused', missing_trade_ids: [1] },
        }),
      ],
      [OLD]: [stopped],
    };

    const { code, err } = await deploy(
      { version: '4', handoff: 'carry_positions', reason: 'v1.1.0', interval: '0.01', 'carry-wait': '3600' },
      { json: true },
    );

    expect(code, err).toBe(EXIT.launchFailed);
    expect(err).toContain(`${NEW} reports trade 1 of ${OLD} neither open nor closed`);
    expect(JSON.parse(err.trim().split('\n').at(-1) ?? '')).toMatchObject({
      error: { exit_code: EXIT.launchFailed, missing_trade_ids: [1] },
    });
  });

  it('exits 4 naming the reason and the rollback when the new version did not come up', async () => {
    scripts = {
      [NEW]: [rolledBack],
      [OLD]: [stopped],
    };

    const { code, err } = await deploy({
      stage: 'Staging',
      handoff: 'wait_flat',
      'wait-flat-s': '60',
      reason: 'try',
      interval: '0.01',
    });

    expect(code).toBe(EXIT.launchFailed);
    expect(posts()[0]?.body).toEqual({
      stage: 'Staging',
      handoff: 'wait_flat',
      wait_flat_s: 60,
      reason: 'try',
    });
    expect(err).toContain('freqtrade did not start');
    expect(err).toContain(`rollback ${ROLLBACK} started`);
  });

  it('keeps following a successor its agent marked failed until the launch workflow records the rollback, then names it (the status is written before superseded_by)', async () => {
    // prepare: the agent's failed status is read before the compensation created the rollback
    const failedByAgent = { status: 'failed', active: false, status_reason: 'no model version v99' };
    scripts = {
      [NEW]: [
        successor('predecessor_gone', { status: 'launching' }),
        successor('predecessor_gone', failedByAgent),
        successor('predecessor_gone', failedByAgent),
        successor('predecessor_gone', { ...failedByAgent, superseded_by: ROLLBACK }),
      ],
      [OLD]: [stopped],
    };

    // act
    const { code, err } = await deploy({
      version: '99',
      handoff: 'carry_positions',
      reason: 'try',
      interval: '0.01',
    });

    // assess
    expect(code, err).toBe(EXIT.launchFailed);
    expect(err).toContain('no model version v99');
    expect(err).toContain(`rollback ${ROLLBACK} started on 1.0.0`);
    expect(err).not.toContain('no rollback');
  });

  it('exits 4 saying no rollback is needed when the new version failed before the old one was retired (the old one still trading)', async () => {
    scripts = {
      [NEW]: [successor('failed', { status: 'failed', active: false, status_reason: 'launch aborted' })],
      [OLD]: [predecessor()],
    };

    const { code, err } = await deploy(
      { version: '4', handoff: 'carry_positions', reason: 'try', interval: '0.01' },
      { json: true },
    );

    expect(code, err).toBe(EXIT.launchFailed);
    expect(err).toContain(`no rollback needed: ${OLD} still trading`);
  });

  it('exits 4 when the new version failed and its workflow records no outcome within --timeout, saying the rollback is undecided', async () => {
    scripts = {
      [NEW]: [successor('predecessor_gone', { status: 'failed', active: false, status_reason: 'boom' })],
      [OLD]: [stopped],
    };

    const { code, err } = await deploy({
      version: '4',
      handoff: 'carry_positions',
      reason: 'try',
      interval: '0.01',
      timeout: '1',
    });

    expect(code, err).toBe(EXIT.launchFailed);
    expect(err).toContain('boom');
    expect(err).toContain('has not yet recorded whether a rollback started after 1s');
    expect(err).not.toMatch(/rollback \S+ started/);
  });

  it('refuses a deploy with two version selectors (exit 2) and sends nothing', async () => {
    const { code, err } = await deploy({
      version: '4',
      alias: 'champion',
      handoff: 'carry_positions',
      reason: 'r',
    });

    expect(code).toBe(EXIT.usage);
    expect(err).toContain('--version');
    expect(sent).toEqual([]);
  });

  it('refuses a deploy without --handoff (exit 2)', async () => {
    const { code } = await deploy({ version: '4', reason: 'r' });

    expect(code).toBe(EXIT.usage);
    expect(sent).toEqual([]);
  });

  it('asks to type the strategy id for a live session and, with no terminal and no --yes, sends nothing (exit 2)', async () => {
    strategyReply = { strategy_id: 'demo', session: view(OLD, { trading_mode: 'live' }) };

    const { code, err } = await tradai(['restart', 'demo', '--reason', 'rotate keys']);

    expect(code).toBe(EXIT.usage);
    expect(err).toContain('--yes');
    expect(posts()).toEqual([]);
  });

  it('restarts a live session with --yes (credential rotation) and follows it to running', async () => {
    strategyReply = { strategy_id: 'demo', session: view(OLD, { trading_mode: 'live' }) };
    scripts = {
      [NEW]: [
        successor('live', {
          status: 'running',
          open_trade_ids: [1, 2],
          handoff: handoff('live', { kind: 'restart' }),
        }),
      ],
      [OLD]: [stopped],
    };

    const { code, err } = await tradai(['restart', 'demo', '--reason', 'rotate keys', '--yes']);

    expect(code, err).toBe(EXIT.ok);
    expect(posts()).toEqual([
      { method: 'POST', path: '/strategies/demo/restart', body: { reason: 'rotate keys' } },
    ]);
    expect(err).toContain(`new run running: ${NEW}`);
  });

  it('prints the API refusal of a deploy during a handoff (exit 3)', async () => {
    postStatus = 409;

    const { code, err } = await deploy({ version: '4', handoff: 'carry_positions', reason: 'r' });

    expect(code).toBe(EXIT.refused);
    expect(err).toContain('handoff_in_progress');
  });
});
