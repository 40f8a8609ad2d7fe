/**
 * A real browser for the console tests: Debian's Chromium driven by playwright-core. Each page records
 * what would betray a broken or unsafe console (uncaught errors, console errors, CSP violations), and
 * screenshots go to test-results/screenshots/ (and to docs/images/ with TASKER_UPDATE_SCREENSHOTS=1, which
 * is how the docs' pictures are made).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { packageInfo } from '../../src/package-root.js';

export const CHROMIUM = process.env.TASKER_CHROMIUM ?? '/usr/bin/chromium';
export const chromiumAvailable = existsSync(CHROMIUM);

/**
 * Without Chromium the browser suites are skipped with a notice, unless TASKER_REQUIRE_CHROMIUM=1 (CI),
 * where a missing browser fails the run instead of passing it silently.
 */
export function browserSuiteEnabled(): boolean {
  if (chromiumAvailable) return true;
  if (process.env.TASKER_REQUIRE_CHROMIUM === '1')
    throw new Error(`TASKER_REQUIRE_CHROMIUM=1 but ${CHROMIUM} does not exist (apt-get install chromium)`);
  console.warn(`[tasker tests] browser tests skipped: ${CHROMIUM} not found (apt-get install chromium)`);
  return false;
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** One browser for the suite it is called in (inside its describe): launched before, closed after. */
export function sharedBrowser(): () => Browser {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });
  return () => {
    if (!browser)
      throw new Error('sharedBrowser(): the browser is not launched yet (call it inside describe)');
    return browser;
  };
}

export interface ConsolePage {
  page: Page;
  context: BrowserContext;
  /** Uncaught errors, console errors and CSP violations seen so far. */
  problems: string[];
  close: () => Promise<void>;
}

export async function openConsole(
  browser: Browser,
  url: string,
  opts: { width?: number; height?: number; allow?: RegExp } = {},
): Promise<ConsolePage> {
  const context = await browser.newContext({
    viewport: { width: opts.width ?? 1440, height: opts.height ?? 900 },
    deviceScaleFactor: 1,
  });
  const page = await context.newPage();
  // Well inside the test's own timeout, so a missing element fails with its selector named.
  page.setDefaultTimeout(10_000);
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    if (opts.allow?.test(text)) return;
    problems.push(`console.error: ${text}`);
  });
  // CSP violations are reported as events in the page; collect them through a binding.
  await page.exposeBinding('__cspViolation', (_src, text: string) => problems.push(`csp: ${text}`));
  await page.addInitScript(
    `document.addEventListener('securitypolicyviolation', (e) => window.__cspViolation(e.violatedDirective + ' blocked ' + e.blockedURI));`,
  );
  await page.goto(url);
  return { page, context, problems, close: () => context.close() };
}

const shotsDir = join(packageInfo().root, 'test-results', 'screenshots');
const docsDir = join(packageInfo().root, 'docs', 'images');

/** A PNG of the page (full page by default) for the test artefacts, and for the docs when asked. */
export async function screenshot(page: Page, name: string, fullPage = false): Promise<void> {
  mkdirSync(shotsDir, { recursive: true });
  // A full-page shot of a scrolled page draws the sticky top bar where the viewport was.
  if (fullPage) await page.evaluate('window.scrollTo(0, 0)');
  const buffer = await page.screenshot({ fullPage, animations: 'disabled' });
  writeFileSync(join(shotsDir, `${name}.png`), buffer);
  if (process.env.TASKER_UPDATE_SCREENSHOTS === '1') {
    mkdirSync(docsDir, { recursive: true });
    writeFileSync(join(docsDir, `console-${name}.png`), buffer);
  }
}

/**
 * Polls `check` until it holds. (Playwright's waitForFunction evaluates a string in the page, which the
 * console's CSP forbids, as it should.)
 */
export async function waitUntil(
  check: () => Promise<boolean>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
