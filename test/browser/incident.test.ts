/**
 * The seed's incident, solved in the console in a real browser: update_inventory hangs past its timeout,
 * the task fails, and its detail page names update_inventory as the bottleneck with `timeout`, marks the
 * steps it blocks, shows the same suggested action as the API and a timeline with the three attempts;
 * then Retry from the console completes the task, live, without a reload. Also the overview and the list.
 */
import { describe, expect, it } from 'vitest';
import { clearFaults, handlers, injectHang } from '../../examples/checkout/handlers.js';
import { makeOrder, seededRandom } from '../../examples/checkout/orders.js';
import { serve } from '../../src/api/server.js';
import type { Tasker } from '../../src/index.js';
import { browserSuiteEnabled, sharedBrowser, openConsole, screenshot } from '../support/browser.js';
import { checkoutYaml } from '../support/checkout.js';
import { onCleanup, startEngine } from '../support/harness.js';

const enabled = browserSuiteEnabled();

describe.skipIf(!enabled)('console: the seed incident in a browser', () => {
  const browser = sharedBrowser();

  async function engine(): Promise<{ tasker: Tasker; url: string }> {
    const { tasker } = await startEngine(checkoutYaml(0.3), handlers, { concurrency: 8 });
    const { app, url } = await serve(tasker, { port: 0, processMetrics: false });
    // Closed before the engine (cleanups run last in, first out).
    onCleanup(() => app.close());
    return { tasker, url };
  }

  it(
    'names update_inventory as the timed-out bottleneck, marks what it blocks, and Retry completes the task',
    { timeout: 90_000 },
    async () => {
      const { tasker, url } = await engine();
      const random = seededRandom(7);
      // Some calm traffic first, so the overview and the list have something to show.
      const calm = await tasker.createTasks(
        Array.from({ length: 12 }, (_, i) => ({
          namespace: 'ecommerce',
          name: 'process_order',
          context: {
            ...makeOrder(i + 1, random),
            cart_items: [{ sku: 'SKU-MUG', price: 12.5, quantity: 1 }],
          },
        })),
      );
      for (const c of calm) await tasker.waitForTask(c.task.id, { timeoutMs: 20_000 });
      injectHang('update_inventory', 1);
      const order = { ...makeOrder(99, random), order_value: 249.5, customer_tier: 'premium' as const };
      const { task } = await tasker.createTask({
        namespace: 'ecommerce',
        name: 'process_order',
        context: order,
      });
      expect((await tasker.waitForTask(task.id, { timeoutMs: 30_000 })).status).toBe('error');
      clearFaults();

      const api = (await (
        await fetch(`${url}/tasks/${task.id}?include_dependencies=true&include_business_metrics=true`)
      ).json()) as { dependencies: { suggested_action: string; bottleneck_step: string } };
      expect(api.dependencies.bottleneck_step).toBe('update_inventory');

      const { page, problems, close } = await openConsole(browser(), `${url}/ui/tasks/${task.id}`);
      try {
        const inventory = page.locator('[data-step="update_inventory"][data-status]').first();
        await inventory.waitFor();
        expect(await inventory.getAttribute('data-status')).toBe('failed');
        expect(await page.locator('[data-bottleneck="true"]').first().getAttribute('data-step')).toBe(
          'update_inventory',
        );
        for (const step of ['create_order', 'send_confirmation']) {
          await page.locator(`[data-step="${step}"][data-status="blocked"]`).first().waitFor();
          await page.locator(`[data-reason="blocked_by_failure"][data-step="${step}"]`).waitFor();
        }
        const failed = page.locator('[data-reason="failed"][data-step="update_inventory"]');
        await failed.waitFor();
        expect(await failed.textContent()).toContain('timeout');
        // The console shows `code` spans as code: compare the words.
        expect((await page.getByTestId('suggested-action').textContent())?.trim()).toContain(
          api.dependencies.suggested_action.replaceAll('`', ''),
        );
        // The timeline has a bar per attempt: three timed-out inventory attempts, backoff between them.
        for (const attempt of ['1', '2', '3'])
          await page.locator(`[data-step="update_inventory"][data-attempt="${attempt}"]`).first().waitFor();
        expect(
          await page
            .locator('[data-step="update_inventory"][data-attempt="2"] [data-segment="backoff"]')
            .count(),
        ).toBeGreaterThan(0);
        // Header: the seed's fields, business context included.
        const body = await page.locator('body').textContent();
        expect(body).toContain('ecommerce.process_order@2.1.3');
        expect(body).toContain(task.correlationId);
        expect(body).toContain('premium');
        await screenshot(page, 'task-detail-incident', true);

        // Fix it: Retry, confirm, and watch the task complete without reloading.
        await page.getByRole('button', { name: 'Retry', exact: true }).click();
        await page
          .getByRole('dialog')
          .getByRole('button', { name: /confirm|retry/i })
          .last()
          .click();
        await page.locator('[data-step="update_inventory"][data-status="completed"]').first().waitFor({
          timeout: 15_000,
        });
        await page.locator('[data-step="send_confirmation"][data-status="completed"]').first().waitFor({
          timeout: 15_000,
        });
        expect((await tasker.getTask(task.id)).task.status).toBe('complete');
        await screenshot(page, 'task-detail-after-retry', true);
        expect(problems).toEqual([]);
      } finally {
        await close();
      }

      // An empty cart fails for good (PermanentError): the overview lists it among the newest failures.
      const empty = await tasker.createTask({
        namespace: 'ecommerce',
        name: 'process_order',
        context: { ...makeOrder(100, random), cart_items: [] },
      });
      await tasker.waitForTask(empty.task.id, { timeoutMs: 10_000 });
      const overview = await openConsole(browser(), `${url}/ui/`);
      try {
        await overview.page.locator(`[data-task-id="${empty.task.id}"]`).waitFor();
        // The bottleneck panel loads on its own request: wait for it rather than read it mid-load.
        await overview.page.getByText('update_inventory').first().waitFor();
        const text = await overview.page.locator('body').textContent();
        expect(text).toContain('healthy');
        expect(text).toContain('update_inventory');
        await screenshot(overview.page, 'overview', true);
        expect(overview.problems).toEqual([]);
      } finally {
        await overview.close();
      }
      const list = await openConsole(browser(), `${url}/ui/tasks`);
      try {
        await list.page.locator(`[data-task-id="${task.id}"]`).waitFor();
        expect(await list.page.locator('[data-task-id]').count()).toBe(14);
        await screenshot(list.page, 'task-list');
        expect(list.problems).toEqual([]);
      } finally {
        await list.close();
      }
    },
  );
});
