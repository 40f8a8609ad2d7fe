/**
 * A stored history for the API bench: finished tasks of four templates in four namespaces, whole (steps,
 * attempts with durations and errors, transitions), as months of production leave them, written as
 * archive files (the format `tasker db prune --archive` writes) and loaded with `Tasker.importArchive`.
 * Running a million tasks through the engine would take most of an hour; importing them takes minutes and
 * leaves the same rows. `recent` of them are created in the last 40 minutes before `now`, the rest spread
 * over the 30 days before that, so a 1-hour window holds `recent` tasks.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { archiveLine, type ArchivedTask } from '../src/core/archive-format.js';
import type { AttemptRecord, StepRecord, TransitionRecord } from '../src/core/records.js';
import type { TaskState } from '../src/core/states.js';
import { loadTemplateSource, type TaskTemplate, type Tasker } from '../src/index.js';
import { packageInfo } from '../src/package-root.js';
import { uuidv7 } from '../src/runtime/ids.js';
import { makeOrder } from '../examples/checkout/orders.js';

const OTHERS = `
namespace: billing
name: invoice
version: 1.4.0
business: { value_field: amount, customer_field: customer_id, region_field: region }
steps:
  - { name: render, handler: render, timeout_seconds: 10 }
  - { name: charge, handler: charge, depends_on: [render], timeout_seconds: 15, retry: { max_attempts: 3 } }
  - { name: email, handler: email, depends_on: [charge], timeout_seconds: 5, retry: { max_attempts: 5 } }
---
namespace: inventory
name: restock
version: 3.0.1
steps:
  - { name: reserve, handler: reserve, timeout_seconds: 5, retry: { max_attempts: 3 } }
  - { name: notify, handler: notify, depends_on: [reserve], timeout_seconds: 5 }
---
namespace: notifications
name: send
version: 1.0.0
steps:
  - { name: deliver, handler: deliver, timeout_seconds: 3, retry: { max_attempts: 4 } }
`;

export function historyTemplates(): TaskTemplate[] {
  const root = packageInfo().root;
  const checkout = loadTemplateSource(
    readFileSync(join(root, 'examples/checkout/templates/process_order.yaml'), 'utf8'),
    'process_order.yaml',
  );
  const others = loadTemplateSource(OTHERS, 'history.yaml');
  const issues = [...checkout.issues, ...others.issues];
  if (issues.length > 0) throw new Error(JSON.stringify(issues));
  return [...checkout.templates, ...others.templates];
}

/** [template index, share] of the tasks. */
const MIX = [0.5, 0.2, 0.15, 0.15];
/** How a finished task ended. */
const ENDINGS: Array<[TaskState, number]> = [
  ['complete', 0.88],
  ['error', 0.07],
  ['cancelled', 0.03],
  ['resolved_manually', 0.02],
];
const ERRORS: Array<{ type: string; message: (r: () => number) => string }> = [
  { type: 'PaymentDeclined', message: (r) => `card declined for cus_${Math.floor(r() * 5000)}` },
  { type: 'timeout', message: () => 'attempt exceeded its timeout' },
  { type: 'ServiceUnavailable', message: (r) => `upstream 503 from 10.0.${Math.floor(r() * 9)}.12` },
  { type: 'ValidationError', message: (r) => `order ord_${Math.floor(r() * 99999)} has no items` },
];

function pickWeighted<T>(list: Array<[T, number]>, r: number): T {
  let acc = 0;
  for (const [v, w] of list) {
    acc += w;
    if (r < acc) return v;
  }
  return (list[list.length - 1] as [T, number])[0];
}

interface Ids {
  step: number;
}

function contextFor(t: TaskTemplate, n: number, random: () => number): Record<string, unknown> {
  if (t.namespace === 'ecommerce') return makeOrder(n, random) as unknown as Record<string, unknown>;
  if (t.namespace === 'billing')
    return {
      invoice_id: `inv_${n}`,
      customer_id: `cus_${Math.floor(random() * 5000)}`,
      amount: Math.round(random() * 50_000) / 100,
      region: ['eu-west', 'us-east', 'ap-south'][Math.floor(random() * 3)],
    };
  if (t.namespace === 'inventory')
    return { sku: `SKU-${Math.floor(random() * 400)}`, quantity: 1 + (n % 20) };
  return { to: `user${Math.floor(random() * 100_000)}@example.com`, template: 'receipt' };
}

