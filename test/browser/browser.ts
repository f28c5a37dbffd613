import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/**
 * Whether the browser tests can run. On CI a missing Chromium is a failure (the run must install it); on a
 * developer machine the tests are skipped, loudly, naming the Debian package to install.
 */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI === 'true') return false;
  console.warn(`\n*** Browser tests SKIPPED: ${CHROMIUM} is missing. Install the Debian package: apt-get install -y chromium ***\n`);
  return false;
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/** Debian's Chromium, headless, with a fresh profile and nothing that phones home. */
export async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install the Debian package 'chromium' (apt-get install -y --no-install-recommends chromium).`);
  const profile = mkdtempSync(path.join(tmpdir(), 'vmb-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1366, height: 768 },
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Screenshots go to docs/screenshots with SCREENSHOT_DIR set (npm run screenshots), else to a scratch folder. */
export function screenshotDir(): string {
  const dir = process.env.SCREENSHOT_DIR ? path.resolve(process.env.SCREENSHOT_DIR) : mkdtempSync(path.join(tmpdir(), 'vmb-shots-'));
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * A browser on the dashboard at `uiUrl`, signed in with the function key. Page errors and console errors go to
 * `errors` (not Chromium's "Failed to load resource" lines: each 4xx a test provokes logs one).
 */
export async function signedIn(uiUrl: string, functionKey: string, errors: string[], timeoutMs = 120_000): Promise<Browser> {
  const b = await launch();
  const page = b.page;
  page.setDefaultTimeout(timeoutMs);
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
  });
  await page.goto(uiUrl);
  await page.getByLabel('Function key').fill(functionKey);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  return b;
}
