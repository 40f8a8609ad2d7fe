/**
 * Triage in a real browser: the failures of an incident form one group at the top of the Triage page,
 * "Retry all" previews a dry run (which changes nothing) and runs only on confirmation, the job's progress
 * is shown live until every task completed, and the Audit page and the task's compare panel show it.
 */
import { describe, expect, it } from 'vitest';
import { serve } from '../../src/api/server.js';
import { PermanentError } from '../../src/index.js';
import { browserSuiteEnabled, openConsole, screenshot, sharedBrowser } from '../support/browser.js';
import { dumpRows } from '../support/rows.js';
import { onCleanup, startEngine } from '../support/harness.js';

const enabled = browserSuiteEnabled();

const SHOP = `
namespace: shop
name: checkout
version: 1.0.0
business: { value_field: order_value, customer_field: customer }
steps:
  - { name: validate, handler: ok }
  - { name: reserve_stock, handler: reserve, depends_on: [validate] }
  - { name: confirm, handler: ok, depends_on: [reserve_stock] }
`;

describe.skipIf(!enabled)('console: triage in a browser', () => {
  const browser = sharedBrowser();

  it(
    'groups the failures, previews the bulk retry, runs it after confirmation, and shows job and audit',
    { timeout: 90_000 },
    async () => {
      const fault = { on: true };
      const { tasker, database } = await startEngine(SHOP, {
        ok: () => ({ ok: true }),
        reserve: ({ task }) => {
          if (fault.on && task.context.order_value !== 1)
            throw new PermanentError(
              `stock service timeout after 5s for order ${String(task.context.order)}`,
            );
          return { reserved: true };
        },
      });
      const { app, url } = await serve(tasker, { port: 0, processMetrics: false });
      onCleanup(() => app.close());
      const created = await tasker.createTasks(
        Array.from({ length: 8 }, (_, i) => ({
          namespace: 'shop',
          name: 'checkout',
          context: {
            order: 1000 + i,
            order_value: i === 0 ? 1 : 50 + i,
            customer: `c${i}`,
            note: '<img src=x onerror=alert(1)>',
          },
        })),
      );
      for (const c of created) await tasker.waitForTask(c.task.id);
      const failed = created.slice(1).map((c) => c.task.id);
      const [group] = (await tasker.failureGroups({ rangeMs: 3_600_000 })).groups;

      const { page, problems, close } = await openConsole(browser(), `${url}/ui/triage?time_range=1h`);
      try {
        const row = page.locator(`[data-group="${group!.fingerprint}"]`);
        await row.waitFor();
        expect(await page.locator('[data-group]').count()).toBe(1);
        const text = (await row.textContent()) ?? '';
        expect(text).toContain('reserve_stock');
        expect(text).toContain('stock service timeout after <n>s for order <n>');
        expect(text).toContain('7');
        await screenshot(page, 'triage');

        await row.getByRole('link').first().click();
        await page.getByRole('button', { name: 'Retry all' }).waitFor();
        await page.getByRole('button', { name: 'Retry all' }).click();
        const dialog = page.getByRole('dialog');
        await dialog.getByLabel(/Reason/).fill('stock service back');
        const before = await dumpRows(database);
        await dialog.getByRole('button', { name: 'Preview (dry run)' }).click();
        const confirm = dialog.getByRole('button', { name: /Confirm: retry 7 tasks/ });
        await confirm.waitFor();
        expect(await dialog.textContent()).toContain('reserve_stock');
        await screenshot(page, 'triage-dry-run');
        expect(await dumpRows(database)).toEqual(before);

        fault.on = false;
        await confirm.click();
        const job = page.locator('[data-bulk-job][data-status="completed"]');
        await job.waitFor({ timeout: 20_000 });
        const jobId = await job.getAttribute('data-bulk-job');
        for (const id of failed)
          expect((await tasker.waitForTask(id, { timeoutMs: 20_000 })).status).toBe('complete');
        await screenshot(page, 'bulk-job');
        const { job: stored } = await tasker.getBulkJob(jobId!);
        expect(stored.counts).toEqual({ pending: 0, done: 7, skipped: 0, failed: 0 });

        await page.goto(`${url}/ui/audit`);
        await page.locator('[data-audit-entry]').first().waitFor();
        const audit = (await page.locator('[data-audit-entry]').allTextContents()).join('\n');
        expect(audit).toContain('bulk.retry');
        expect(audit).toContain('stock service back');
        await screenshot(page, 'audit');

        // A retried task against the last good run: what differed, step by step.
        await page.goto(`${url}/ui/tasks/${failed[0]}`);
        await page.getByRole('button', { name: /Compare with the last successful run/ }).click();
        await page.locator('[data-compare-step="reserve_stock"]').waitFor();
        await screenshot(page, 'compare', true);
        expect(problems).toEqual([]);
      } finally {
        await close();
      }
    },
  );
});
