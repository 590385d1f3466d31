import type { AlertRecord } from '../../../shared/domain/alert-history';
import { alertViewOf } from '../../../shared/domain/alert-history';
import { withLiveness } from '../../../shared/domain/heartbeat';
import { isTerminal, type Session } from '../../../shared/domain/session';
import type { Page } from '../../../shared/domain/session-store';
import { SCOPES } from '../../../shared/http/constants';
import { NotFoundError } from '../../../shared/http/errors';
import { createHttpHandler, defineRoute } from '../../../shared/http/handler';
import type { HttpLambdaHandler, Route } from '../../../shared/http/types';
import { defaultReadStrategiesDeps, type ReadStrategiesDeps } from '../../../shared/runtime/api-deps';
import { SessionParamsSchema, StrategyParamsSchema } from '../shared/schemas';
import { sessionView, strategySummary } from '../shared/views';
import { fleetEtagOf, fleetViewOf, matchesIfNoneMatch } from './fleet';
import { AlertsQuerySchema, AuditQuerySchema, HistoryQuerySchema, StrategyAlertsQuerySchema } from './schema';
import { listStrategies } from './strategies';

export type { ReadStrategiesDeps } from '../../../shared/runtime/api-deps';

type ReadDeps = ReadStrategiesDeps;

const ok = (body: unknown) => ({ statusCode: 200, body });

/** Only allow-listed fields of an alert leave the API (alertViewOf): never a container ARN. */
const alertsPage = (page: Page<AlertRecord>) => ({
  items: page.items.map(alertViewOf),
  ...(page.cursor === undefined ? {} : { cursor: page.cursor }),
});

const definedOnly = <T extends Record<string, unknown>>(value: T) =>
  Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };

const currentSessionOrNotFound = async (deps: ReadDeps, strategyId: string): Promise<Session> => {
  const session = await deps.store.currentSessionOf(strategyId);
  if (session === undefined) throw new NotFoundError(`Strategy ${strategyId} has no sessions`);
  return session;
};

/** The session with its beat: its heartbeat age is the agent's silence, not its last snapshot's age. */
const liveSession = async (deps: ReadDeps, session: Session): Promise<Session> =>
  (await withLiveness((runIds) => deps.store.beatsOf(runIds), [session]))[0] ?? session;

interface PnlTotal {
  trading_mode: Session['trading_mode'];
  stake_currency: string | null;
  strategies: number;
  pnl_today: number;
  pnl_total: number;
}

/**
 * Totals add up only what may be added: active sessions, per trading mode (paper dry-run money is never
 * summed with live money) and per stake currency.
 */
const pnlTotals = (sessions: readonly Session[]): PnlTotal[] => {
  const totals = new Map<string, PnlTotal>();
  for (const session of sessions) {
    if (session.metrics === null || isTerminal(session.status)) continue;
    const currency = session.metrics.stake_currency ?? null;
    const key = `${session.trading_mode}|${currency ?? ''}`;
    const total = totals.get(key) ?? {
      trading_mode: session.trading_mode,
      stake_currency: currency,
      strategies: 0,
      pnl_today: 0,
      pnl_total: 0,
    };
    total.strategies += 1;
    total.pnl_today += session.metrics.pnl_today;
    total.pnl_total += session.metrics.pnl_total;
    totals.set(key, total);
  }
  return [...totals.values()].sort((a, b) =>
    `${a.trading_mode}${a.stake_currency}`.localeCompare(`${b.trading_mode}${b.stake_currency}`),
  );
};

/**
 * One function for every GET: one read-only IAM role, one warm pool, and the list and PnL routes share
 * the listing code. Routes are picked by the gateway's route key (see createHttpHandler).
 */
