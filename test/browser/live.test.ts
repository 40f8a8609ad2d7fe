/**
 * Live updates in a real browser, without reloads: the list gains rows and their status changes, an open
 * task detail follows its steps, whichever process committed the change. The server here runs no worker:
 * every change comes from another process (PostgreSQL: LISTEN/NOTIFY names the tasks; SQLite: the file's
 * data_version says "resync"). A task created by this process appears through the local change feed.
 */
import { describe, expect, it } from 'vitest';
import { serve } from '../../src/api/server.js';
import { createTasker } from '../../src/index.js';
import { browserSuiteEnabled, sharedBrowser, openConsole } from '../support/browser.js';
import { onCleanup, storeKind, templatesFromYaml, testDatabase } from '../support/harness.js';
import { REMOTE_TEMPLATE, runRemote } from '../support/remote.js';

const enabled = browserSuiteEnabled();

describe.skipIf(!enabled)(`console live updates in a browser (${storeKind()})`, () => {
  const browser = sharedBrowser();

  it(
    'the list and an open detail follow changes made by a worker in another process',
    { timeout: 60_000 },
    async () => {
      const database = testDatabase();
      const tasker = await createTasker({
        database,
        templates: templatesFromYaml(REMOTE_TEMPLATE),
        logger: false,
        migrate: true,
      });
      onCleanup(() => tasker.close());
      const { app, url } = await serve(tasker, { port: 0, processMetrics: false });
      onCleanup(() => app.close());

      // Created here, run by no one yet: its page shows it pending, waiting for a worker.
      const { task: local } = await tasker.createTask({ namespace: 'live', name: 'remote' });
      const detail = await openConsole(browser(), `${url}/ui/tasks/${local.id}`);
      const list = await openConsole(browser(), `${url}/ui/tasks`);
      try {
        await detail.page.locator('[data-step="a"][data-reason="no_worker_for_handler"]').waitFor();
        await list.page.locator(`[data-task-id="${local.id}"]`).waitFor();
        await list.page.locator('[data-live="connected"]').waitFor();
        await detail.page.locator('[data-live="connected"]').waitFor();

        // Another process creates a task and runs everything to the end: both pages follow.
        const remote = await runRemote(database, 'create');
        const row = list.page.locator(`[data-task-id="${remote.id}"]`);
        await row.waitFor({ timeout: 5000 });
        await list.page
          .locator(`[data-task-id="${remote.id}"]`)
          .filter({ hasText: 'completed' })
          .waitFor({ timeout: 5000 });
        // The other process's worker also ran the task this process created: its open page shows it.
        await runRemote(database, 'work');
        await detail.page
          .locator('[data-step="b"][data-status="completed"]')
          .first()
          .waitFor({ timeout: 5000 });
        await list.page.locator(`[data-task-id="${local.id}"]`).filter({ hasText: 'completed' }).waitFor({
          timeout: 5000,
        });
        // The workers page knows the other process, now stopped.
        await list.page.goto(`${url}/ui/workers`);
        await list.page.getByText('stopped').first().waitFor();

        // A task created by this process reaches the list through the local feed.
        await list.page.goto(`${url}/ui/tasks`);
        await list.page.locator('[data-live="connected"]').waitFor();
        const { task: mine } = await tasker.createTask({ namespace: 'live', name: 'remote' });
        await list.page.locator(`[data-task-id="${mine.id}"]`).waitFor({ timeout: 5000 });
        expect(detail.problems).toEqual([]);
        expect(list.problems).toEqual([]);
      } finally {
        await detail.close();
        await list.close();
      }
    },
  );
});
