/// <reference lib="dom" />
// Code passed to page.evaluate runs in the browser: DOM types for it.
/**
 * The console at 200 strategies (issue 11 item 4), in Debian's chromium: the real page and bundle served by
 * the local HTTP API with its local login, in front of a GET /fleet that answers a FleetView of N synthetic
 * strategies (checked against FleetViewSchema) with ETag / If-None-Match, as the real route does.
 * Measured in the page: every row in the DOM after navigation, the render of a changed fleet (from the end
 * of the /fleet response to the DOM changes it caused), long tasks while the page follows the fleet,
 * and the bundle's size.
 */
import { gzipSync } from 'node:zlib';
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import type { FleetStrategy, FleetView } from '../functions/api/read-strategies/schema';
import { FleetViewSchema } from '../functions/api/read-strategies/schema';
import { FleetStateSchema } from '../functions/api/trading-scope/schema';
import { buildConsole, localConsoleSite } from '../local/cloud/console-site';
import { startHttpApi } from '../local/cloud/http-api';
import { loadLocalIssuer } from '../local/cloud/jwt-issuer';
import { SESSION_STATUSES } from '../shared/domain/session';
import { launchChromium } from '../tests/browser/support';
import { percentile, round1 } from './stats';

const stats = (values: number[]) => ({
  samples: values.length,
  p50_ms: round1(percentile(values, 50)),
  p95_ms: round1(percentile(values, 95)),
  max_ms: round1(Math.max(...values)),
});

const STALE_AFTER_S = 90;

/** A fleet of n strategies at version v: every row's figures move with v (the worst case: all changed). */
const fleetAt = (n: number, version: number): FleetView => {
  const strategies: FleetStrategy[] = Array.from({ length: n }, (_, index) => {
    const status = index % 23 === 0 ? 'paused' : index % 41 === 0 ? 'stale' : 'running';
    return {
      strategy_id: `bench-${String(index).padStart(4, '0')}`,
      run_id: `dry-run-bench-${index}-run`,
      strategy_name: 'MomentumStrategy',
      strategy_version: '3',
      trading_mode: index % 10 === 0 ? 'live' : 'dry-run',
      status,
      status_reason: null,
      desired_state: status === 'paused' ? 'paused' : 'running',
      active: true,
      status_changed_at: '2026-12-01T10:00:00.000Z',
      last_heartbeat: '2026-12-01T10:00:00.000Z',
      heartbeat_age_s: (index * 7 + version) % 120,
      stale_after_s: STALE_AFTER_S,
      stake_currency: 'USDT',
      equity: 10_000 + index + version,
      pnl_today: ((index + version) % 50) - 25,
      pnl_total: ((index * 3 + version) % 200) - 100,
      drawdown_pct: ((index + version) % 90) / 10,
      max_drawdown_pct: 10,
      open_trade_count: index % 4,
      risk_state: index % 37 === 0 ? 'breached' : 'ok',
      risk_breaches: index % 37 === 0 ? ['max_drawdown_pct'] : [],
      last_alert: null,
      alert_open: false,
    };
  });
  const by_status = Object.fromEntries(
    SESSION_STATUSES.map((status) => [status, 0]),
  ) as FleetView['totals']['by_status'];
  for (const row of strategies) by_status[row.status] += 1;
  return FleetViewSchema.parse({
    as_of: new Date().toISOString(),
    stale_after_s: STALE_AFTER_S,
    strategies,
    totals: {
      strategies: n,
      by_status,
      money: [],
      open_alerts: { WARNING: 0, CRITICAL: 0 },
    },
    truncated: false,
  });
};

interface PageProbe {
  firstRowsMs: number | null;
  mutations: number[];
  fleetResponses: number[];
  longTasks: number[];
}

/** Installed before the page's own scripts: when rows appear and change, when /fleet answers, long tasks. */
const probe = (rows: number) => {
  const state: PageProbe = { firstRowsMs: null, mutations: [], fleetResponses: [], longTasks: [] };
  (window as unknown as { probe: PageProbe }).probe = state;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) state.longTasks.push(entry.duration);
  }).observe({ type: 'longtask', buffered: true });
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries() as PerformanceResourceTiming[]) {
      if (new URL(entry.name).pathname === '/fleet' && entry.responseStatus === 200)
        state.fleetResponses.push(entry.responseEnd);
    }
  }).observe({ type: 'resource', buffered: true });
  document.addEventListener('DOMContentLoaded', () => {
    new MutationObserver(() => {
      const now = performance.now();
      state.mutations.push(now);
      if (state.firstRowsMs === null && document.querySelectorAll('tr.row').length >= rows)
        state.firstRowsMs = now;
    }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  });
};

