/**
 * The seed's 2:17 AM incident, replayed: the checkout demo serves its API, a real Prometheus scrapes it
 * every second with the shipped alert rules (time-scaled from the same file) and forwards to a real
 * Alertmanager whose webhook lands here; normal traffic runs, then `update_inventory` hangs past its
 * timeout for a share of orders. The replay records what an on-call engineer sees: the alerts, the failed
 * tasks, one task's dependency analysis, the business impact and the trace of a failed order.
 * `npm run incident` narrates it; test/incident.test.ts asserts it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { clearFaults, handlers, injectHang } from '../examples/checkout/handlers.js';
import { makeOrder, seededRandom } from '../examples/checkout/orders.js';
import { serve } from '../src/api/server.js';
import { packageInfo } from '../src/package-root.js';
import { createTasker, type Tasker } from '../src/index.js';
import { setupTracing, type TracingSetup } from '../src/telemetry/sdk.js';
import { RULES_FILE, scaleRuleDurations } from './rules.js';
import { havePrometheus, startStack, type ReceivedAlert, type Stack } from './stack.js';

export interface ReplayOptions {
  /** Orders per second. @default 20 */
  rate?: number;
  /** Seconds of normal traffic before the fault. @default 20 */
  calmSeconds?: number;
  /** Share of orders whose update_inventory hangs. @default 0.3 */
  faultShare?: number;
  /** Alerts to wait for after the fault (they end the fault phase). */
  waitForAlerts?: string[];
  /** Give up waiting for the alerts after this long. @default 120 */
  alertTimeoutSeconds?: number;
  /** Rule windows are written for a 15 s scrape; the replay scrapes every second. @default 1/15 */
  ruleScale?: number;
  /** Use Prometheus/Alertmanager when installed. @default true */
  prometheus?: boolean;
  /** Narration. */
  say?: (line: string) => void;
  /** Hook run once the stack and traffic are up, before the fault (tests register subscribers here). */
  beforeFault?: (tasker: Tasker) => void;
  /** Seed of the order stream (which orders are premium, which carts are empty). @default 20261126 */
  seed?: number;
}

