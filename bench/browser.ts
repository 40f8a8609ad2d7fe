/** The browser side of the benches: first paint of a console page, measured in a fresh context. */
import type { Browser, Page } from 'playwright-core';

export async function newPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  return page;
}

/**
 * ms from navigation start to the first element matching `selector` in the page, read from the page's own
 * clock (a MutationObserver installed before any script runs): Playwright's waitFor polls at up to 500 ms
 * intervals and would add that to the figure. Also the browser's first-contentful-paint.
 */
export async function firstPaint(
  browser: Browser,
  url: string,
  selector: string,
): Promise<{ ms: number; fcp: number }> {
  const page = await newPage(browser);
  try {
    await page.addInitScript(
      `window.__seenAt = null; new MutationObserver(() => { if (window.__seenAt === null && document.querySelector(${JSON.stringify(selector)})) window.__seenAt = performance.now(); }).observe(document, { subtree: true, childList: true, attributes: true });`,
    );
    await page.goto(url, { waitUntil: 'commit' });
    await page.locator(selector).first().waitFor();
    const ms = await page.evaluate<number>('window.__seenAt');
    const fcp = await page.evaluate<number>(
      "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN",
    );
    return { ms, fcp };
  } finally {
    await page.context().close();
  }
}
