/**
 * The console's other views and actions in a real browser: a 200-step DAG, Cancel and Resolve (with the
 * JSON editor refusing invalid results), and the Bottlenecks, Business impact, Templates and Workers
 * pages with real data. Screenshots of each go to the docs.
 */
import { describe, expect, it } from 'vitest';
import { handlers as checkout } from '../../examples/checkout/handlers.js';
import { makeOrder, seededRandom } from '../../examples/checkout/orders.js';
import { serve } from '../../src/api/server.js';
import type { HandlerMap, Tasker } from '../../src/index.js';
import { browserSuiteEnabled, sharedBrowser, openConsole, screenshot } from '../support/browser.js';
import { checkoutYaml } from '../support/checkout.js';
import { onCleanup, startEngine } from '../support/harness.js';

const enabled = browserSuiteEnabled();

/** 20 layers of 10 steps; each step depends on two steps of the layer before. */
function wideDag(): string {
  const lines = ['namespace: big', 'name: dag200', 'version: 1.0.0', 'steps:'];
  for (let layer = 0; layer < 20; layer++) {
    for (let i = 0; i < 10; i++) {
      const deps =
        layer === 0
          ? []
          : [`s${layer - 1}_${i}`, `s${layer - 1}_${(i + 3) % 10}`].filter((d, k, a) => a.indexOf(d) === k);
      lines.push(`  - { name: s${layer}_${i}, handler: noop, depends_on: [${deps.join(', ')}] }`);
    }
  }
  return lines.join('\n');
}

const APPROVAL = `
namespace: ops
name: approval
version: 1.0.0
steps:
  - { name: request, handler: noop }
  - { name: approve, handler: manual, depends_on: [request], retry: { max_attempts: 1 } }
  - { name: notify, handler: noop, depends_on: [approve] }
`;

