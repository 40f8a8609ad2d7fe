/**
 * The acceptance path: `npm start` prints the console's URL first; opened in Chromium it shows the
 * overview, and the checkout demo's tasks reach the list within 30 s, live.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageInfo } from '../../src/package-root.js';
import { browserSuiteEnabled, sharedBrowser, openConsole, waitUntil } from '../support/browser.js';
import { onCleanup, tempDir } from '../support/harness.js';

const enabled = browserSuiteEnabled();

describe.skipIf(!enabled)('npm start', () => {
  const browser = sharedBrowser();

  it(
    'prints the console URL first; the overview opens and demo tasks appear in the list within 30 s',
    { timeout: 60_000 },
    async () => {
      const db = join(tempDir(), 'tasker.db');
      const child = spawn('npm', ['start', '--silent', '--', '--port', '0', '--db', `sqlite:${db}`], {
        cwd: packageInfo().root,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, TASKER_LOG_LEVEL: 'warn' },
        detached: true,
      });
      const exited = new Promise<void>((r) => child.on('exit', () => r()));
      onCleanup(async () => {
        // npm runs node in a child of its own: stop the whole group.
        if (child.pid) process.kill(-child.pid, 'SIGINT');
        await exited;
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.resume();
      const deadline = Date.now() + 20_000;
      while (!out.includes('\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const first = out.split('\n')[0] ?? '';
      const m = /^Tasker console: (http:\/\/127\.0\.0\.1:\d+\/tasker\/ui\/)$/.exec(first);
      expect(m, `first line: ${first}`).not.toBeNull();
      const url = m![1]!;

      const { page, problems, close } = await openConsole(browser(), url);
      try {
        await page.getByRole('heading', { name: 'Overview' }).waitFor();
        await page.getByRole('link', { name: 'Tasks', exact: true }).click();
        const t0 = Date.now();
        await page.locator('[data-task-id]').first().waitFor({ timeout: 30_000 });
        // Rows keep arriving without a reload: the demo creates 5 orders a second.
        const before = await page.locator('[data-task-id]').count();
        await waitUntil(
          async () => (await page.locator('[data-task-id]').count()) > before,
          10_000,
          'more rows',
        );
        console.log(`npm start: demo tasks in the list ${Date.now() - t0} ms after opening it`);
        expect(problems).toEqual([]);
      } finally {
        await close();
      }
    },
  );
});
