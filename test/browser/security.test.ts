/**
 * The console's security in a real browser: a token asked for and kept in sessionStorage only (no cookie,
 * never in a URL); a read-only token sees no action buttons; a namespace-limited token sees nothing of
 * other namespaces, in the list, the detail, the overview or the stream; XSS payloads in a context, an
 * error message and a step name render as inert text under the CSP; configured secrets appear masked.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/api/auth.js';
import { serve } from '../../src/api/server.js';
import type { StepHandlerContext, Tasker } from '../../src/index.js';
import { browserSuiteEnabled, sharedBrowser, openConsole, screenshot } from '../support/browser.js';
import { onCleanup, startEngine } from '../support/harness.js';

const enabled = browserSuiteEnabled();

const XSS = `<img src=x onerror="window.__xss=1">`;
const SHOP = `
namespace: shop
name: order
version: 1.0.0
steps:
  - { name: check, handler: check }
  - { name: charge, handler: charge, depends_on: [check], retry: { max_attempts: 1 } }
  - { name: ship, handler: ship, depends_on: [charge] }
`;
const BILLING = `
namespace: billing
name: invoice
version: 1.0.0
steps:
  - { name: draft, handler: check }
`;
const handlers = {
  check: () => ({ ok: true }),
  charge: ({ task }: StepHandlerContext) => {
    if (task.context.fail)
      throw new Error(`card refused: ${String(task.context.note)} <script>window.__xss=2</script>`);
    return { charged: true, api_key: 'sk_live_abcdef' };
  },
  ship: () => ({}),
};

const TOKENS = {
  admin: { name: 'ops', token: 'admin-secret-token', scopes: ['admin'] },
  reader: { name: 'viewer', token: 'reader-secret-token', scopes: ['tasks:read', 'analytics:read'] },
  billing: {
    name: 'billing-team',
    token: 'billing-secret-token',
    scopes: ['tasks:read'],
    namespaces: ['billing'],
  },
};
const tokens = Object.values(TOKENS).map((t) => ({
  name: t.name,
  tokenSha256: sha256Hex(t.token),
  scopes: t.scopes as Array<'admin' | 'tasks:read' | 'analytics:read'>,
  namespaces: 'namespaces' in t ? t.namespaces : undefined,
}));

async function signIn(page: Page, token: string): Promise<void> {
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

describe.skipIf(!enabled)('console security in a browser', () => {
  const browser = sharedBrowser();

  async function engine(): Promise<{ tasker: Tasker; url: string }> {
    const { tasker } = await startEngine([SHOP, BILLING], handlers, {
      filterParameters: ['password', 'api_key', 'card_number'],
    });
    const { app, url } = await serve(tasker, { port: 0, processMetrics: false, tokens });
    onCleanup(() => app.close());
    return { tasker, url };
  }

  it('asks for a token, keeps it in sessionStorage only; a read-only token gets no action buttons', async () => {
    const { tasker, url } = await engine();
    const { task } = await tasker.createTask({ namespace: 'shop', name: 'order', context: { fail: true } });
    await tasker.waitForTask(task.id);
    const { page, context, problems, close } = await openConsole(browser(), `${url}/ui/tasks/${task.id}`, {
      // The console's own first request is answered 401: that is how it learns a token is needed.
      allow: /401/,
    });
    try {
      await page.getByLabel('API token').waitFor();
      await screenshot(page, 'sign-in');
      await signIn(page, 'not-a-token');
      await page.getByRole('alert').waitFor();
      await signIn(page, TOKENS.reader.token);
      await page.locator('[data-step="charge"][data-status="failed"]').first().waitFor();
      expect(await page.evaluate('sessionStorage.getItem("tasker.token")')).toBe(TOKENS.reader.token);
      expect(await page.evaluate('localStorage.length')).toBe(0);
      expect(await context.cookies()).toEqual([]);
      expect(page.url()).not.toContain(TOKENS.reader.token);
      // Read-only: the page shows the failure, all of it rendered, but offers no way to act on it.
      await page.locator('[data-reason="failed"]').waitFor();
      await page.locator('[data-segment]').first().waitFor();
      for (const name of ['Retry', 'Cancel', 'Resolve'])
        expect(await page.getByRole('button', { name, exact: true }).count()).toBe(0);
      expect(await page.locator('body').textContent()).toContain('viewer');
      expect(problems.filter((p) => !p.includes('401'))).toEqual([]);
    } finally {
      await close();
    }
    // The same page with the admin token has all three.
    const admin = await openConsole(browser(), `${url}/ui/tasks/${task.id}`, { allow: /401/ });
    try {
      await signIn(admin.page, TOKENS.admin.token);
      await admin.page.getByRole('button', { name: 'Retry', exact: true }).waitFor();
      await admin.page.getByRole('button', { name: 'Cancel', exact: true }).waitFor();
      await admin.page.getByRole('button', { name: 'Resolve', exact: true }).first().waitFor();
    } finally {
      await admin.close();
    }
  });

  it('a namespace-limited token sees nothing of other namespaces, in any view or the live stream', async () => {
    const { tasker, url } = await engine();
    const shop = await tasker.createTask({
      namespace: 'shop',
      name: 'order',
      correlationId: 'shop-secret-order',
    });
    const inv = await tasker.createTask({ namespace: 'billing', name: 'invoice' });
    await tasker.waitForTask(shop.task.id);
    await tasker.waitForTask(inv.task.id);
    const { page, problems, close } = await openConsole(browser(), `${url}/ui/tasks`, { allow: /401|404/ });
    try {
      await signIn(page, TOKENS.billing.token);
      await page.locator(`[data-task-id="${inv.task.id}"]`).waitFor();
      await page.locator('[data-live="connected"]').waitFor();
      // Live: a new shop task never reaches this page; a new billing one does.
      const shop2 = await tasker.createTask({ namespace: 'shop', name: 'order' });
      const inv2 = await tasker.createTask({ namespace: 'billing', name: 'invoice' });
      await page.locator(`[data-task-id="${inv2.task.id}"]`).waitFor();
      await tasker.waitForTask(shop2.task.id);
      const html = await page.content();
      for (const hidden of [shop.task.id, shop2.task.id, 'shop-secret-order', 'shop.order'])
        expect(html).not.toContain(hidden);
      // Other views: templates, workers, overview.
      // Other views, each once it shows what this token may see.
      const views: Array<[string, string]> = [
        ['templates', 'billing.invoice'],
        ['workers', 'check'],
        ['', 'billing'],
      ];
      for (const [view, expected] of views) {
        await page.goto(`${url}/ui/${view}`);
        await page.getByText(expected).first().waitFor();
        await page.waitForTimeout(500);
        const text = (await page.locator('body').textContent()) ?? '';
        expect(text, view).not.toContain('shop');
        expect(text, view).not.toContain('charge');
      }
      // A shop task's page says not found, exactly as for a task that does not exist.
      await page.goto(`${url}/ui/tasks/${shop.task.id}`);
      await page
        .getByText(/not found/i)
        .first()
        .waitFor();
      expect(await page.locator('[data-step]').count()).toBe(0);
      expect(problems.filter((p) => !/40[14]/.test(p))).toEqual([]);
    } finally {
      await close();
    }
  });

  it('renders XSS payloads in a context, an error message and a note as text, and masks configured secrets', async () => {
    const { tasker, url } = await engine();
    const { task } = await tasker.createTask({
      namespace: 'shop',
      name: 'order',
      correlationId: 'xss-check',
      tags: [XSS.slice(0, 40)],
      context: {
        fail: true,
        note: XSS,
        customer: { name: XSS, password: 'hunter2-secret', card_number: '4111111111111111' },
      },
    });
    await tasker.waitForTask(task.id);
    const ok = await tasker.createTask({ namespace: 'shop', name: 'order' });
    await tasker.waitForTask(ok.task.id);
    for (const path of [`tasks/${task.id}`, 'tasks', `tasks/${ok.task.id}`]) {
      const { page, problems, close } = await openConsole(browser(), `${url}/ui/${path}`, { allow: /401/ });
      try {
        await signIn(page, TOKENS.admin.token);
        await page.locator('[data-task-id], [data-step]').first().waitFor();
        // The detail's later sections (why, timeline, steps) render after its DAG.
        if (path.startsWith('tasks/')) await page.locator('[data-reason], [data-segment]').first().waitFor();
        // Open every collapsed section (context, results) so everything is rendered.
        for (const d of await page.locator('details:not([open]) > summary').all()) await d.click();
        await page.waitForTimeout(200);
        expect(await page.evaluate('window.__xss')).toBeUndefined();
        const text = (await page.locator('body').textContent()) ?? '';
        const html = await page.content();
        if (path === `tasks/${task.id}`) {
          // Shown literally, as characters, not as elements.
          expect(text).toContain('<img src=x onerror=');
          expect(text).toContain('<script>window.__xss=2</script>');
          expect(await page.locator('img[src="x"]').count()).toBe(0);
          expect(text).toContain('[FILTERED]');
          await screenshot(page, 'task-detail-xss', true);
        }
        for (const secret of ['hunter2-secret', '4111111111111111', 'sk_live_abcdef'])
          expect(html, `${path} leaks ${secret}`).not.toContain(secret);
        expect(problems).toEqual([]);
      } finally {
        await close();
      }
    }
  });
});
