import { describe, expect, it } from 'vitest';
import {
  type BacktestEvidence,
  decidePromotionGate,
  PromotionFloorsSchema,
  PromotionTargetSchema,
  touchesLiveSession,
} from '../../shared/domain/model-promotion';

const to = (name: string) => PromotionTargetSchema.parse(name);
const live = (selection: { alias?: string; stage?: string; model_version?: string }) => ({
  trading_mode: 'live' as const,
  alias: selection.alias ?? null,
  stage: selection.stage ?? null,
  model_version: selection.model_version ?? null,
});

describe('Domain: model promotion', () => {
  it.each([
    ['Production', { kind: 'stage', stage: 'Production' }],
    ['staging', { kind: 'stage', stage: 'Staging' }],
    ['champion', { kind: 'alias', alias: 'champion' }],
  ])('reads %s as %o', (name, target) => {
    expect(to(name)).toEqual(target);
  });

  it.each(['latest', 'LATEST', 'v3', 'a b', ''])(
    'refuses the target %j (reserved by MLflow or not a name)',
    (name) => {
      expect(PromotionTargetSchema.safeParse(name).success).toBe(false);
    },
  );

  it.each([
    ['the default stage of a live session', to('Production'), live({}), true],
    ['its alias', to('champion'), live({ alias: 'champion' }), true],
    ['another alias', to('challenger'), live({ alias: 'champion' }), false],
    ['a stage while it selects by alias', to('Production'), live({ alias: 'champion' }), false],
    [
      'its stage while it is pinned to a version (a deploy by version)',
      to('Production'),
      live({ model_version: '3' }),
      false,
    ],
    ['a dry-run session', to('Production'), { ...live({}), trading_mode: 'dry-run' as const }, false],
  ])('a promotion to %s touches the live selection: %s', (_what, target, session, expected) => {
    expect(touchesLiveSession(target, session)).toBe(expected);
  });

  const evidence = (fields: Partial<BacktestEvidence>): BacktestEvidence => ({
    run_id: 'b-1',
    strategy_version: '2.1.0',
    model_version: null,
    completed_at: '2026-12-01T10:00:00.000Z',
    summary: { total_trades: 50, profit_total_pct: 3, max_drawdown_pct: 8, win_rate: 0.55, sharpe: 1.2 },
    ...fields,
  });
  const version = { name: 'Pascal', version: '2', strategyVersion: '2.1.0' };

  it.each([
    ['no floors: not gated', null, [], { ok: true, gated: false }],
    ['a passing backtest', { min_trades: 30 }, [evidence({})], { ok: true, gated: true, run_id: 'b-1' }],
    ['no backtest', { min_trades: 30 }, [], { ok: false, reason: 'backtest_required' }],
    [
      'another version only (model_version 1)',
      { min_trades: 30 },
      [evidence({ model_version: '1' })],
      { ok: false, reason: 'backtest_required' },
    ],
    [
      'too few trades',
      { min_trades: 100 },
      [evidence({})],
      { ok: false, reason: 'below_floor', floor: 'min_trades', required: 100, actual: 50 },
    ],
    [
      'a summary without a Sharpe while a Sharpe floor is set',
      { min_sharpe: 1 },
      [evidence({ summary: { total_trades: 50, profit_total_pct: 3, max_drawdown_pct: 8, win_rate: 0.5 } })],
      { ok: false, reason: 'below_floor', floor: 'min_sharpe', actual: null },
    ],
    [
      'the newest backtest decides (an older one passed)',
      { max_drawdown_pct: 10 },
      [
        evidence({ run_id: 'old', completed_at: '2026-11-01T00:00:00.000Z' }),
        evidence({
          run_id: 'new',
          summary: { total_trades: 50, profit_total_pct: 3, max_drawdown_pct: 25, win_rate: 0.5 },
        }),
      ],
      { ok: false, reason: 'below_floor', floor: 'max_drawdown_pct', run_id: 'new' },
    ],
  ])('gate for Production: %s', (_what, floors, backtests, expected) => {
    const decision = decidePromotionGate({
      floors: floors === null ? null : PromotionFloorsSchema.parse(floors),
      target: to('Production'),
      version,
      backtests,
    });
    expect(decision).toMatchObject(expected);
  });

  it('does not gate a target outside applies_to (Staging by default)', () => {
    const decision = decidePromotionGate({
      floors: PromotionFloorsSchema.parse({ min_trades: 30 }),
      target: to('Staging'),
      version,
      backtests: [],
    });
    expect(decision).toEqual({ ok: true, gated: false });
  });
});
