import type { MissingTradesReport } from '../../shared/domain/agent-report';
import type { OpenTrade, Session } from '../../shared/domain/session';

/** A trade as both reports name it: Freqtrade's id and its pair (an id alone may be reused by a fresh store). */
export type TradeRef = Pick<OpenTrade, 'trade_id' | 'pair'>;

/**
 * The trades a task taking over must find: those the previous agent last reported open. A session no
 * agent ever claimed has none (a first start trades from nothing).
 */
export const expectedTradesOf = (before: Session): TradeRef[] =>
  before.agent_id === null
    ? []
    : before.open_trades.map((trade) => ({ trade_id: trade.trade_id, pair: trade.pair }));

/**
 * Startup guard (issue 8 finding 1): compares what the predecessor reported with what Freqtrade's
 * /status shows now. Any trade missing means Freqtrade lost its trade store and no longer manages
 * positions that are open on the exchange: entries stay paused and the report names them. A trade the
 * store shows closed (`closed`: its /trades) is not lost: the previous bot exited it after its agent's
 * last report (a hung agent whose Freqtrade traded on until the platform killed it, a crash between two
 * heartbeats).
 */
export const checkTakeover = (
  expected: readonly TradeRef[],
  shown: readonly TradeRef[],
  account: string,
  atMs: number,
  closed: readonly TradeRef[] = [],
): { ok: true } | { ok: false; report: MissingTradesReport } => {
  const keyOf = (trade: TradeRef) => `${trade.trade_id}|${trade.pair}`;
  const present = new Set([...shown, ...closed].map(keyOf));
  const missing = expected.filter((trade) => !present.has(keyOf(trade)));
  if (missing.length === 0) return { ok: true };
  return {
    ok: false,
    report: {
      trade_ids: missing.map((trade) => trade.trade_id).slice(0, 50),
      expected: expected.length,
      found: expected.length - missing.length,
      account: account.slice(0, 256),
      action: 'entries_paused',
      at: new Date(atMs).toISOString(),
    },
  };
};

/** How an operator finds the account: the exchange, the credentials' secret name, the account id when known. */
export const accountLabelOf = (
  exchange: string,
  secretName: string | undefined,
  accountId: string | null | undefined,
): string =>
  [
    exchange,
    secretName === undefined ? undefined : `secret ${secretName}`,
    accountId === null || accountId === undefined ? undefined : `account ${accountId}`,
  ]
    .filter((part) => part !== undefined)
    .join(', ');
