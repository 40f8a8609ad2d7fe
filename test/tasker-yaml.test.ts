/**
 * Tasker's own YAML as it ships: templates shaped like the five of Tasker's blog series load unchanged,
 * each Tasker key this engine ignores is reported as a warning naming it (never refused), and post 05's
 * top-level handler_config becomes the task's SLA and criticality, seen in the metrics.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments } from 'yaml';
import { TEMPLATE_KEYS } from '../src/core/template-parse.js';
import { loadTemplateSource, loadTemplatesFrom } from '../src/templates/load.js';
import { PermanentError, type HandlerMap } from '../src/index.js';
import { buildServer } from '../src/api/server.js';
import { nextEvent, onCleanup, signal, sleep, startEngine } from './support/harness.js';
import { family } from './support/logs.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BLOG = path.join(ROOT, 'test/fixtures/templates/tasker-blog');
const POST_05 = path.join(BLOG, 'post_05_monitored_checkout.yaml');
const IGNORED = new Set([
  ...Object.keys(TEMPLATE_KEYS.template.ignored),
  ...Object.keys(TEMPLATE_KEYS.step.ignored),
]);

/** Every key at the top level and in each step, with the line it is on (from the YAML tree). */
async function keysOf(file: string): Promise<Array<{ path: string; key: string; line: number }>> {
  const lines = new LineCounter();
  const [doc] = parseAllDocuments(await readFile(file, 'utf8'), { lineCounter: lines });
  const out: Array<{ path: string; key: string; line: number }> = [];
  const pairs = (node: unknown, prefix: string) => {
    if (!isMap(node)) return;
    for (const p of node.items) {
      const key = isScalar(p.key) ? String(p.key.value) : '';
      const line = lines.linePos((p.key as { range?: [number] }).range?.[0] ?? 0).line;
      out.push({ path: `${prefix}${key}`, key, line });
      if (key === 'step_templates' && isSeq(p.value))
        p.value.items.forEach((step, i) => pairs(step, `step_templates[${i}].`));
    }
  };
  pairs(doc?.contents, '');
  return out.sort((a, b) => a.line - b.line);
}

describe("Tasker's blog-series templates", () => {
  it('all five load without a problem, with one warning for each ignored Tasker key, at its line', async () => {
    const { templates, issues, warnings, files } = await loadTemplatesFrom(BLOG);
    expect(issues).toEqual([]);
    expect(files).toHaveLength(5);
    expect(templates.map((t) => `${t.namespace}/${t.name}`).sort()).toEqual([
      'blog_examples/customer_analytics',
      'blog_examples/monitored_checkout',
      'blog_examples/user_registration',
      'ecommerce/process_order',
      'payments/process_refund',
    ]);
    for (const file of files) {
      const expected = (await keysOf(file))
        .filter((k) => IGNORED.has(k.key))
        .map((k) => `${k.line} ${k.path}`);
      const got = warnings.filter((w) => w.file === file).map((w) => `${w.line} ${w.path}`);
      expect(got, file).toEqual(expected);
    }
    expect(warnings.length).toBeGreaterThanOrEqual(10);
    // The editor schema shipped with the package accepts them as well.
    const schema = JSON.parse(await readFile(path.join(ROOT, 'schema/task-template.schema.json'), 'utf8'));
    const validate = new Ajv({ allErrors: true, strict: false }).compile(schema as object);
    for (const file of files) {
      for (const doc of parseAllDocuments(await readFile(file, 'utf8')))
        expect(validate(doc.toJS()) ? [] : validate.errors, file).toEqual([]);
    }
    for (const w of warnings) expect(w.message).toMatch(/^Tasker key accepted and ignored: \S/);
  });

  it("post 05: the top-level handler_config is the task's SLA, criticality and business metrics", async () => {
    const { templates, issues } = await loadTemplatesFrom(POST_05);
    expect(issues).toEqual([]);
    const [t] = templates;
    expect(t).toMatchObject({
      slaSeconds: 45,
      critical: true,
      alertOnFailure: true,
      businessMetrics: { track_revenue: true, track_conversion: true, customer_tier_tracking: true },
      handlerConfig: { monitoring: { sla_seconds: 45, critical_workflow: true, alert_on_failure: true } },
    });
    // A step's handler_config.timeout_seconds is its timeout, as Tasker's files mean it.
    expect(t?.steps.map((s) => [s.name, s.timeoutSeconds])).toEqual([
      ['validate_cart', 10],
      ['process_payment', 30],
      ['update_inventory', 15],
      ['create_order', 10],
      ['send_confirmation', 20],
    ]);
  });
});