export const runDashboardBench = async (options: { strategies: number; updates: number }) => {
  const issuer = await loadLocalIssuer(undefined);
  let version = 0;
  let view = fleetAt(options.strategies, version);
  const fleetRoute = {
    method: 'GET',
    path: '/fleet',
    scopes: ['tradai/strategies:read'],
    authorized: true,
    invoke: async (event: APIGatewayProxyEventV2WithJWTAuthorizer) => {
      const etag = `"v${version}"`;
      if (event.headers['if-none-match'] === etag) return { statusCode: 304, headers: { etag } };
      return {
        statusCode: 200,
        headers: { etag, 'content-type': 'application/json' },
        body: JSON.stringify(view),
      };
    },
  };
  // The page polls the trading scopes beside the fleet: an active fleet, no account halted.
  const fleetState = JSON.stringify(
    FleetStateSchema.parse({
      fleet: {
        scope: 'fleet',
        account_id: null,
        state: 'active',
        generation: 0,
        previous_state: null,
        changed_by: 'bench',
        reason: 'bench',
        changed_at: '2026-12-01T10:00:00.000Z',
      },
      accounts: [],
    }),
  );
  const fleetStateRoute = {
    ...fleetRoute,
    path: '/fleet/state',
    invoke: async () => ({
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: fleetState,
    }),
  };
  const api = await startHttpApi({
    routes: [fleetRoute, fleetStateRoute],
    issuer,
    port: 0,
    log: () => undefined,
    site: await localConsoleSite(issuer),
  });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await page.addInitScript(probe, options.strategies);
    // Log in as the page does (POST /local/token), then load the console with the token kept.
    await page.goto(`${api.url}/config.json`);
    await page.evaluate(async () => {
      const response = await fetch('/local/token', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          subject: 'bench',
          scopes: ['strategies:read', 'strategies:write'],
          groups: [],
        }),
      });
      sessionStorage.setItem('tradai.console.token', ((await response.json()) as { token: string }).token);
    });
    await page.goto(`${api.url}/?poll_ms=250`);
    await page.waitForFunction(
      (rows) => document.querySelectorAll('tr.row').length >= rows,
      options.strategies,
    );
    const navigationStart = 0;
    const first = await page.evaluate(() => (window as unknown as { probe: PageProbe }).probe.firstRowsMs);

    // Changed fleets: a new version, wait until the page has rendered it, note the response and the DOM.
    const renders: number[] = [];
    const longTasksBefore = (
      await page.evaluate(() => (window as unknown as { probe: PageProbe }).probe.longTasks)
    ).length;
    for (let update = 0; update < options.updates; update += 1) {
      // Counted before the version changes: a 200 landing in between would otherwise be counted already and
      // waited for in vain (every later poll is a 304).
      const responses = await page.evaluate(
        () => (window as unknown as { probe: PageProbe }).probe.fleetResponses.length,
      );
      version += 1;
      view = fleetAt(options.strategies, version);
      const expected = view.strategies[1]?.pnl_total;
      await page.waitForFunction(
        ({ count }) => (window as unknown as { probe: PageProbe }).probe.fleetResponses.length > count,
        { count: responses },
      );
      await page.waitForFunction(
        (text) =>
          document
            .querySelector('tr[data-strategy="bench-0001"] td:nth-child(7)')
            ?.textContent?.includes(text),
        `${(expected ?? 0) >= 0 ? '+' : ''}${(expected ?? 0).toFixed(2)}`,
      );
      // Preact renders a changed fleet in one task; its DOM changes reach the observer in one callback at the
      // end of that task. So: the first callback after the response is the render done (parse included).
      const { responseEnd, rendered } = await page.evaluate(() => {
        const state = (window as unknown as { probe: PageProbe }).probe;
        const end = state.fleetResponses.at(-1) ?? 0;
        return { responseEnd: end, rendered: state.mutations.find((at) => at >= end) ?? end };
      });
      renders.push(rendered - responseEnd);
    }
    const longTasks = (
      await page.evaluate(() => (window as unknown as { probe: PageProbe }).probe.longTasks)
    ).slice(longTasksBefore);

    // An unchanged fleet: 304s only, the rows re-aged every second; long tasks over 10 s.
    const idleFrom = (await page.evaluate(() => (window as unknown as { probe: PageProbe }).probe.longTasks))
      .length;
    await page.waitForTimeout(10_000);
    const idleLongTasks = (
      await page.evaluate(() => (window as unknown as { probe: PageProbe }).probe.longTasks)
    ).slice(idleFrom);

    const files = await buildConsole();
    const sizeOf = (names: (name: string) => boolean) => {
      const chosen = [...files.entries()].filter(([name]) => names(name));
      return {
        bytes: chosen.reduce((sum, [, file]) => sum + file.body.length, 0),
        gzip_bytes: chosen.reduce((sum, [, file]) => sum + gzipSync(file.body).length, 0),
      };
    };
    return {
      strategies: options.strategies,
      browser: browser.version(),
      first_render_ms: first === null ? null : round1(first - navigationStart),
      changed_fleet_render: stats(renders),
      long_tasks_while_changing: { count: longTasks.length, max_ms: round1(Math.max(0, ...longTasks)) },
      long_tasks_unchanged_10s: {
        count: idleLongTasks.length,
        max_ms: round1(Math.max(0, ...idleLongTasks)),
      },
      bundle: {
        fleet_view: sizeOf((name) => !name.includes('chart')),
        chart_chunk_loaded_on_detail: sizeOf((name) => name.includes('chart')),
      },
    };
  } finally {
    await browser.close();
    await api.close();
  }
};