/** One finished task of template `t`, created at `createdAt`. */
function historicTask(
  t: TaskTemplate,
  n: number,
  createdAt: number,
  random: () => number,
  ids: Ids,
): ArchivedTask {
  const id = uuidv7(createdAt);
  const ending = pickWeighted(ENDINGS, random());
  // The step where a task that did not complete stopped.
  const stopAt = ending === 'complete' ? t.steps.length : Math.floor(random() * t.steps.length);
  const steps: StepRecord[] = [];
  const attempts: AttemptRecord[] = [];
  const transitions: TransitionRecord[] = [
    {
      taskId: id,
      stepName: null,
      fromState: null,
      toState: 'pending',
      at: createdAt,
      attempt: null,
      reason: null,
      errorType: null,
    },
  ];
  let at = createdAt + 1 + Math.floor(random() * 20);
  transitions.push({
    taskId: id,
    stepName: null,
    fromState: 'pending',
    toState: 'in_progress',
    at,
    attempt: null,
    reason: null,
    errorType: null,
  });
  t.steps.forEach((s, position) => {
    const stepId = ++ids.step;
    const timeoutMs = s.timeoutSeconds === undefined ? null : s.timeoutSeconds * 1000;
    let status: StepRecord['status'] = 'complete';
    let tries = 0;
    let errorType: string | null = null;
    let errorMessage: string | null = null;
    const startedAt = at;
    const run = (outcome: AttemptRecord['outcome'], failure: (typeof ERRORS)[number] | null) => {
      tries += 1;
      const ms =
        failure?.type === 'timeout' && timeoutMs !== null
          ? timeoutMs
          : Math.round(2 + random() * random() * 120 * (1 + position));
      const message = failure ? failure.message(random) : null;
      attempts.push({
        taskId: id,
        stepId,
        stepName: s.name,
        attempt: tries,
        queuedAt: at,
        startedAt: at + 1,
        finishedAt: at + 1 + ms,
        durationMs: ms,
        outcome,
        errorMessage: message,
        errorType: failure?.type ?? null,
        workerId: 'bench-worker-1',
      });
      transitions.push(
        {
          taskId: id,
          stepName: s.name,
          fromState: tries === 1 ? 'pending' : 'waiting_for_retry',
          toState: 'in_progress',
          at: at + 1,
          attempt: tries,
          reason: null,
          errorType: null,
        },
        {
          taskId: id,
          stepName: s.name,
          fromState: 'in_progress',
          toState: outcome === 'complete' ? 'complete' : outcome === 'retry' ? 'waiting_for_retry' : 'error',
          at: at + 1 + ms,
          attempt: tries,
          reason: message,
          errorType: failure?.type ?? null,
        },
      );
      at += 2 + ms;
      errorType = failure?.type ?? errorType;
      errorMessage = message ?? errorMessage;
    };
    if (position < stopAt) {
      // A transient failure now and then, then success.
      if (random() < 0.04 && s.retry.maxAttempts > 1) run('retry', ERRORS[Math.floor(random() * 3)] ?? null);
      run('complete', null);
    } else if (position === stopAt && ending !== 'cancelled') {
      const failure = ERRORS[Math.floor(random() * ERRORS.length)] ?? null;
      const limit = failure?.type === 'ValidationError' ? 1 : s.retry.maxAttempts;
      for (let i = 1; i < limit; i++) run('retry', failure);
      run('error', failure);
      status = ending === 'resolved_manually' ? 'resolved_manually' : 'error';
    } else {
      status = ending === 'cancelled' ? 'cancelled' : ending === 'resolved_manually' ? 'complete' : 'pending';
      if (ending === 'resolved_manually') run('complete', null);
    }
    steps.push({
      id: stepId,
      taskId: id,
      name: s.name,
      position,
      handler: s.handler,
      status,
      dependsOn: s.dependsOn,
      attempts: tries,
      attemptLimit: s.retry.maxAttempts,
      retry: s.retry,
      timeoutMs,
      handlerConfig: s.handlerConfig,
      readyAt: null,
      leaseOwner: null,
      leaseExpiresAt: null,
      queuedAt: null,
      startedAt: tries > 0 ? startedAt : null,
      finishedAt: status === 'pending' ? null : at,
      results: status === 'complete' ? { ok: true } : null,
      errorMessage: status === 'error' || status === 'resolved_manually' ? errorMessage : null,
      errorType: status === 'error' || status === 'resolved_manually' ? errorType : null,
    });
  });
  transitions.push({
    taskId: id,
    stepName: null,
    fromState: 'in_progress',
    toState: ending,
    at,
    attempt: null,
    reason: ending === 'cancelled' ? 'cancelled by bench' : null,
    errorType: null,
  });
  return {
    task: {
      id,
      namespace: t.namespace,
      name: t.name,
      version: t.version,
      status: ending,
      context: contextFor(t, n, random),
      correlationId: `corr-${n}`,
      idempotencyKey: null,
      tags: n % 10 === 0 ? ['priority'] : [],
      business: t.business ?? null,
      traceparent: null,
      createdAt,
      updatedAt: at,
      startedAt: createdAt + 1,
      finishedAt: at,
    },
    steps,
    attempts,
    transitions,
  };
}

