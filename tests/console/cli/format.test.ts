import { PassThrough } from 'node:stream';
import picocolors from 'picocolors';
import { describe, expect, it } from 'vitest';
import { spinnerFits } from '../../../console/cli/commands/start';
import {
  drawdownCell,
  drawdownLevel,
  formatDuration,
  formatMoney,
  heartbeatCell,
  heartbeatLevel,
  renderTable,
} from '../../../console/cli/format';
import { launchVerdict } from '../../../console/cli/launch';

const plain = picocolors.createColors(false);
const colour = picocolors.createColors(true);

describe('CLI formatting: heartbeat age against the stale threshold', () => {
  it.each([
    [5, 30, true, 'fresh'],
    [15, 30, true, 'late'],
    [30, 30, true, 'stale'],
    [400, 30, true, 'stale'],
    [400, 30, false, 'none'],
    [null, 30, true, 'none'],
    [12, null, true, 'none'],
  ] as const)('age %s s, threshold %s s, active %s: %s', (age, threshold, active, level) => {
    expect(heartbeatLevel(age, threshold, active)).toBe(level);
  });

  it('paints a heartbeat past the threshold red and names the threshold', () => {
    // act
    const cell = heartbeatCell(200, 180, true, colour);

    // assess
    expect(cell).toContain(colour.red(colour.bold('3m 20s')));
    expect(cell).toContain('/3m 0s');
  });

  it('prints no colour codes when colour is off (NO_COLOR, a pipe, --json)', () => {
    expect(heartbeatCell(200, 180, true, plain)).toBe('3m 20s /3m 0s');
  });
});

describe('CLI formatting: numbers an operator reads', () => {
  it.each([
    [0, '0s'],
    [59.6, '1m 0s'],
    [61, '1m 1s'],
    [3_725, '1h 2m'],
    [2 * 86_400 + 3_600, '2d 1h'],
  ])('%s seconds read %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });

  it.each([
    [12.5, 'USDT', '+12.50 USDT'],
    [-3.1, null, '-3.10'],
    [0, 'USDT', '0.00 USDT'],
    [null, 'USDT', '-'],
  ] as const)('money %s %s reads %s', (value, currency, text) => {
    expect(formatMoney(value, currency)).toBe(text);
  });

  it.each([
    [5, 20, 'ok'],
    [15, 20, 'near'],
    [20, 20, 'breach'],
    [null, 20, 'none'],
    [5, null, 'ok'],
  ] as const)('drawdown %s%% against a limit of %s%%: %s', (drawdown, limit, level) => {
    expect(drawdownLevel(drawdown, limit)).toBe(level);
  });

  it('shows a breached drawdown red against its limit', () => {
    expect(drawdownCell(21.5, 20, colour)).toBe(`${colour.red(colour.bold('21.5%'))}${colour.dim(' / 20%')}`);
    expect(drawdownCell(21.5, 20, plain)).toBe('21.5% / 20%');
  });

  it('renders a table with no colour codes when colour is off', () => {
    // act
    const table = renderTable(['A', 'B'], [['one', 'two']], plain);

    // assess
    expect(table).not.toContain('\u001b[');
    expect(table).toContain('one');
  });
});

describe('CLI: following a launch', () => {
  it.each([
    ['pending', 'waiting'],
    ['launching', 'waiting'],
    ['running', 'launched'],
    ['paused', 'launched'],
    ['completed', 'launched'],
    ['failed', 'failed'],
    ['stopping', 'failed'],
    ['stopped', 'failed'],
  ] as const)('a session %s is %s', (status, kind) => {
    expect(launchVerdict({ status, status_reason: 'why' }).kind).toBe(kind);
  });

  it.each([
    [true, 80, true],
    [true, 0, false],
    [true, undefined, false],
    [false, 80, false],
  ])(
    'a terminal %s with %s columns gets a spinner: %s (ora never ends clearing a 0-column pty)',
    (isTTY, columns, fits) => {
      expect(spinnerFits(Object.assign(new PassThrough(), { isTTY, columns }))).toBe(fits);
    },
  );

  it('says why a launch failed, from the status reason', () => {
    expect(launchVerdict({ status: 'failed', status_reason: 'model not found' })).toEqual({
      kind: 'failed',
      reason: 'model not found',
    });
  });
});
