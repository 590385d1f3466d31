/// <reference lib="dom" />
// Code passed to page.evaluate runs in the browser: DOM types for it.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '../../local/cloud/cloud';
import {
  agentPidOf,
  apiOf,
  eventually,
  LIVE_LIMITS,
  LIVE_TRADER,
  sessionWhere,
  startBody,
  startFastCloud,
} from '../e2e/support';
import { launchChromium, logIn, rowOf, screenshot } from './support';

/** The statuses a row showed, in order, recorded in the page itself so no short-lived one is missed. */
const recordStatuses = (page: Page, strategyId: string) =>
  page.evaluate((id) => {
    const seen: string[] = [];
    (window as unknown as { seenStatuses: string[] }).seenStatuses = seen;
    const note = () => {
      const status = document.querySelector(`tr[data-strategy="${id}"]`)?.getAttribute('data-status');
      if (status && seen.at(-1) !== status) seen.push(status);
    };
    new MutationObserver(note).observe(document.body, { subtree: true, childList: true, attributes: true });
    note();
  }, strategyId);

const seenStatuses = (page: Page) =>
  page.evaluate(() => (window as unknown as { seenStatuses: string[] }).seenStatuses);

describe('Console: the dashboard in a real browser against a local cloud', () => {
  let cloud: LocalCloud;
  let browser: Browser;
  let operator: Page;
  let url: string;

  beforeAll(async () => {
    browser = await launchChromium();
    // No replacement task within the test: a killed agent stays gone, so its session stays stale.
    cloud = await startFastCloud({ restartDelayMs: () => 600_000 });
    // The fleet read often, so a status that lasts a second (launching) is shown and seen.
    url = `${cloud.url}/?poll_ms=250`;
    operator = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await cloud?.close();
  }, 60_000);

  it('logs in with the local issuer, starts the demo strategy and shows it go launching → running', async () => {
    // prepare
    await logIn(operator, url, {
      subject: 'browser-operator',
      scopes: ['strategies:read', 'strategies:write'],
    });
    await operator.locator('button.start-open').click();
    // act
    await operator.locator('form.start input[name="reason"]').fill('browser test start');
    await operator.locator('form.start button[name="start"]').click();
    await operator.locator('.flash').waitFor();
    await rowOf(operator, 'demo-momentum').waitFor();
    await recordStatuses(operator, 'demo-momentum');
    await rowOf(operator, 'demo-momentum')
      .and(operator.locator('[data-status="running"]'))
      .waitFor({ timeout: 60_000 });
    // assess
    const seen = await seenStatuses(operator);
    expect(seen.indexOf('launching')).toBeGreaterThanOrEqual(0);
    expect(seen.indexOf('running')).toBeGreaterThan(seen.indexOf('launching'));
    expect(await operator.locator('.who').textContent()).toContain('browser-operator');
    await screenshot(operator, 'running');
  });

  it('shows a refused command in words (the API message), not as raw JSON', async () => {
    // act: a second start of a strategy that already runs
    await operator.locator('button.start-open').click();
    await operator.locator('form.start input[name="reason"]').fill('a second start');
    await operator.locator('form.start button[name="start"]').click();
    const failure = operator.locator('form.start .failure');
    await failure.waitFor();
    // assess
    const text = (await failure.textContent()) ?? '';
    expect(text).toContain('demo-momentum');
    expect(text).not.toMatch(/[{}"]/);
    await operator.locator('form.start button', { hasText: 'Cancel' }).click();
  });

  it('pauses with a confirmation naming the strategy and a required reason, then shows paused, the alert and the audit entry', async () => {
    // prepare
    const row = rowOf(operator, 'demo-momentum');
    await row.locator('button[data-command="pause"]').click();
    const dialog = operator.locator('[role="dialog"]');
    // assess: the dialog names the strategy and refuses to confirm without a reason
    expect(await dialog.locator('h2').textContent()).toContain('demo-momentum');
    expect(await dialog.locator('button[name="confirm"]').isDisabled()).toBe(true);
    // act
    await dialog.locator('textarea[name="reason"]').fill('browser test: spread too wide');
    await dialog.locator('button[name="confirm"]').click();
    await row.and(operator.locator('[data-status="paused"]')).waitFor({ timeout: 30_000 });
    await row.click();
    const detail = operator.locator('section.detail[data-strategy="demo-momentum"]');
    await detail.locator('.alerts li[data-kind="status.paused"]').waitFor({ timeout: 30_000 });
    const audit = detail.locator('.audit li[data-action="pause"]');
    await audit.waitFor();
    // assess
    expect(await audit.textContent()).toContain('browser test: spread too wide');
    expect(await audit.textContent()).toContain('browser-operator');
    expect(await row.locator('button[data-command="pause"]').isDisabled()).toBe(true);
    expect(await row.locator('button[data-command="resume"]').isEnabled()).toBe(true);
    await detail.locator('.chart').waitFor({ timeout: 30_000 });
    await screenshot(operator, 'paused-detail');
  });

  it("shows a read-only token's controls disabled, with the reason the API would give", async () => {
    // prepare
    const reader = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    // act
    await logIn(reader, url, { subject: 'browser-reader', scopes: ['strategies:read'] });
    const row = rowOf(reader, 'demo-momentum');
    await row.waitFor();
    // assess
    for (const command of ['pause', 'resume', 'stop']) {
      const button = row.locator(`button[data-command="${command}"]`);
      expect(await button.isDisabled()).toBe(true);
      expect(await button.getAttribute('data-disabled-reason')).toBe(
        'The token lacks the scope strategies:write',
      );
    }
    expect(await reader.locator('button.start-open').isDisabled()).toBe(true);
    expect(await reader.locator('.disabled-reason').textContent()).toContain('strategies:write');
    await screenshot(reader, 'read-only');
    await reader.close();
  });

  it('refuses a /fleet reply that does not match the API’s schema naming the field, keeps the last fleet and polls on', async () => {
    // prepare: a proxy (here the test) answers /fleet with a row whose status no API sends
    const row = rowOf(operator, 'demo-momentum');
    await row.waitFor();
    const failure = operator.locator('[data-poll-failure]');
    await operator.route(/\/fleet$/, async (route) => {
      // Always the full body (a 304 has none to corrupt).
      const { 'if-none-match': _etag, ...headers } = route.request().headers();
      const response = await route.fetch({ headers });
      const fleet = (await response.json()) as { strategies: Record<string, unknown>[] };
      fleet.strategies = fleet.strategies.map((strategy) => ({ ...strategy, status: 'exploded' }));
      await route.fulfill({ response, json: fleet });
    });
    try {
      // act
      await failure.waitFor({ timeout: 30_000 });
      // assess: the field named, the table still there, nothing of the bad reply shown
      expect(await failure.textContent()).toMatch(
        /^The reply to GET \/fleet was refused: field strategies\.0\.status: .*still polling\)$/,
      );
      expect(await row.isVisible()).toBe(true);
      expect(await operator.locator('[data-status="exploded"]').count()).toBe(0);
      await screenshot(operator, 'reply-refused');
    } finally {
      // Waits for a handler in flight, so none fulfils a request after the route is gone.
      await operator.unrouteAll({ behavior: 'wait' });
    }
    // the next good reply clears it: the poll never stopped
    await failure.waitFor({ state: 'detached', timeout: 30_000 });
  });

  it('shows the fleet when only /fleet/state is refused, naming that reply and its field', async () => {
    // prepare: a fresh page whose every /fleet/state reply is one no API sends
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.route(/\/fleet\/state$/, (route) =>
      route.fulfill({ status: 200, json: { fleet: { scope: 'galaxy' }, accounts: [] } }),
    );
    try {
      // act
      await logIn(page, url, { subject: 'browser-operator', scopes: ['strategies:read'] });
      await rowOf(page, 'demo-momentum').waitFor({ timeout: 30_000 });
      const failure = page.locator('[data-poll-failure]');
      await failure.waitFor();
      // assess
      expect(await failure.textContent()).toMatch(
        /^The reply to GET \/fleet\/state was refused: field fleet\.scope: /,
      );
      // the fleet itself is current: nothing says it is old
      expect(await failure.textContent()).not.toContain('as of');
    } finally {
      await page.unrouteAll({ behavior: 'wait' });
      await page.close();
    }
  });

  it('asks for the strategy id typed out before a command on a live session, then pauses it', async () => {
    // prepare: a live session (the live scope and group, explicit risk limits)
    const api = apiOf(cloud);
    const started = await api('POST', '/strategies/browser-live/start', {
      ...LIVE_TRADER,
      body: startBody({}, { mode: 'live', risk_limits: LIVE_LIMITS }),
    });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    await operator.locator('section.detail button.close').click();
    const row = rowOf(operator, 'browser-live');
    await row.and(operator.locator('[data-status="running"]')).waitFor({ timeout: 60_000 });
    await row.locator('button[data-command="pause"]').click();
    const dialog = operator.locator('[role="dialog"]');
    const confirm = dialog.locator('button[name="confirm"]');
    // act: a reason alone, then a wrong id, then the id
    await dialog.locator('textarea[name="reason"]').fill('browser test: live pause');
    const withReasonOnly = await confirm.isDisabled();
    await dialog.locator('input[name="confirm-id"]').fill('browser-liv');
    const withWrongId = await confirm.isDisabled();
    await dialog.locator('input[name="confirm-id"]').fill('browser-live');
    const withId = await confirm.isDisabled();
    await confirm.click();
    await row.and(operator.locator('[data-status="paused"]')).waitFor({ timeout: 30_000 });
    // assess
    expect([withReasonOnly, withWrongId, withId]).toEqual([true, true, false]);
    // a writer without the live permission may pause a live session but not resume it: the reason is shown
    expect(await row.locator('button[data-command="resume"]').getAttribute('data-disabled-reason')).toContain(
      'strategies:live',
    );
  }, 180_000);

  it('turns a strategy red once its agent is killed and its heartbeat goes stale', async () => {
    // prepare: a second strategy, running
    const api = apiOf(cloud);
    const started = await api('POST', '/strategies/browser-stale/start', { body: startBody() });
    const runId = String(started.body.run_id);
    await sessionWhere(cloud, runId, (session) => session.status === 'running', 'running', 60_000);
    const row = rowOf(operator, 'browser-stale');
    await row.and(operator.locator('[data-health="ok"]')).waitFor({ timeout: 30_000 });
    const pid = await eventually(async () => agentPidOf(cloud, runId), 'the agent process');
    // act
    process.kill(pid, 'SIGKILL');
    await row.and(operator.locator('[data-status="stale"]')).waitFor({ timeout: 60_000 });
    // assess: red, as the page paints it
    const colour = await row
      .locator('[data-field="heartbeat"]')
      .evaluate((element) => getComputedStyle(element).color);
    expect(colour).toBe('rgb(209, 43, 43)');
    expect(await row.getAttribute('data-health')).toBe('stale');
    await screenshot(operator, 'stale');
    // A deadline for a broken run, not a timing claim: the sweep's stale threshold is 3 s in FAST.
  }, 240_000);
});