export interface HistoryReport {
  tasks: number;
  recent: number;
  byStatus: Record<string, number>;
  seconds: number;
}

/**
 * Create `total` finished tasks (`recent` of them in the 40 minutes before `now`), `perFile` to an archive
 * file, each imported as soon as it is written. Creation times ascend, so ids (UUIDv7, monotonic in this
 * process) follow them.
 */
export async function seedHistory(
  tasker: Tasker,
  o: {
    total: number;
    recent: number;
    now: number;
    dir: string;
    random: () => number;
    perFile?: number;
    /**
     * Receives one task id in a thousand of those created in the last 6 days (the bench's task details:
     * none the default retention policy deletes while the bench prunes).
     */
    sample?: string[];
  },
  progress: (s: string) => void,
): Promise<HistoryReport> {
  const t0 = performance.now();
  const templates = historyTemplates();
  const perFile = o.perFile ?? 5000;
  const old = o.total - o.recent;
  const oldFrom = o.now - 40 * 60_000 - 30 * 86_400_000;
  const recentFrom = o.now - 40 * 60_000;
  const ids: Ids = { step: 0 };
  const byStatus: Record<string, number> = {};
  mkdirSync(o.dir, { recursive: true });
  for (let i = 0, file = 0; i < o.total; file++) {
    const lines: string[] = [];
    for (const end = Math.min(o.total, i + perFile); i < end; i++) {
      const createdAt =
        i < old
          ? oldFrom + Math.floor((i / old) * 30 * 86_400_000)
          : recentFrom + Math.floor(((i - old) / o.recent) * 40 * 60_000);
      const t = templates[
        pickWeighted(
          MIX.map((w, k) => [k, w]),
          o.random(),
        )
      ] as TaskTemplate;
      const a = historicTask(t, i + 1, createdAt, o.random, ids);
      byStatus[a.task.status] = (byStatus[a.task.status] ?? 0) + 1;
      if (i % 1000 === 0 && createdAt >= o.now - 6 * 86_400_000) o.sample?.push(a.task.id);
      lines.push(archiveLine(a, (v) => v));
    }
    const path = join(o.dir, `history-${String(file).padStart(5, '0')}.jsonl.gz`);
    writeFileSync(path, gzipSync(`${lines.join('\n')}\n`, { level: 1 }));
    await tasker.importArchive(path);
    rmSync(path);
    if (file % 20 === 19) progress(`  imported ${i.toLocaleString('en-US')} historic tasks`);
  }
  return { tasks: o.total, recent: o.recent, byStatus, seconds: (performance.now() - t0) / 1000 };
}