describe.skipIf(!enabled)('console views in a browser', () => {
  const browser = sharedBrowser();

  async function engine(yaml: string[], handlers: HandlerMap): Promise<{ tasker: Tasker; url: string }> {
    const { tasker } = await startEngine(yaml, handlers, { concurrency: 16 });
    const { app, url } = await serve(tasker, { port: 0, processMetrics: false });
    onCleanup(() => app.close());
    return { tasker, url };
  }

  it(
    'renders a 200-step DAG with every node, its status and the critical path',
    { timeout: 60_000 },
    async () => {
      const { tasker, url } = await engine([wideDag()], { noop: () => ({}) });
      const { task } = await tasker.createTask({ namespace: 'big', name: 'dag200' });
      await tasker.waitForTask(task.id, { timeoutMs: 30_000 });
      const { page, problems, close } = await openConsole(browser(), `${url}/ui/tasks/${task.id}`);
      try {
        // How fast: npm run bench:console (from navigation start, medians). Here: that all of it is drawn.
        await page.locator('[data-step="s19_9"][data-status="completed"]').first().waitFor();
        const names = new Set(
          await page.$$eval('.react-flow__node [data-step][data-status]', (els) =>
            els.map((e) => `${e.getAttribute('data-step')}:${e.getAttribute('data-status')}`),
          ),
        );
        expect(names.size).toBe(200);
        expect([...names].every((n) => n.endsWith(':completed'))).toBe(true);
        expect(await page.locator('[data-critical="true"]').count()).toBeGreaterThanOrEqual(20);
        await screenshot(page, 'dag-200');
        expect(problems).toEqual([]);
      } finally {
        await close();
      }
    },
  );

  it('Cancel asks first; Resolve refuses invalid JSON, then resolves and the dependants run', async () => {
    const { tasker, url } = await engine([APPROVAL], {
      noop: () => ({}),
      manual: () => {
        throw new Error('approval service unreachable');
      },
    });
    const { task: failing } = await tasker.createTask({ namespace: 'ops', name: 'approval' });
    await tasker.waitForTask(failing.id);
    const { page, problems, close } = await openConsole(browser(), `${url}/ui/tasks/${failing.id}`);
    try {
      await page.locator('[data-step="approve"][data-status="failed"]').first().waitFor();
      // Cancel, then think better of it: nothing changes.
      await page.getByRole('button', { name: 'Cancel', exact: true }).click();
      const dialog = page.getByRole('dialog');
      await dialog.waitFor();
      await dialog.press('Escape');
      await dialog.waitFor({ state: 'hidden' });
      expect((await tasker.getTask(failing.id)).task.status).toBe('error');

      // Resolve approve by hand: invalid JSON keeps the confirm button disabled and says why.
      await page.getByRole('button', { name: 'Resolve', exact: true }).first().click();
      const editor = page.getByRole('dialog').locator('textarea');
      await editor.fill('{"approved": tru');
      const confirm = page.getByRole('dialog').getByRole('button', { name: 'Confirm' });
      expect(await confirm.isDisabled()).toBe(true);
      expect(await page.getByRole('dialog').textContent()).toMatch(/JSON|position|Unexpected/i);
      await screenshot(page, 'resolve-invalid-json');
      await editor.fill('{"approved": true, "by": "on-call"}');
      expect(await confirm.isDisabled()).toBe(false);
      await confirm.click();
      await page.locator('[data-step="approve"][data-status="resolved_manually"]').first().waitFor();
      await page.locator('[data-step="notify"][data-status="completed"]').first().waitFor();
      await page
        .getByRole('status')
        .filter({ hasText: /resolved/i })
        .waitFor();
      const d = await tasker.getTask(failing.id);
      expect(d.task.status).toBe('complete');
      expect(d.steps.find((s) => s.name === 'approve')?.results).toEqual({ approved: true, by: 'on-call' });
      expect(problems).toEqual([]);
    } finally {
      await close();
    }
    // Cancel another failed approval, with a reason that lands in the audit trail.
    const { task: second } = await tasker.createTask({ namespace: 'ops', name: 'approval' });
    const id = second.id;
    await tasker.waitForTask(id);
    const c = await openConsole(browser(), `${url}/ui/tasks/${id}`);
    try {
      await c.page.getByRole('button', { name: 'Cancel', exact: true }).click();
      await c.page.getByRole('dialog').locator('input, textarea').first().fill('duplicate order');
      await c.page.getByRole('dialog').getByRole('button', { name: 'Confirm' }).click();
      await c.page
        .getByRole('status')
        .filter({ hasText: /cancelled/i })
        .waitFor();
      expect((await tasker.getTask(id)).task.status).toBe('cancelled');
      const trail = await tasker.getTransitions(id);
      expect(trail.at(-1)).toMatchObject({ toState: 'cancelled', reason: 'duplicate order' });
      expect(c.problems).toEqual([]);
    } finally {
      await c.close();
    }
  });

  it(
    'Bottlenecks, Business impact, Templates and Workers show real figures',
    { timeout: 60_000 },
    async () => {
      const { tasker, url } = await engine([checkoutYaml(0.2)], checkout);
      const random = seededRandom(11);
      const made = await tasker.createTasks(
        Array.from({ length: 30 }, (_, i) => ({
          namespace: 'ecommerce',
          name: 'process_order',
          context: makeOrder(i + 1, random) as unknown as Record<string, unknown>,
        })),
      );
      // Two empty carts fail for good: business impact has something to weigh.
      const empty = await tasker.createTasks(
        [1, 2].map((n) => ({
          namespace: 'ecommerce',
          name: 'process_order',
          context: { ...makeOrder(100 + n, random), order_value: 80 * n, cart_items: [] },
        })),
      );
      for (const t of [...made, ...empty]) await tasker.waitForTask(t.task.id, { timeoutMs: 20_000 });
      const pages: Array<[string, string, RegExp]> = [
        ['bottlenecks?time_range=1h', 'bottlenecks', /process_payment/],
        ['impact?time_range=1h', 'business-impact', /240/],
        ['templates', 'templates', /update_inventory/],
        ['workers', 'workers', new RegExp(`\\b${process.pid}\\b`)],
      ];
      for (const [path, name, expected] of pages) {
        const { page, problems, close } = await openConsole(browser(), `${url}/ui/${path}`);
        try {
          await page.getByText(expected).filter({ visible: true }).first().waitFor();
          await page.waitForTimeout(300);
          await screenshot(page, name, true);
          if (name === 'templates') {
            // The handler of every step is loaded by the live worker, and the DAG is drawn.
            expect(await page.locator('[data-step="update_inventory"]').count()).toBeGreaterThan(0);
            expect(await page.locator('body').textContent()).not.toMatch(/no live worker/i);
          }
          expect(problems, name).toEqual([]);
        } finally {
          await close();
        }
      }
    },
  );
});
