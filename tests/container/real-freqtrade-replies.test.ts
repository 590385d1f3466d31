import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FreqtradeClient } from '../../container/agent/freqtrade/client';
import {
  BalanceSchema,
  CountSchema,
  DailySchema,
  HealthSchema,
  ProfitSchema,
  ShowConfigSchema,
  StatusSchema,
} from '../../container/agent/freqtrade/schemas';
import type { HttpFetch } from '../../container/agent/http';
import { MetricsCollector } from '../../container/agent/metrics';
import { ManualClock } from '../../shared/domain/clock';

/**
 * Replies of real Freqtrade 2026.9 (dry-run, TradaiDemo on the local exchange, entry_pricing on the
 * same side of the book so one entry order rests): BTC/USDT's entry order is open (amount 0, stake 100),
 * ETH/USDT's has filled. Captured from its REST API by the real-Freqtrade suite's set-up.
 */
const ENTRY_ORDER_OPEN = JSON.parse(
  readFileSync(new URL('./support/freqtrade-2026.9/entry-order-open.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

/** Each route answers its replies in turn, the last one from then on. */
const clientAnsweringInTurn = (replies: Record<string, unknown[]>) => {
  const asked = new Map<string, number>();
  const fetch: HttpFetch = async (url) => {
    const path = new URL(url).pathname.replace('/api/v1/', '');
    const turns = replies[path];
    const turn = asked.get(path) ?? 0;
    asked.set(path, turn + 1);
    const body = turns?.[Math.min(turn, turns.length - 1)];
    return body === undefined
      ? { ok: false, status: 404, text: async () => '{"detail":"Not Found"}' }
      : { ok: true, status: 200, text: async () => JSON.stringify(body) };
  };
  return new FreqtradeClient(
    { url: 'http://127.0.0.1:1', username: 'u', password: 'p', auth: 'basic' },
    { fetch },
  );
};

/** Each route answers the same reply every time. */
const clientServing = (replies: Record<string, unknown>) =>
  clientAnsweringInTurn(Object.fromEntries(Object.entries(replies).map(([path, body]) => [path, [body]])));

/** A collector at the moment the replies were captured, its bot loop counted stale after a minute. */
const newCollector = () =>
  new MetricsCollector({ clock: new ManualClock(1_796_121_600_000), loopStaleAfterMs: 60_000 });

describe('Agent: replies of real Freqtrade 2026.9', () => {
  it.each([
    ['show_config', ShowConfigSchema],
    ['health', HealthSchema],
    ['status', StatusSchema],
    ['balance', BalanceSchema],
    ['profit', ProfitSchema],
    ['count', CountSchema],
    ['daily', DailySchema],
  ] as const)('parses /%s', (route, schema) => {
    expect(schema.safeParse(ENTRY_ORDER_OPEN[route]).success).toBe(true);
  });

  it('counts the stake of an entry order still open in equity (total_bot leaves it out until it fills: a false 10 % drawdown at every entry)', async () => {
    // Prepare: 990 tradable (1000 wallet × tradable_balance_ratio 0.99); one 100 stake fills, one rests.
    const collector = newCollector();

    // Act
    await collector.poll(clientServing(ENTRY_ORDER_OPEN), true);
    const snapshot = collector.riskSnapshot();

    // Assess: cash 790.04 + the resting order's stake 100 + ETH's 99.96 less 0.18 (fees and price)
    // ≈ the 990 the bot started with; total_bot said 889.98.
    expect(snapshot.starting_capital).toBe(990);
    expect(snapshot.equity).toBeCloseTo(989.8245, 3);
    expect(snapshot.drawdown_pct).toBeLessThan(0.1);
  });
});

/**
 * Replies of real Freqtrade 2026.9 five seconds after a 30 % crash on the local exchange, both entries
 * filled: /status marks the positions to the crashed book (profit_abs ≈ -30 each), /balance still values
 * them at the tickers it cached before the crash (its get_tickers cache lives 10 minutes).
 */
const AFTER_CRASH = JSON.parse(
  readFileSync(new URL('./support/freqtrade-2026.9/crash-ticker-cache.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

describe('Agent: equity after a crash, from real Freqtrade 2026.9', () => {
  it('marks open positions to /status’s current rates, not to /balance’s tickers (cached up to 10 minutes: a crash showed no drawdown)', async () => {
    const collector = new MetricsCollector({
      clock: new ManualClock(1_796_121_620_000),
      loopStaleAfterMs: 60_000,
    });

    await collector.poll(clientServing(AFTER_CRASH), true);
    const snapshot = collector.riskSnapshot();

    // 790.22 cash + (99.93 - 30.16) + (99.85 - 30.11): the positions lost 30 %, equity ~6 %.
    expect(snapshot.equity).toBeCloseTo(929.73, 1);
    expect(snapshot.drawdown_pct).toBeGreaterThan(6);
  });
});

describe('Agent: /status and /balance are not one snapshot', () => {
  it('does not raise the peak when /status shows new entries before /balance has taken their stakes (the stake would count twice)', async () => {
    // Prepare: the entry-order-open replies, with /balance as it answers just before the wallet update.
    const before = structuredClone(ENTRY_ORDER_OPEN) as {
      balance: Record<string, unknown>;
      status: unknown[];
    };
    before.balance.total_bot = 990;
    before.balance.total = 1000;
    before.balance.currencies = [{ currency: 'USDT', est_stake_bot: 990, est_stake: 1000 }];
    const collector = newCollector();

    // Act
    await collector.poll(clientServing(before), true);

    // Assess: not 990 + two stakes in flight.
    expect(collector.peakEquity).toBeLessThanOrEqual(990);
  });
});

describe('Agent: a fill /balance has not seen yet', () => {
  it('values a filled position /balance leaves out (its wallet not refreshed since the fill): no false 10 % drawdown at entry', async () => {
    // Prepare: the entry-order-open replies a moment later: BTC/USDT's entry has filled (/status says so),
    // but /balance still answers from wallets refreshed before the fill (Freqtrade 2026.9 refreshes them
    // for /balance at most hourly): no BTC line, cash already without the stake, total_bot 889.98.
    const filled = structuredClone(ENTRY_ORDER_OPEN) as { status: Array<Record<string, unknown>> };
    const btc = filled.status.find((trade) => trade.pair === 'BTC/USDT');
    if (btc === undefined) throw new Error('fixture lost BTC/USDT');
    btc.amount = btc.amount_requested;
    btc.has_open_orders = false;
    btc.profit_abs = -0.19;
    const collector = newCollector();

    // Act
    await collector.poll(clientServing(filled), true);
    const snapshot = collector.riskSnapshot();

    // Assess: the lower of cash 790.04 + ETH 99.94 + BTC 99.81 and 990 less both trades' 0.37, not 889.98.
    expect(snapshot.equity).toBeCloseTo(989.63, 1);
    expect(snapshot.drawdown_pct).toBeLessThan(0.1);
  });

  it('still counts a position /balance lists at no value when /status marks it lower (the lower valuation wins)', async () => {
    // Prepare: /balance lists BTC at 0 (no ticker), /status marks BTC 30 below its stake.
    const filled = structuredClone(ENTRY_ORDER_OPEN) as {
      status: Array<Record<string, unknown>>;
      balance: { currencies: Array<Record<string, unknown>> };
    };
    const btc = filled.status.find((trade) => trade.pair === 'BTC/USDT');
    if (btc === undefined) throw new Error('fixture lost BTC/USDT');
    btc.amount = btc.amount_requested;
    btc.has_open_orders = false;
    btc.profit_abs = -30;
    filled.balance.currencies.push({ currency: 'BTC', est_stake_bot: 0, est_stake: 0, is_bot_managed: true });
    const collector = newCollector();

    // Act
    await collector.poll(clientServing(filled), true);

    // Assess: 990 - 30 - ETH's 0.18, not 990 and not a whole stake lost.
    expect(collector.riskSnapshot().equity).toBeCloseTo(959.82, 1);
  });
});

describe('Agent: the order of a poll’s calls to Freqtrade', () => {
  it('asks /status only after /balance has answered (a stake /balance has taken must show in /status, or it reads as a loss: a false 20 % drawdown at launch)', async () => {
    // Prepare: a client that records when each route is asked and answered.
    const events: string[] = [];
    const fetch: HttpFetch = async (url) => {
      const route = new URL(url).pathname.replace('/api/v1/', '');
      events.push(`ask ${route}`);
      await new Promise((resolve) => setTimeout(resolve, route === 'balance' ? 20 : 1));
      events.push(`answer ${route}`);
      const body = ENTRY_ORDER_OPEN[route];
      return { ok: true, status: 200, text: async () => JSON.stringify(body) };
    };
    const client = new FreqtradeClient(
      { url: 'http://127.0.0.1:1', username: 'u', password: 'p', auth: 'basic' },
      { fetch },
    );
    const collector = newCollector();

    // Act
    await collector.poll(client, true);

    // Assess: Freqtrade debits the stake after committing the trade, so this order never misses one.
    expect(events.indexOf('answer balance')).toBeGreaterThanOrEqual(0);
    expect(events.indexOf('ask status')).toBeGreaterThan(events.indexOf('answer balance'));
  });
});

/**
 * Freqtrade 2026.9 commits a new trade, then refreshes its wallets (`execute_entry`). A /balance answered
 * in between computes `starting_capital` and the stake line from the stale wallet's free cash plus the live
 * trades' stakes: (900.04 + 199.96) × 0.99 = 1089 instead of 990, and cash 889.04 that has not paid for the
 * new trade yet. These replies are that moment: ETH/USDT is in the wallet, BTC/USDT has just been committed.
 */
const betweenCommitAndWalletRefresh = () => {
  const torn = structuredClone(ENTRY_ORDER_OPEN) as {
    balance: Record<string, unknown> & { currencies: Array<Record<string, unknown>> };
    status: Array<Record<string, unknown>>;
  };
  const btc = torn.status.find((trade) => trade.pair === 'BTC/USDT');
  if (btc === undefined) throw new Error('fixture lost BTC/USDT');
  btc.amount = btc.amount_requested;
  btc.has_open_orders = false;
  btc.profit_abs = -0.19;
  torn.balance.starting_capital = 1089;
  torn.balance.total_bot = 988.98;
  torn.balance.currencies = torn.balance.currencies.map((line) =>
    line.currency === 'USDT'
      ? { ...line, free: 900.04, used: 0, balance: 900.04, est_stake: 900.04, est_stake_bot: 889.04 }
      : line,
  );
  return torn;
};

/** The same two trades a moment later, the wallet refreshed: cash 790.04, both coins listed. */
const afterWalletRefresh = () => {
  const settled = betweenCommitAndWalletRefresh();
  settled.balance.starting_capital = 990;
  settled.balance.total_bot = 989.79;
  settled.balance.currencies = [
    ...settled.balance.currencies.map((line) =>
      line.currency === 'USDT'
        ? { ...line, free: 800.04, balance: 800.04, est_stake: 800.04, est_stake_bot: 790.04 }
        : line,
    ),
    { currency: 'BTC', est_stake_bot: 99.81, est_stake: 99.81, is_bot_managed: true },
  ];
  return settled;
};

describe('Agent: a /balance answered between a new trade and the wallet refresh', () => {
  it('does not take its starting capital, inflated by one stake (the peak rose to 1089 and the next poll read a false 9.09 % drawdown)', async () => {
    // Prepare
    const collector = newCollector();
    await collector.poll(clientServing(ENTRY_ORDER_OPEN), true);
    await collector.poll(clientServing(ENTRY_ORDER_OPEN), true);

    // Act
    await collector.poll(clientServing(betweenCommitAndWalletRefresh()), true);
    const torn = collector.riskSnapshot();
    for (let poll = 0; poll < 3; poll += 1) await collector.poll(clientServing(afterWalletRefresh()), true);
    const settled = collector.riskSnapshot();

    // Assess
    expect(torn.drawdown_pct).toBeLessThan(0.1);
    expect(collector.peakEquity).toBeLessThanOrEqual(990);
    expect(settled.starting_capital).toBe(990);
    expect(settled.drawdown_pct).toBeLessThan(0.1);
  });

  it('does not keep it from the first reply either: that reply lifts no peak, and the figure two replies in a row report counts', async () => {
    // Prepare
    const collector = newCollector();

    // Act
    await collector.poll(clientServing(betweenCommitAndWalletRefresh()), true);
    const first = collector.riskSnapshot();
    await collector.poll(clientServing(afterWalletRefresh()), true);
    await collector.poll(clientServing(afterWalletRefresh()), true);
    const settled = collector.riskSnapshot();

    // Assess
    expect(first.starting_capital).toBe(1089);
    expect(first.drawdown_pct).toBeLessThan(0.1);
    expect(collector.peakEquity).toBeLessThanOrEqual(990);
    expect(settled.starting_capital).toBe(990);
    expect(settled.drawdown_pct).toBeLessThan(0.1);
  });

  it('still takes a starting capital that changes for good, once two polls agree on it', async () => {
    // Prepare: a deposit (or a new available_capital) moves Freqtrade's starting capital from 990 to 1089.
    const collector = newCollector();
    await collector.poll(clientServing(afterWalletRefresh()), true);
    await collector.poll(clientServing(afterWalletRefresh()), true);

    // Act
    const moved = afterWalletRefresh();
    moved.balance.starting_capital = 1089;
    await collector.poll(clientServing(moved), true);
    const once = collector.riskSnapshot();
    await collector.poll(clientServing(moved), true);
    const twice = collector.riskSnapshot();

    // Assess: measured from 1089 once it holds: equity 989.6 is then a 9.1 % drawdown.
    expect(once.starting_capital).toBe(990);
    expect(twice.starting_capital).toBe(1089);
    expect(twice.drawdown_pct).toBeGreaterThan(9);
  });
});

describe('Agent: a poll where /status goes unanswered', () => {
  it('does not value this poll’s cash against the last poll’s trades (a stake paid since read as lost: a false 10 % drawdown)', async () => {
    // Prepare: ETH/USDT alone, twice; then BTC/USDT's entry is placed (cash 790.04, no BTC line) and
    // /status times out, leaving only the last poll's ETH/USDT to value against that cash.
    const ethOnly = afterWalletRefresh();
    ethOnly.status = ethOnly.status.filter((trade) => trade.pair === 'ETH/USDT');
    ethOnly.balance.total_bot = 989.98;
    ethOnly.balance.currencies = ethOnly.balance.currencies
      .filter((line) => line.currency !== 'BTC')
      .map((line) =>
        line.currency === 'USDT'
          ? { ...line, free: 900.04, balance: 900.04, est_stake: 900.04, est_stake_bot: 890.04 }
          : line,
      );
    const entryPlaced = afterWalletRefresh() as { balance: Record<string, unknown>; status?: unknown };
    entryPlaced.balance.total_bot = 889.98;
    entryPlaced.balance.currencies = ethOnly.balance.currencies.map((line) =>
      line.currency === 'USDT' ? { ...line, free: 800.04, used: 100, est_stake_bot: 790.04 } : line,
    );
    delete entryPlaced.status;
    const collector = newCollector();
    await collector.poll(clientServing(ethOnly), true);
    await collector.poll(clientServing(ethOnly), true);

    // Act
    const outcome = await collector.poll(clientServing(entryPlaced), true);
    const snapshot = collector.riskSnapshot();

    // Assess: the poll failed (and counts toward max_monitor_failures); equity stays at its last reading.
    expect(outcome.failures.length).toBeGreaterThan(0);
    expect(snapshot.equity).toBeCloseTo(989.8, 0);
    expect(snapshot.drawdown_pct).toBeLessThan(0.1);
  });
});

/** ETH/USDT alone, 30 down, as Freqtrade answers before it closes at that loss and after. */
const closingTrade = () => {
  type Replies = {
    balance: Record<string, unknown> & { currencies: Array<Record<string, unknown>> };
    status: Array<Record<string, unknown>>;
    profit: Record<string, unknown>;
    daily: { data: Array<Record<string, unknown>> };
    count: Record<string, unknown>;
  };
  const open = afterWalletRefresh() as unknown as Replies;
  open.status = open.status.filter((trade) => trade.pair === 'ETH/USDT');
  const eth = open.status[0] as Record<string, unknown>;
  eth.profit_abs = -30;
  open.balance.total_bot = 959.98;
  open.balance.currencies = [
    { currency: 'USDT', free: 900.04, balance: 900.04, est_stake: 900.04, est_stake_bot: 890.04 },
    { currency: 'ETH', est_stake_bot: 69.94, est_stake: 69.94, is_bot_managed: true },
  ];
  open.profit = { ...open.profit, trade_count: 1, closed_trade_count: 0, profit_closed_coin: 0 };
  open.count = { current: 1, max: 2, total_stake: 99.96 };
  const closed = structuredClone(open);
  closed.status = [];
  closed.balance.total_bot = 959.98;
  closed.balance.currencies = [
    { currency: 'USDT', free: 959.98, balance: 959.98, est_stake: 959.98, est_stake_bot: 959.98 },
  ];
  closed.profit = { ...open.profit, closed_trade_count: 1, profit_closed_coin: -30, profit_all_coin: -30 };
  closed.daily.data = closed.daily.data.map((day, index) =>
    index === 0 ? { ...day, abs_profit: -30, trade_count: 1 } : day,
  );
  closed.count = { current: 0, max: 2, total_stake: 0 };
  return { open, closed };
};

describe('Agent: a trade that closes while a poll reads Freqtrade', () => {
  it('does not count its loss twice, open in /status and closed in /profit and /daily (a false drawdown and daily loss at a stoploss exit)', async () => {
    // Prepare: the trade closes between the poll's /status and its /profit.
    const { open, closed } = closingTrade();
    const collector = newCollector();
    for (let poll = 0; poll < 2; poll += 1) await collector.poll(clientServing(open), true);

    // Act: /balance and /status answer from before the close, what the poll asks after them from after it.
    const replies = {
      show_config: [ENTRY_ORDER_OPEN.show_config],
      health: [ENTRY_ORDER_OPEN.health],
      balance: [open.balance],
      status: [open.status, closed.status],
      profit: [closed.profit],
      daily: [closed.daily],
      count: [closed.count],
    };
    await collector.poll(clientAnsweringInTurn(replies), true);
    const snapshot = collector.riskSnapshot();

    // Assess: 990 - 30 once: a 3.03 % drawdown and a day 30 down, not 60.
    expect(snapshot.drawdown_pct).toBeLessThan(3.1);
    expect(snapshot.daily_pnl).toBeCloseTo(-30, 1);
  });

  it('does not value a poll whose open trades changed again when asked a second time (counted as a failed poll)', async () => {
    // Prepare
    const { open, closed } = closingTrade();
    const collector = newCollector();
    for (let poll = 0; poll < 2; poll += 1) await collector.poll(clientServing(open), true);
    const before = collector.riskSnapshot();

    // Act: every /status answers otherwise than the one before it (the last one: still open, beside a
    // /daily that has it closed).
    const outcome = await collector.poll(
      clientAnsweringInTurn({
        show_config: [ENTRY_ORDER_OPEN.show_config],
        health: [ENTRY_ORDER_OPEN.health],
        balance: [open.balance],
        status: [open.status, closed.status, open.status],
        profit: [closed.profit],
        daily: [closed.daily],
        count: [closed.count],
      }),
      true,
    );

    // Assess
    expect(outcome.failures).toContain('freqtrade opened or closed trades while polled, twice: not valued');
    expect(collector.riskSnapshot()).toMatchObject({ equity: before.equity, daily_pnl: before.daily_pnl });
  });
});
