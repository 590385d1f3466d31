import { accessSync, constants, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Debian's chromium; CHROMIUM_PATH points elsewhere (another distribution's path). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Screenshots of each run, for a person to look at; never committed (.gitignore). */
export const ARTIFACTS_DIR = join(import.meta.dirname, '..', '..', 'test-artifacts', 'browser');

export class ChromiumMissingError extends Error {
  constructor(path: string) {
    super(
      `The browser suite needs Chromium at ${path} and found none. Install it: apt-get install -y chromium (Debian/Ubuntu), or set CHROMIUM_PATH to a Chromium binary.`,
    );
    this.name = 'ChromiumMissingError';
  }
}

/** Fails, never skips, without a browser: a suite that passes by not running proves nothing. */
export const launchChromium = async (executablePath = CHROMIUM_PATH): Promise<Browser> => {
  try {
    accessSync(executablePath, constants.X_OK);
  } catch {
    throw new ChromiumMissingError(executablePath);
  }
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu'] });
};

export const screenshot = async (page: Page, name: string) => {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS_DIR, `${name}.png`), fullPage: true });
};

/** The local login page: subject, scopes and the live group ticked as asked, then logged in. */
export const logIn = async (
  page: Page,
  url: string,
  options: { subject: string; scopes: string[]; live?: boolean },
) => {
  await page.goto(url);
  await page.locator('input[name="subject"]').fill(options.subject);
  for (const scope of ['strategies:read', 'strategies:write', 'strategies:live']) {
    await page.locator(`input[name="scope-${scope}"]`).setChecked(options.scopes.includes(scope));
  }
  await page.locator('input[name="group-live"]').setChecked(options.live === true);
  await page.locator('button[name="login"]').click();
  await page.locator('.who').waitFor();
};

export const rowOf = (page: Page, strategyId: string) => page.locator(`tr[data-strategy="${strategyId}"]`);