const routes = (deps: ReadDeps): Route[] => [
  defineRoute({
    method: 'GET',
    path: '/strategies',
    scope: SCOPES.read,
    handle: async () => {
      const listing = await listStrategies(deps.store);
      const sessions = await withLiveness((runIds) => deps.store.beatsOf(runIds), listing.sessions);
      const now = deps.clock.now();
      return ok({
        strategies: sessions.map((session) => strategySummary(session, now)),
        truncated: listing.truncated,
      });
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/strategies/pnl',
    scope: SCOPES.read,
    handle: async () => {
      const listing = await listStrategies(deps.store);
      return ok({
        as_of: new Date(deps.clock.now()).toISOString(),
        strategies: listing.sessions.map((session) => ({
          strategy_id: session.strategy_id,
          run_id: session.run_id,
          trading_mode: session.trading_mode,
          status: session.status,
          pnl_today: session.metrics?.pnl_today ?? null,
          pnl_total: session.metrics?.pnl_total ?? null,
          stake_currency: session.metrics?.stake_currency ?? null,
          reported_at: session.last_heartbeat,
        })),
        totals: pnlTotals(listing.sessions),
        truncated: listing.truncated,
      });
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/strategies/{strategyId}',
    scope: SCOPES.read,
    params: StrategyParamsSchema,
    handle: async ({ params }) => {
      const session = await liveSession(deps, await currentSessionOrNotFound(deps, params.strategyId));
      return ok({ strategy_id: params.strategyId, session: sessionView(session, deps.clock.now()) });
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/strategies/{strategyId}/trades',
    scope: SCOPES.read,
    params: StrategyParamsSchema,
    handle: async ({ params }) => {
      const session = await currentSessionOrNotFound(deps, params.strategyId);
      return ok({
        strategy_id: params.strategyId,
        run_id: session.run_id,
        status: session.status,
        reported_at: session.last_heartbeat,
        open_trades: session.open_trades,
      });
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/strategies/{strategyId}/pnl/history',
    scope: SCOPES.read,
    params: StrategyParamsSchema,
    query: HistoryQuerySchema,
    handle: async ({ params, query }) => {
      let runId: string;
      if (query.run_id === undefined) {
        runId = (await currentSessionOrNotFound(deps, params.strategyId)).run_id;
      } else {
        const session = await deps.store.get(query.run_id);
        if (session?.strategy_id !== params.strategyId) {
          throw new NotFoundError(`Strategy ${params.strategyId} has no session ${query.run_id}`);
        }
        runId = session.run_id;
      }
      const page = await deps.store.readHistory(runId, {
        ...(query.from === undefined ? {} : { from: query.from }),
        ...(query.to === undefined ? {} : { to: query.to }),
        ...(query.limit === undefined ? {} : { limit: query.limit }),
        ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
      });
      return ok({
        strategy_id: params.strategyId,
        run_id: runId,
        items: page.items.map(({ run_id: _run, strategy_id: _strategy, ...point }) => point),
        ...(page.cursor === undefined ? {} : { cursor: page.cursor }),
      });
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/strategies/{strategyId}/alerts',
    scope: SCOPES.read,
    params: StrategyParamsSchema,
    query: StrategyAlertsQuerySchema,
    handle: async ({ params, query }) => {
      const { limit, cursor, ...filter } = query;
      const page = await deps.alertHistory.list(
        definedOnly({ ...filter, strategy_id: params.strategyId }),
        definedOnly({ limit, cursor }),
      );
      return ok({ strategy_id: params.strategyId, ...alertsPage(page) });
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/strategies/{strategyId}/audit',
    scope: SCOPES.read,
    params: StrategyParamsSchema,
    query: AuditQuerySchema,
    handle: async ({ params, query }) => {
      const page = await deps.audit.listByStrategy(params.strategyId, definedOnly(query), {
        newestFirst: true,
      });
      return ok({
        strategy_id: params.strategyId,
        // The sort key is storage detail; the entry's own fields say when, who and why.
        items: page.items.map(({ at_run_id: _key, ...entry }) => entry),
        ...(page.cursor === undefined ? {} : { cursor: page.cursor }),
      });
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/fleet',
    scope: SCOPES.read,
    handle: async ({ headers }) => {
      // Two Queries of the sessions table's indexes; the last alerts come on the lock items.
      const fleet = await deps.fleet.readFleet();
      const view = fleetViewOf({
        ...fleet,
        nowMs: deps.clock.now(),
        staleAfterS: deps.staleAfterS,
      });
      const etag = fleetEtagOf(view);
      // A client polling an unchanged fleet gets no body; it ages its rows from `as_of` itself.
      const cache = { ETag: etag, 'Cache-Control': 'private, no-cache' };
      if (matchesIfNoneMatch(headers['if-none-match'], etag))
        return { statusCode: 304, body: undefined, headers: cache };
      return { statusCode: 200, body: view, headers: cache };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/alerts',
    scope: SCOPES.read,
    query: AlertsQuerySchema,
    handle: async ({ query }) => {
      const { limit, cursor, ...filter } = query;
      const page = await deps.alertHistory.list(definedOnly(filter), definedOnly({ limit, cursor }));
      return ok(alertsPage(page));
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/sessions/{runId}',
    scope: SCOPES.read,
    params: SessionParamsSchema,
    handle: async ({ params }) => {
      const session = await deps.store.get(params.runId);
      if (session === undefined) throw new NotFoundError(`No session ${params.runId}`);
      return ok(sessionView(await liveSession(deps, session), deps.clock.now()));
    },
  }),
];

export const createHandler = (deps: ReadDeps): HttpLambdaHandler => createHttpHandler(routes(deps), deps);

let lazy: HttpLambdaHandler | undefined;

/** Lambda entry point: AWS adapters built from the environment on the first invocation. */
export const handler: HttpLambdaHandler = (event, context) => {
  lazy ??= createHandler(defaultReadStrategiesDeps());
  return lazy(event, context);
};
