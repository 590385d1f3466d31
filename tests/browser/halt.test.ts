/// <reference lib="dom" />
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '../../local/cloud/cloud';
import { apiOf, LIVE_LIMITS, LIVE_TRADER, sessionWhere, startBody, startFastCloud } from '../e2e/support';
import { launchChromium, logIn, rowOf, screenshot } from './support';

describe('Console: the fleet kill switch (halt banner and resume) in a real browser', () => {
  let cloud: LocalCloud;
  let browser: Browser;
  let operator: Page;

  beforeAll(async () => {
    browser = await launchChromium();
    cloud = await startFastCloud();
    const started = await apiOf(cloud)('POST', '/strategies/halt-demo/start', { body: startBody() });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    await sessionWhere(cloud, String(started.body.run_id), (s) => s.status === 'running', 'running', 60_000);
    operator = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await logIn(operator, `${cloud.url}/?poll_ms=250`, {
      subject: 'halt-operator',
      scopes: ['strategies:read', 'strategies:write'],
    });
    await rowOf(operator, 'halt-demo').waitFor({ timeout: 30_000 });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await cloud?.close();
  }, 60_000);

  it('halts the fleet as reducing after a confirmation naming the scope and its sessions, then shows the red banner with who and why', async () => {
    // prepare
    await operator.locator('button.halt-open').click();
    const dialog = operator.locator('[role="dialog"]');
    const confirm = dialog.locator('button[name="confirm-halt"]');
    // assess: the scope and the sessions it touches are named; no confirmation without a reason
    const named = (await dialog.textContent()) ?? '';
    expect(named).toContain('the fleet');
    expect(named).toContain('0 live sessions (1 in total)');
    expect(await confirm.isDisabled()).toBe(true);
    // act
    await dialog.locator('input[name="mode"][value="reducing"]').check();
    await dialog.locator('textarea[name="reason"]').fill('browser test: exchange incident');
    await confirm.click();
    const banner = operator.locator('.scope-banner[data-scope="fleet"]');
    await banner.waitFor({ timeout: 30_000 });
    // assess
    const text = (await banner.textContent()) ?? '';
    expect(text).toContain('reducing');
    expect(text).toContain('halt-operator');
    expect(text).toContain('browser test: exchange incident');
    expect(await operator.locator('.flash').textContent()).toMatch(/confirmed/);
    await screenshot(operator, 'fleet-reducing');
  }, 60_000);

  it("disables a row's Resume while the fleet is reducing, with the refusal the API would give", async () => {
    const resume = rowOf(operator, 'halt-demo').locator('button[data-command="resume"]');
    await resume.and(operator.locator('[disabled]')).waitFor({ timeout: 30_000 });
    const reason = (await resume.getAttribute('data-disabled-reason')) ?? '';
    expect(reason).toContain('the fleet is reducing');
    expect(reason).toContain('browser test: exchange incident');
  });

  it('shows the refusal of a start while the fleet is reducing (the 409 naming the actor and reason)', async () => {
    // act
    await operator.locator('button.start-open').click();
    await operator.locator('form.start input[name="strategyId"]').fill('halt-second');
    await operator.locator('form.start input[name="reason"]').fill('a start during the halt');
    await operator.locator('form.start button[name="start"]').click();
    const failure = operator.locator('form.start .failure');
    await failure.waitFor();
    // assess
    const text = (await failure.textContent()) ?? '';
    expect(text).toContain('fleet is reducing');
    expect(text).toContain('browser test: exchange incident');
    await operator.locator('form.start button', { hasText: 'Cancel' }).click();
  });

  it('resumes the fleet from the banner with a reason, and the banner goes', async () => {
    // prepare
    const banner = operator.locator('.scope-banner[data-scope="fleet"]');
    const resume = banner.locator('button[name="resume-scope"]');
    expect(await resume.isDisabled()).toBe(true);
    // act
    await banner.locator('input[name="resume-reason"]').fill('browser test: incident over');
    await resume.click();
    await banner.waitFor({ state: 'detached', timeout: 30_000 });
    // assess: the switch is back; the session the halt held trades again, its Resume no longer names the fleet
    expect(await operator.locator('button.halt-open').isEnabled()).toBe(true);
    const row = rowOf(operator, 'halt-demo');
    await row.and(operator.locator('[data-status="running"]')).waitFor({ timeout: 30_000 });
    expect(
      await row.locator('button[data-command="resume"]').getAttribute('data-disabled-reason'),
    ).not.toContain('fleet');
    await screenshot(operator, 'fleet-resumed');
  }, 60_000);

  it("names an account's halt and disables its Resume for a writer without the live permission (the account holds a live session)", async () => {
    // prepare: a live session, its account halted by someone else
    const api = apiOf(cloud);
    const started = await api('POST', '/strategies/halt-live/start', {
      ...LIVE_TRADER,
      body: startBody({}, { mode: 'live', risk_limits: LIVE_LIMITS }),
    });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const runId = String(started.body.run_id);
    const running = await sessionWhere(cloud, runId, (s) => s.status === 'running', 'running', 60_000);
    const accountId = String(running.account_id);
    await rowOf(operator, 'halt-live')
      .and(operator.locator('[data-status="running"]'))
      .waitFor({ timeout: 30_000 });
    // assess: the fleet's Halt… counts the live session
    await operator.locator('button.halt-open').click();
    expect(await operator.locator('[role="dialog"]').textContent()).toContain('1 live session (2 in total)');
    await operator.locator('[role="dialog"] button', { hasText: 'Cancel' }).click();
    // act
    const halted = await api('POST', `/accounts/${accountId}/halt`, {
      body: { mode: 'reducing', reason: 'browser test: account drawdown' },
    });
    expect(halted.status, JSON.stringify(halted.body)).toBe(200);
    const banner = operator.locator(`.scope-banner[data-scope="${accountId}"]`);
    await banner.waitFor({ timeout: 30_000 });
    await banner.locator('input[name="resume-reason"]').fill('a writer tries');
    // assess
    expect(await banner.textContent()).toContain(`account ${accountId} is reducing`);
    expect(await banner.textContent()).toContain('browser test: account drawdown');
    const resume = banner.locator('button[name="resume-scope"]');
    expect(await resume.isDisabled()).toBe(true);
    expect(await resume.getAttribute('data-disabled-reason')).toContain('strategies:live');
    await screenshot(operator, 'account-reducing');
  }, 120_000);
});