const BASE = `
namespace: shop
name: watched
version: 1.0.0
steps:
  - name: only
    handler: only
`;

describe('task monitoring settings', () => {
  it('reads our own sla_seconds and critical, and rejects values that cannot be one', () => {
    const ours = loadTemplateSource(`${BASE}sla_seconds: 30\ncritical: true\n`, 'ours.yaml');
    expect(ours.issues).toEqual([]);
    expect(ours.templates[0]).toMatchObject({ slaSeconds: 30, critical: true });

    const bad = loadTemplateSource(
      `${BASE}handler_config:\n  monitoring:\n    sla_seconds: fast\n    critical_workflow: 'yes'\n    alert_on_failure: 1\n  business_metrics: [revenue]\n`,
      'bad.yaml',
    );
    expect(bad.templates).toEqual([]);
    expect(bad.issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`)).toEqual([
      '10:18 handler_config.monitoring.sla_seconds: expected a number > 0 and at most 2073600 (24 days), got "fast"',
      '11:24 handler_config.monitoring.critical_workflow: expected true or false, got "yes"',
      '12:23 handler_config.monitoring.alert_on_failure: expected true or false, got 1',
      '13:21 handler_config.business_metrics: expected a map, got a list',
    ]);
  });

  it('refuses an SLA said twice with two values, naming both places', () => {
    const twice = loadTemplateSource(
      `${BASE}sla_seconds: 30\nhandler_config: { monitoring: { sla_seconds: 45 } }\n`,
      'twice.yaml',
    );
    expect(twice.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'handler_config.monitoring.sla_seconds: conflicts with `sla_seconds` (45 vs 30); set only one of the two',
    ]);
    const agree = loadTemplateSource(
      `${BASE}sla_seconds: 45\nhandler_config: { monitoring: { sla_seconds: 45 } }\n`,
      'agree.yaml',
    );
    expect(agree.issues).toEqual([]);
  });

  it("keeps a step's handler_config.timeout_seconds that is no timeout for the handler, with a warning", () => {
    const r = loadTemplateSource(
      `${BASE}    handler_config: { timeout_seconds: 10s }\n  - name: other\n    handler: only\n    timeout_seconds: 5\n    handler_config: { timeout_seconds: 60 }\n`,
      'timeouts.yaml',
    );
    expect(r.issues).toEqual([]);
    const [only, other] = r.templates[0]?.steps ?? [];
    expect(only?.timeoutSeconds).toBeUndefined();
    expect(only?.handlerConfig).toEqual({ timeout_seconds: '10s' });
    // Our own key wins: the handler may use its config value for something tighter.
    expect(other?.timeoutSeconds).toBe(5);
    expect(r.warnings.map((w) => `${w.path}: ${w.message}`)).toEqual([
      'steps[0].handler_config.timeout_seconds: not used as the step\'s timeout (expected a number > 0 and at most 2073600 (24 days), got "10s"); passed to the handler as is',
    ]);
  });
});

/** TypeScript handlers for post 05, registered under the handler_class names the file gives. */
function checkoutHandlers(delayMs: number): HandlerMap {
  const step = (result: Record<string, unknown>) => async () => {
    await sleep(delayMs);
    return result;
  };
  return {
    'Shop::Monitored::ValidateCart': step({ total: 120 }),
    'Shop::Monitored::ProcessPayment': step({ payment_id: 'pay_1' }),
    'Shop::Monitored::UpdateInventory': step({ reserved: true }),
    'Shop::Monitored::CreateOrder': step({ order_id: 'ord_1' }),
    'Shop::Monitored::SendConfirmation': step({ sent: true }),
  };
}

describe("post 05's monitored checkout, run with TypeScript handlers", () => {
  it('completes; its SLA is a gauge and its task and step series carry critical="true"', async () => {
    const yaml = await readFile(POST_05, 'utf8');
    const { tasker } = await startEngine(yaml, checkoutHandlers(0));
    tasker.enableMetrics();
    const made = await tasker.createTask({ namespace: 'blog_examples', name: 'monitored_checkout' });
    expect((await tasker.waitForTask(made.task.id, { timeoutMs: 10_000 })).status).toBe('complete');
    await tasker.events.drain();
    const text = await tasker.metrics.metrics();
    expect(family(text, 'tasker_task_sla_seconds')).toEqual(
      new Map([['{namespace="blog_examples",name="monitored_checkout"}', 45]]),
    );
    const tasks = family(text, 'tasker_tasks_total');
    expect(
      tasks.get(
        '{namespace="blog_examples",name="monitored_checkout",version="1.0.0",status="completed",critical="true"}',
      ),
    ).toBe(1);
    expect([...tasks.keys()].every((k) => k.includes('critical="true"'))).toBe(true);
    expect(
      family(text, 'tasker_steps_total').get(
        '{namespace="blog_examples",name="monitored_checkout",step="update_inventory",status="completed",critical="true"}',
      ),
    ).toBe(1);
    // Finished well inside 45 s: no breach, but the series exists at 0 for increase().
    expect(family(text, 'tasker_task_sla_breaches_total')).toEqual(
      new Map([['{namespace="blog_examples",name="monitored_checkout",critical="true"}', 0]]),
    );
  });

  it('counts a task that finished later than its SLA; a template without one gets no SLA series', async () => {
    const fast = (await readFile(POST_05, 'utf8')).replace('sla_seconds: 45', 'sla_seconds: 0.05');
    const { tasker } = await startEngine([fast, BASE], { ...checkoutHandlers(20), only: () => ({}) });
    tasker.enableMetrics();
    const slow = await tasker.createTask({ namespace: 'blog_examples', name: 'monitored_checkout' });
    const plain = await tasker.createTask({ namespace: 'shop', name: 'watched' });
    for (const t of [slow, plain]) await tasker.waitForTask(t.task.id, { timeoutMs: 10_000 });
    await tasker.events.drain();
    const text = await tasker.metrics.metrics();
    // Five steps of at least 20 ms each: past 50 ms after creation, whatever the machine's speed.
    expect(family(text, 'tasker_task_sla_breaches_total')).toEqual(
      new Map([['{namespace="blog_examples",name="monitored_checkout",critical="true"}', 1]]),
    );
    expect([...family(text, 'tasker_task_sla_seconds').keys()]).toEqual([
      '{namespace="blog_examples",name="monitored_checkout"}',
    ]);
    expect(
      family(text, 'tasker_tasks_total').get(
        '{namespace="shop",name="watched",version="1.0.0",status="completed"}',
      ),
    ).toBe(1);
  });
});

describe("post 05's SLA and monitoring in the HTTP API", () => {
  it('the task detail says where a task stands against its SLA; /handlers shows the monitoring', async () => {
    const yaml = (await readFile(POST_05, 'utf8')).replace('sla_seconds: 45', 'sla_seconds: 0.05');
    const release = signal();
    const handlers = checkoutHandlers(0);
    const { tasker } = await startEngine([yaml, BASE], {
      ...handlers,
      'Shop::Monitored::ProcessPayment': async () => {
        await release.promise;
        return {};
      },
      only: () => ({}),
    });
    onCleanup(() => release.fire());
    const app = await buildServer(tasker, { processMetrics: false });
    onCleanup(() => app.close());
    const get = async (url: string) => (await app.inject({ url })).json<Record<string, unknown>>();

    const paying = nextEvent(tasker, 'step.started', (e) => e.payload.step_name === 'process_payment');
    const slow = await tasker.createTask({ namespace: 'blog_examples', name: 'monitored_checkout' });
    const plain = await tasker.createTask({ namespace: 'shop', name: 'watched' });
    await paying;
    await sleep(60); // past the 50 ms SLA while the payment still hangs
    const running = await get(`/tasker/tasks/${slow.task.id}`);
    expect(running.status).toBe('in_progress');
    expect(running.sla).toMatchObject({ sla_seconds: 0.05, over_sla: true });
    expect((running.sla as { elapsed_seconds: number }).elapsed_seconds).toBeGreaterThan(0.05);

    release.fire();
    await tasker.waitForTask(slow.task.id, { timeoutMs: 10_000 });
    await tasker.waitForTask(plain.task.id, { timeoutMs: 10_000 });
    const done = await get(`/tasker/tasks/${slow.task.id}`);
    expect(done.status).toBe('completed');
    expect(done.sla).toMatchObject({ sla_seconds: 0.05, over_sla: true });
    // No SLA on the template: nothing to say.
    expect((await get(`/tasker/tasks/${plain.task.id}`)).sla).toBeNull();

    const listing = (await get('/tasker/handlers')).templates as Array<Record<string, unknown>>;
    expect(listing.find((t) => t.name === 'monitored_checkout')).toMatchObject({
      sla_seconds: 0.05,
      critical: true,
      alert_on_failure: true,
      business_metrics: { track_revenue: true, track_conversion: true, customer_tier_tracking: true },
    });
    expect(listing.find((t) => t.name === 'watched')).toMatchObject({
      sla_seconds: null,
      critical: false,
      alert_on_failure: null,
      business_metrics: null,
    });
  });
});

describe("post 05's SLA and criticality in triage", () => {
  it('a failure group names its critical workflow and SLA, and which of its tasks went over it', async () => {
    const yaml = (await readFile(POST_05, 'utf8')).replace('sla_seconds: 45', 'sla_seconds: 0.5');
    const { tasker } = await startEngine(yaml, {
      ...checkoutHandlers(0),
      'Shop::Monitored::ProcessPayment': async ({ task }) => {
        // One payment declines at once (inside the SLA), one only after the SLA has passed.
        if (task.context.slow) await sleep(600);
        throw new PermanentError(`card declined for order ${String(task.context.order)}`);
      },
    });
    const app = await buildServer(tasker, { processMetrics: false });
    onCleanup(() => app.close());
    const get = async (url: string) => (await app.inject({ url })).json<Record<string, unknown>>();
    const made = await tasker.createTasks([
      { namespace: 'blog_examples', name: 'monitored_checkout', context: { order: 1 } },
      { namespace: 'blog_examples', name: 'monitored_checkout', context: { order: 2, slow: true } },
    ]);
    for (const m of made) await tasker.waitForTask(m.task.id, { timeoutMs: 10_000 });

    const { groups } = (await get('/tasker/analytics/failure-groups?time_range=1h')) as {
      groups: Array<Record<string, unknown>>;
    };
    expect(groups).toHaveLength(1);
    expect(groups[0]).toMatchObject({ step: 'process_payment', tasks: 2, critical: true, sla_seconds: 0.5 });
    const detail = (await get(
      `/tasker/analytics/failure-groups/${String(groups[0]?.fingerprint)}?time_range=1h`,
    )) as {
      group: Record<string, unknown>;
      tasks: Array<{ id: string; over_sla: boolean | null }>;
    };
    expect(detail.group).toMatchObject({ critical: true, sla_seconds: 0.5, tasks_over_sla: 1 });
    const over = new Map(detail.tasks.map((t) => [t.id, t.over_sla]));
    expect(over.get(made[1]?.task.id ?? '')).toBe(true);
    expect(over.get(made[0]?.task.id ?? '')).toBe(false);
  });
});
