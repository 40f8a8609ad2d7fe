/**
 * The task list at 100,000 stored tasks in a real browser: the first page, keyset pages forward, a status
 * filter from the URL, a correlation-id search, a task id search and a detail page all work at that size.
 * (How fast: npm run bench:console, which prints first-paint figures; a test only says whether it works.)
 */
import { describe, expect, it } from 'vitest';
import { serve } from '../../src/api/server.js';
import type { StepHandlerContext } from '../../src/index.js';
import {
  browserSuiteEnabled,
  sharedBrowser,
  openConsole,
  screenshot,
  waitUntil,
} from '../support/browser.js';
import { onCleanup, startEngine } from '../support/harness.js';

const enabled = browserSuiteEnabled();
const TASKS = 100_000;

const ONE = `
namespace: bulk
name: job
version: 1.0.0
steps:
  - { name: work, handler: work, retry: { max_attempts: 1 } }
`;

describe.skipIf(!enabled)('console at 100,000 tasks', () => {
  const browser = sharedBrowser();

  it('lists, pages, filters and searches 100,000 stored tasks', { timeout: 240_000 }, async () => {
    const { tasker } = await startEngine(
      ONE,
      {
        work: ({ task }: StepHandlerContext) => {
          if (task.context.fail) throw new Error(`job ${String(task.context.n)} failed`);
          return {};
        },
      },
      { concurrency: 256, sqliteSynchronous: 'normal', start: false },
    );
    const t0 = Date.now();
    for (let i = 0; i < TASKS; i += 1000) {
      await tasker.createTasks(
        Array.from({ length: 1000 }, (_, k) => ({
          namespace: 'bulk',
          name: 'job',
          correlationId: `job-${i + k}`,
          context: { n: i + k, fail: (i + k) % 50 === 7 },
        })),
      );
    }
    // Run most of them, so the list holds completed, failed and pending tasks.
    tasker.start();
    for (;;) {
      if ((await tasker.countTasks({ status: ['pending'] })) < 5000) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    await tasker.stop();
    console.log(`seeded and ran ${TASKS} tasks in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect(await tasker.countTasks()).toBe(TASKS);
    const { app, url } = await serve(tasker, { port: 0, processMetrics: false });
    onCleanup(() => app.close());

    const { page, problems, close } = await openConsole(browser(), `${url}/ui/tasks`);
    try {
      const rows = page.locator('[data-task-id]');
      await rows.first().waitFor();
      expect(await rows.count()).toBe(50);
      const first = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-task-id')));
      await screenshot(page, 'task-list-100k');
      // Keyset pages forward: a different, older page, kept in the URL.
      await page
        .getByRole('button', { name: /next/i })
        .or(page.getByRole('link', { name: /next/i }))
        .first()
        .click();
      await page.waitForURL(/cursor=/);
      await waitUntil(
        async () => (await rows.first().getAttribute('data-task-id')) !== first[0],
        10_000,
        'page 2',
      );
      const second = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-task-id')));
      expect(second).toHaveLength(50);
      expect(second.some((id) => first.includes(id))).toBe(false);
      expect(second[0]! < first[49]!).toBe(true);

      // A shared link with a status filter.
      await page.goto(`${url}/ui/tasks?status=failed`);
      await rows.first().waitFor();
      const failedIds = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-task-id')));
      expect(failedIds).toHaveLength(50);
      for (const id of failedIds.slice(0, 5))
        expect((await tasker.getTask(id ?? '')).task.status).toBe('error');

      // Search by correlation id (within the status filter: job 4207 failed), then by task id (opens it).
      const search = page.getByRole('search').getByRole('textbox');
      await search.fill('job-4207');
      await search.press('Enter');
      await page.waitForURL(/correlation_id=job-4207/);
      await waitUntil(async () => (await rows.count()) === 1, 10_000, 'one search result');
      const target = await rows.first().getAttribute('data-task-id');
      await search.fill(target ?? '');
      await search.press('Enter');
      await page.waitForURL(new RegExp(`/ui/tasks/${target}`));
      await page.locator('[data-step="work"][data-status]').first().waitFor();
      expect(problems).toEqual([]);
    } finally {
      await close();
    }
  });
});