export interface ReplayResult {
  url: string;
  faultAt: number;
  /** Alerts delivered to the webhook (or, without Alertmanager, first seen firing in Prometheus). */
  alerts: ReceivedAlert[];
  /** Seconds from the fault to each wanted alert's first delivery. */
  secondsToAlert: Record<string, number>;
  failedList: { status: number; body: unknown };
  detail: { status: number; body: Record<string, unknown> } | null;
  businessImpact: { status: number; body: Record<string, unknown> };
  /**
   * Sum of order_value over the failed tasks, from the orders the replay itself generated (the ground
   * truth revenue at risk must equal).
   */
  failedOrderValue: number;
  failedTasks: number;
  /** The failed tasks with a timed-out update_inventory attempt, and their order value (ground truth). */
  inventoryTimeouts: { tasks: number; value: number };
  /** Newest failed task ids in the store (what the failed list's first page must show). */
  failedIds: string[];
  /** sum(tasker_business_value_total{status="failed"}) as Prometheus has it at the end, if it runs. */
  prometheusFailedValue: number | null;
  traceTree: string[];
  /** The triage that ends the replay: groups, the dry run, the bulk retry after the fault is cleared, the audit. */
  triage: {
    groups: Record<string, unknown>;
    dryRun: Record<string, unknown>;
    job: Record<string, unknown>;
    jobTasks: Array<{ task_id: string; status: string }>;
    /** The group's tasks' statuses once the job is done and the workers have run them. */
    finalStatuses: Record<string, number>;
    audit: Record<string, unknown>;
  };
  stack: Stack | null;
  tasker: Tasker;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function spanTree(spans: ReadableSpan[], traceId: string): string[] {
  const mine = spans
    .filter((s) => s.spanContext().traceId === traceId)
    .sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
  const root = mine.find((s) => s.name.startsWith('task ') && !s.name.endsWith('resumed'));
  if (!root) return [];
  const ms = (t: [number, number]) => t[0] * 1000 + t[1] / 1e6;
  const t0 = ms(root.startTime);
  const line = (s: ReadableSpan, indent: string) => {
    const err = s.attributes['error.type'];
    const attempt = s.attributes['tasker.step.attempt'];
    return `${indent}${s.name}${attempt !== undefined ? ` (attempt ${String(attempt)})` : ''}  +${Math.round(ms(s.startTime) - t0)} ms, ${Math.round(ms(s.endTime) - ms(s.startTime))} ms${s.status.code === SpanStatusCode.ERROR ? `, ERROR${err !== undefined ? ` ${String(err)}` : ''}` : ''}`;
  };
  const rootId = root.spanContext().spanId;
  return [
    line(root, ''),
    ...mine.filter((s) => s !== root && s.parentSpanContext?.spanId === rootId).map((s) => line(s, '  ')),
  ];
}

/**
 * The on-call engineer's next five minutes: the failure groups, a dry run of retrying the top one, the
 * fault cleared, the bulk retry, every task of the group completed, and the audit entry saying who did it.
 */
async function triageAndFix(
  url: string,
  t: Tasker,
  say: (line: string) => void,
): Promise<ReplayResult['triage']> {
  const call = async (path: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (res.status >= 400) throw new Error(`replay: ${path} answered ${res.status}: ${JSON.stringify(json)}`);
    return json;
  };
  say('Triage: which failures share a cause, and which cause costs the most?');
  const groups = await call('/analytics/failure-groups?time_range=1h&namespace=ecommerce');
  const top = ((groups.groups ?? []) as Array<{ fingerprint: string }>)[0];
  if (!top) throw new Error('replay: no failure group');
  const bulk = {
    action: 'retry',
    filter: { failure_group: top.fingerprint, time_range: '1h' },
    reason: 'inventory service fixed (replay)',
  };
  const dryRun = await call('/bulk-actions', { ...bulk, dry_run: true });
  say('The inventory service is fixed: clearing the fault, then retrying the whole group in one job.');
  clearFaults();
  const started = await call('/bulk-actions', { ...bulk, rate_per_second: 200 });
  const id = String((started.job as { id: string }).id);
  let progress: Record<string, unknown> = started;
  for (let i = 0; i < 600; i++) {
    progress = await call(`/bulk-actions/${id}`);
    if ((progress.job as { status: string }).status !== 'running') break;
    await sleep(100);
  }
  const jobTasks = (progress.tasks ?? []) as Array<{ task_id: string; status: string }>;
  const finalStatuses: Record<string, number> = {};
  for (const item of jobTasks.filter((x) => x.status === 'done')) {
    const done = await t.waitForTask(item.task_id, { timeoutMs: 60_000 });
    finalStatuses[done.status] = (finalStatuses[done.status] ?? 0) + 1;
  }
  const audit = await call('/audit?limit=5');
  return { groups, dryRun, job: progress.job as Record<string, unknown>, jobTasks, finalStatuses, audit };
}

export async function replayIncident(o: ReplayOptions = {}): Promise<ReplayResult> {
  const say = o.say ?? (() => {});
  const rate = o.rate ?? 20;
  const wanted = o.waitForAlerts ?? ['TaskerSuccessRateLow', 'TaskerStepBottleneck'];
  const dir = mkdtempSync(join(tmpdir(), 'tasker-replay-'));
  const random = seededRandom(o.seed ?? 20261126);
  const values = new Map<string, number>();
  let tracing: TracingSetup | null = null;
  let tasker: Tasker | undefined;
  let app: Awaited<ReturnType<typeof serve>>['app'] | undefined;
  let stack: Stack | null = null;
  let traffic: NodeJS.Timeout | undefined;
  const close = async () => {
    clearInterval(traffic);
    clearFaults();
    await stack?.close();
    await app?.close();
    await tasker?.close();
    await tracing?.shutdown();
    trace.disable();
    context.disable();
    propagation.disable();
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const spans = new InMemorySpanExporter();
    tracing = setupTracing({ serviceName: 'checkout-incident', exporter: spans });
    tasker = await createTasker({
      database: `sqlite:${join(dir, 'replay.db')}`,
      templates: join(packageInfo().root, 'examples', 'checkout', 'templates'),
      handlers,
      logger: false,
      concurrency: 256,
      telemetry: { enabled: true },
    });
    const t = tasker;
    const served = await serve(t, { port: 0 });
    app = served.app;
    const url = served.url;
    t.start();
    say(`Tasker API on ${url} (checkout demo, ${rate} orders/s)`);

    if (o.prometheus !== false && havePrometheus()) {
      const rules = scaleRuleDurations(readFileSync(RULES_FILE, 'utf8'), o.ruleScale ?? 1 / 15);
      stack = await startStack({ target: new URL(url).host, rules });
      say(
        `Prometheus on ${stack.prometheusUrl} (1 s scrape and evaluation, monitoring/prometheus/tasker-alerts.yml time-scaled 1/15)` +
          (stack.alertmanagerUrl
            ? `; Alertmanager on ${stack.alertmanagerUrl} with a webhook receiver`
            : '; Alertmanager is not installed (apt-get install prometheus-alertmanager): reading alerts from Prometheus'),
      );
    } else {
      say(
        'Prometheus is not installed (apt-get install prometheus prometheus-alertmanager): replaying the API side only',
      );
    }

    let n = 0;
    let busy = false;
    traffic = setInterval(() => {
      if (busy) return;
      busy = true;
      const order = makeOrder(++n, random);
      t.createTask({
        namespace: 'ecommerce',
        name: 'process_order',
        context: order as unknown as Record<string, unknown>,
      })
        .then(({ task }) => void values.set(task.id, order.order_value))
        .catch(() => {})
        .finally(() => (busy = false));
    }, 1000 / rate);

    o.beforeFault?.(t);
    const calm = o.calmSeconds ?? 20;
    say(`${calm} s of normal traffic…`);
    await sleep(calm * 1000);
    const faultAt = Date.now();
    injectHang('update_inventory', o.faultShare ?? 0.3);
    say(
      `FAULT: update_inventory now hangs past its 3 s timeout for ${Math.round((o.faultShare ?? 0.3) * 100)} % of orders`,
    );

    const secondsToAlert: Record<string, number> = {};
    const alerts = stack?.alerts ?? [];
    const deadline = faultAt + (o.alertTimeoutSeconds ?? 120) * 1000;
    const seenFiring = new Map<string, ReceivedAlert>();
    while (stack && Date.now() < deadline && !wanted.every((a) => a in secondsToAlert)) {
      if (!stack.alertmanagerUrl) {
        // No Alertmanager: take Prometheus's own firing alerts.
        for (const a of await stack.firing()) {
          const name = a.labels.alertname ?? '?';
          if (a.state === 'firing' && !seenFiring.has(name))
            seenFiring.set(name, {
              name,
              status: 'firing',
              labels: a.labels,
              annotations: {},
              receivedAt: Date.now(),
            });
        }
      }
      for (const a of stack.alertmanagerUrl ? alerts : [...seenFiring.values()]) {
        if (a.status !== 'firing' || a.name in secondsToAlert) continue;
        secondsToAlert[a.name] = (a.receivedAt - faultAt) / 1000;
        const labels = Object.entries(a.labels)
          .filter(([k]) => k !== 'alertname')
          .map(([k, v]) => `${k}=${v}`)
          .join(' ');
        say(`+${secondsToAlert[a.name]?.toFixed(1)} s  ALERT ${a.name} firing {${labels}}`);
        if (a.annotations.summary) say(`          ${a.annotations.summary}`);
      }
      await sleep(250);
    }
    if (!stack) await sleep(20_000);

    clearInterval(traffic);
    say('Stopping new orders; letting the orders in flight finish…');
    for (let i = 0; i < 120; i++) {
      if ((await t.countTasks({ status: ['pending', 'in_progress'] })) === 0) break;
      await sleep(250);
    }
    if ((await t.countTasks({ status: ['pending', 'in_progress'] })) > 0)
      throw new Error('replay: orders were still in flight 30 s after the traffic stopped');
    await t.events.drain();

    const api = async (path: string) => {
      const res = await fetch(`${url}${path}`);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const failedList = await api('/tasks?status=failed&namespace=ecommerce&limit=100');
    const rows = (failedList.body.tasks ?? []) as Array<{ id: string }>;
    let detail: ReplayResult['detail'] = null;
    for (const row of rows) {
      const d = await api(`/tasks/${row.id}?include_dependencies=true&include_business_metrics=true`);
      const deps = d.body.dependencies as { bottleneck_step?: string } | undefined;
      if (deps?.bottleneck_step === 'update_inventory') {
        detail = d;
        break;
      }
    }
    const businessImpact = await api('/analytics/business-impact?time_range=1h&namespace=ecommerce');
    const failed = (await t.listTasks({ status: ['error'], namespace: 'ecommerce', limit: 1000 })).tasks;
    // From the orders as the replay generated them, not as the store has them.
    const failedOrderValue =
      Math.round(failed.reduce((sum, x) => sum + (values.get(x.id) ?? NaN), 0) * 100) / 100;
    // The tasks the timeout group must hold: failed, with a timed-out update_inventory attempt (a task can
    // also fail for another cause, e.g. a payment that failed for good before the fault).
    const timedOut = (await t.describeTasks(failed.map((x) => x.id))).filter((d) =>
      d.attempts.some((a) => a.stepName === 'update_inventory' && a.errorType === 'timeout'),
    );
    const inventoryTimeouts = {
      tasks: timedOut.length,
      value: Math.round(timedOut.reduce((sum, d) => sum + (values.get(d.task.id) ?? NaN), 0) * 100) / 100,
    };
    let prometheusFailedValue: number | null = null;
    if (stack) {
      await sleep(2_500); // two scrapes after the last task ended
      const v = await stack.query('sum(tasker_business_value_total{status="failed"})');
      prometheusFailedValue = v[0] ? Math.round(Number(v[0].value[1]) * 100) / 100 : null;
    }
    await tracing?.provider.forceFlush();
    // The trace as the incident left it: the bulk retry below adds the retried attempts to the same trace.
    const traceTree = detail
      ? spanTree(spans.getFinishedSpans(), String(detail.body.id).replace(/-/g, ''))
      : [];
    const triage = await triageAndFix(url, t, say);
    return {
      url,
      faultAt,
      alerts,
      secondsToAlert,
      failedList,
      detail,
      businessImpact,
      failedOrderValue,
      failedTasks: failed.length,
      inventoryTimeouts,
      failedIds: failed.slice(0, 100).map((x) => x.id),
      prometheusFailedValue,
      traceTree,
      triage,
      stack,
      tasker: t,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
