import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../console/cli/exit-codes';
import type { LocalCloud } from '../../local/cloud/cloud';
import { eventually, FAST_MARKET, startCliCloud } from './support';

const STRATEGY = 'e2e-cli';

let cli: Awaited<ReturnType<typeof startCliCloud>>;
let cloud: LocalCloud;
const tradai = (args: string[], extraEnv?: NodeJS.ProcessEnv) => cli.tradai(args, extraEnv);

beforeAll(async () => {
  cli = await startCliCloud();
  cloud = cli.cloud;
});
afterAll(() => cli?.close());

describe('CLI: tradai against a local cloud it finds by itself', () => {
  it('starts a strategy and follows it pending -> launching -> running (exit 0)', async () => {
    // act
    const outcome = await tradai([
      '--json',
      'start',
      STRATEGY,
      '--model',
      'MomentumStrategy',
      '--mode',
      'dry-run',
      '--stage',
      'Production',
      '--reason',
      'e2e cli',
      '--overrides',
      JSON.stringify(FAST_MARKET),
      '--interval',
      '0.3',
    ]);

    // assess
    expect(outcome.code, outcome.stderr).toBe(EXIT.ok);
    expect(JSON.parse(outcome.stdout)).toMatchObject({ strategy_id: STRATEGY, status: 'running' });
    expect(outcome.stderr).toMatch(/pending[\s\S]*running/);
  });

  it('shows it in ls (a table) and show (JSON)', async () => {
    const table = await tradai(['ls']);
    const shown = await tradai(['show', STRATEGY, '--json']);

    expect(table.code, table.stderr).toBe(EXIT.ok);
    expect(table.stdout).toMatch(new RegExp(`${STRATEGY}\\s+│ dry-run\\s+│ running`));
    expect(JSON.parse(shown.stdout)).toMatchObject({
      session: { strategy_id: STRATEGY, trading_mode: 'dry-run' },
    });
  });

  it('refuses a pause without --reason (exit 2) and sends nothing', async () => {
    const outcome = await tradai(['pause', STRATEGY]);

    expect(outcome.code).toBe(EXIT.usage);
    expect(outcome.stderr).toContain('--reason');
    expect((await cloud.store.currentSessionOf(STRATEGY))?.desired_state).toBe('running');
  });

  it('pauses with a reason, waits for the agent to confirm, and the alert is listed', async () => {
    // act
    const paused = await tradai([
      '--json',
      'pause',
      STRATEGY,
      '--reason',
      'e2e pause',
      '--wait',
      '--timeout',
      '30',
    ]);
    const alerts = await tradai(['--json', 'alerts', '--strategy', STRATEGY]);

    // assess
    expect(paused.code, paused.stderr).toBe(EXIT.ok);
    expect(JSON.parse(paused.stdout)).toMatchObject({ status: 'paused', desired_state: 'paused' });
    const kinds = (JSON.parse(alerts.stdout) as { items: { kind: string }[] }).items.map(
      (alert) => alert.kind,
    );
    expect(kinds).toContain('status.paused');
  });

  it('refuses a live start without --yes when no terminal can confirm it (exit 2), sending nothing', async () => {
    const outcome = await tradai([
      'start',
      'e2e-cli-live',
      '--model',
      'MomentumStrategy',
      '--mode',
      'live',
      '--reason',
      'x',
    ]);

    expect(outcome.code).toBe(EXIT.usage);
    expect(outcome.stderr).toContain('--yes');
    expect(await cloud.store.currentSessionOf('e2e-cli-live')).toBeUndefined();
  });

  it('refuses a live start with its own read + write token (403, exit 6) and says how to get a live one', async () => {
    const outcome = await tradai([
      'start',
      'e2e-cli-live',
      '--model',
      'MomentumStrategy',
      '--mode',
      'live',
      '--yes',
    ]);

    expect(outcome.code).toBe(EXIT.auth);
    expect(outcome.stderr).toContain('403');
    expect(outcome.stderr).toContain(
      'tradai token --scopes "strategies:read strategies:write strategies:live" --groups live',
    );
    expect(await cloud.store.currentSessionOf('e2e-cli-live')).toBeUndefined();
  });

  it('says a launch that fails failed, with the reason (exit 4)', async () => {
    const outcome = await tradai([
      'start',
      'e2e-cli-ghost',
      '--model',
      'NoSuchStrategy',
      '--mode',
      'dry-run',
      '--interval',
      '0.3',
    ]);

    expect(outcome.code).toBe(EXIT.launchFailed);
    expect(outcome.stderr).toContain('no registered model NoSuchStrategy');
  });

  it('refuses a token the API does not accept (exit 6)', async () => {
    const outcome = await tradai(['ls'], { TRADAI_TOKEN: 'not-a-jwt' });

    expect(outcome.code).toBe(EXIT.auth);
    expect(outcome.stderr).toContain('401');
  });

  it('halts the fleet to reducing (ls says so in red) and lifts it with resume-fleet, which needs --yes off a terminal', async () => {
    // act
    const halted = await tradai(['--json', 'halt', '--mode', 'reducing', '--reason', 'e2e drill']);
    const listed = await tradai(['ls']);
    const unconfirmed = await tradai(['resume-fleet', '--reason', 'e2e drill over']);
    const resumed = await tradai(['--json', 'resume-fleet', '--reason', 'e2e drill over', '--yes']);

    // assess
    expect(halted.code, halted.stderr).toBe(EXIT.ok);
    expect(JSON.parse(halted.stdout)).toMatchObject({ scope: 'fleet', state: 'reducing', changed: true });
    expect(listed.stdout).toMatch(/FLEET REDUCING since \S+ by \S+: e2e drill/);
    expect(unconfirmed.code).toBe(EXIT.usage);
    expect(resumed.code, resumed.stderr).toBe(EXIT.ok);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ scope: 'fleet', state: 'active', changed: true });
  });

  it('follows alerts as JSON lines while the strategy is stopped, until Ctrl-C (exit 130)', async () => {
    // prepare
    const follower: ChildProcess = spawn(
      process.execPath,
      [
        cli.bundle,
        '--json',
        'alerts',
        '--follow',
        '--strategy',
        STRATEGY,
        '--since',
        '10m',
        '--interval',
        '0.3',
      ],
      { env: cli.env },
    );
    let lines = '';
    follower.stdout?.on('data', (chunk: Buffer) => {
      lines += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => follower.on('exit', (code) => resolve(code)));
    await eventually(async () => lines.includes('status.paused'), 'the alerts so far');

    // act
    const stopped = await tradai(['stop', STRATEGY, '--reason', 'e2e done', '--wait', '--timeout', '40']);
    await eventually(async () => lines.includes('status.stopped'), 'the stop alert, followed', 40_000);
    follower.kill('SIGINT');

    // assess
    expect(stopped.code, stopped.stderr).toBe(EXIT.ok);
    expect(await exited).toBe(130);
    // Each alert once, though every poll asks again from the newest one seen.
    const ids = lines
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { dedup_id: string }).dedup_id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
