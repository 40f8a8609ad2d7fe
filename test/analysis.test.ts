/** Dependency analysis and business impact: pure functions over hand-built task descriptions. */
import { describe, expect, it } from 'vitest';
import { analyzeDependencies, criticalPath, suggestAction } from '../src/core/analysis.js';
import {
  type FailedTaskSample,
  readContextField,
  recommendations,
  summarizeBusinessImpact,
} from '../src/core/business-impact.js';
import { buildNewTask } from '../src/core/new-task.js';
import type { AttemptRecord, StepRecord, TaskRecord } from '../src/core/records.js';
import type { StepState, TaskState } from '../src/core/states.js';
import { describeTask, type StepDescription, type TaskDescription } from '../src/core/task-description.js';
import {
  type BusinessFields,
  DEFAULT_BACKOFF,
  type RetryPolicy,
  type StepTemplate,
  type TaskTemplate,
} from '../src/core/template.js';

const retry = (maxAttempts: number, retryable = true): RetryPolicy => ({
  retryable,
  maxAttempts,
  backoff: { ...DEFAULT_BACKOFF },
});

function stepT(name: string, dependsOn: string[], extra: Partial<StepTemplate> = {}): StepTemplate {
  return { name, handler: `${name}_handler`, dependsOn, retry: retry(3), handlerConfig: {}, ...extra };
}

const checkout: TaskTemplate = {
  namespace: 'ecommerce',
  name: 'process_order',
  version: '2.1.3',
  steps: [
    stepT('validate_cart', []),
    stepT('process_payment', ['validate_cart'], { handlerConfig: { service: 'payment-service' } }),
    stepT('update_inventory', ['process_payment'], {
      timeoutSeconds: 3,
      handlerConfig: { endpoint: 'http://inventory.internal', service: 'inventory-service' },
    }),
    stepT('create_order', ['update_inventory']),
    stepT('send_confirmation', ['create_order']),
  ],
};

const invoicing: TaskTemplate = {
  namespace: 'billing',
  name: 'monthly_invoice',
  version: '1.0.0',
  steps: [
    stepT('load_usage', [], { handlerConfig: { system: 'usage-db' } }),
    stepT('compute_invoice', ['load_usage']),
    stepT('charge_card', ['compute_invoice'], {
      retry: retry(5),
      handlerConfig: { service: 42, dependency: 'payment-gateway' },
    }),
    stepT('email_invoice', ['compute_invoice']),
    stepT('archive', ['charge_card', 'email_invoice']),
  ],
};

interface Run {
  status: StepState;
  /** Durations of finished attempts (ms). */
  times?: number[];
  /** Attempts started, when one is still running. */
  attempts?: number;
  errorType?: string;
  startedAt?: number;
}

/** A task built from a template the way the engine builds it, with the given step outcomes. */
function runTask(template: TaskTemplate, status: TaskState, runs: Record<string, Run>): TaskDescription {
  const draft = buildNewTask(template, {
    id: 't1',
    context: {},
    correlationId: 'c1',
    idempotencyKey: null,
    tags: [],
    now: 0,
  });
  const steps: StepRecord[] = draft.steps.map((s, i) => {
    const r = runs[s.name];
    return {
      ...s,
      id: i + 1,
      status: r?.status ?? 'pending',
      attempts: r?.attempts ?? r?.times?.length ?? 0,
      errorType: r?.errorType ?? null,
      errorMessage: r?.errorType ? `${s.name} went wrong` : null,
      startedAt: r?.startedAt ?? null,
    };
  });
  const attempts: AttemptRecord[] = steps.flatMap((s) =>
    (runs[s.name]?.times ?? []).map((ms, k) => ({
      taskId: 't1',
      stepId: s.id,
      stepName: s.name,
      queuedAt: null,
      attempt: k + 1,
      startedAt: 0,
      finishedAt: ms,
      durationMs: ms,
      outcome: 'complete' as const,
      errorMessage: null,
      errorType: null,
      workerId: 'w1',
    })),
  );
  return describeTask({ task: { ...draft.task, status }, steps }, attempts);
}

/** A bare step description for graph-only checks. */
function sd(name: string, dependsOn: string[], ms: number | null, over: Partial<StepDescription> = {}) {
  const step: StepDescription = {
    id: 0,
    name,
    handler: name,
    status: 'complete',
    displayStatus: 'complete',
    dependsOn,
    attempts: 1,
    maxAttempts: 3,
    startedAt: null,
    finishedAt: null,
    executionTimeMs: ms,
    errorMessage: null,
    errorType: null,
    blockedBy: [],
    readyAt: null,
    queuedAt: null,
    leaseOwner: null,
    leaseExpiresAt: null,
    timeoutMs: null,
    handlerConfig: {},
    results: null,
    ...over,
  };
  return step;
}

function plainTask(status: TaskState, steps: StepDescription[]): TaskDescription {
  const task = { ...runTask(checkout, status, {}).task, status };
  return { task, steps, failedSteps: [], blockedSteps: [], bottleneckStep: null, durationMs: null };
}

const checkoutTimeout = () =>
  runTask(checkout, 'error', {
    validate_cart: { status: 'complete', times: [1200] },
    process_payment: { status: 'complete', times: [3000, 800] },
    update_inventory: { status: 'error', times: [3000, 3000, 3000], errorType: 'timeout' },
  });

const invoiceError = () =>
  runTask(invoicing, 'error', {
    load_usage: { status: 'complete', times: [50_000] },
    compute_invoice: { status: 'complete', times: [1000] },
    charge_card: { status: 'error', times: [100, 100, 100, 100, 100], errorType: 'Error' },
    email_invoice: { status: 'complete', times: [2000] },
  });

describe('criticalPath', () => {
  const diamond = (b: number, c: number) => [
    sd('a', [], 100),
    sd('b', ['a'], b),
    sd('c', ['a'], c),
    sd('d', ['b', 'c'], 50),
  ];

  it('follows the heaviest branch of a diamond', () => {
    expect(criticalPath(diamond(300, 200))).toEqual({ path: ['a', 'b', 'd'], ms: 450 });
    expect(criticalPath(diamond(200, 300))).toEqual({ path: ['a', 'c', 'd'], ms: 450 });
  });

  it('breaks ties by DAG position', () => {
    expect(criticalPath(diamond(200, 200)).path).toEqual(['a', 'b', 'd']);
    const [a, b, c, d] = diamond(200, 200) as [StepDescription, ...StepDescription[]];
    expect(criticalPath([a, c, b, d] as StepDescription[]).path).toEqual(['a', 'c', 'd']);
  });

  it('counts null times as 0 and ends at a leaf', () => {
    expect(criticalPath([sd('a', [], null), sd('b', ['a'], null), sd('c', [], 5)])).toEqual({
      path: ['c'],
      ms: 5,
    });
    expect(criticalPath([sd('a', [], null), sd('b', ['a'], null), sd('c', [], null)])).toEqual({
      path: ['a', 'b'],
      ms: 0,
    });
  });

  it('does not depend on the steps arriving in dependency order', () => {
    const [a, b, c, d] = diamond(300, 200) as [StepDescription, ...StepDescription[]];
    expect(criticalPath([d, b, a, c] as StepDescription[])).toEqual({ path: ['a', 'b', 'd'], ms: 450 });
  });

  it('is empty for a task without steps', () => {
    expect(criticalPath([])).toEqual({ path: [], ms: 0 });
  });
});

describe('analyzeDependencies', () => {
  it('explains a timeout with its figures and the steps it blocked', () => {
    expect(analyzeDependencies(checkoutTimeout(), checkout)).toEqual({
      analysis:
        'Task failed: step update_inventory timed out (3 of 3 attempts, limit 3 s); 2 steps downstream never ran',
      blockedSteps: ['create_order', 'send_confirmation'],
      bottleneckIdentified: true,
      bottleneckStep: 'update_inventory',
      criticalPath: [
        'validate_cart',
        'process_payment',
        'update_inventory',
        'create_order',
        'send_confirmation',
      ],
      criticalPathMs: 14_000,
      suggestedAction:
        'Check the health of inventory-service and the 3 s timeout of update_inventory (timed out; 3 of 3 attempts used), then `tasker retry` the task',
    });
  });

  it('names the failed step as bottleneck even when another step took longer', () => {
    const a = analyzeDependencies(invoiceError(), invoicing);
    expect(a.bottleneckStep).toBe('charge_card');
    expect(a.blockedSteps).toEqual(['archive']);
    expect(a.criticalPath).toEqual(['load_usage', 'compute_invoice', 'email_invoice', 'archive']);
    expect(a.criticalPathMs).toBe(53_000);
    expect(a.analysis).toBe(
      'Task failed: step charge_card failed with Error (5 of 5 attempts); 1 step downstream never ran',
    );
    expect(a.suggestedAction).toBe(
      'Check the error logs of payment-gateway: charge_card failed with Error on all 5 of 5 attempts; if the failures are transient, consider more attempts (now 5) or a longer backoff, then `tasker retry` the task',
    );
  });

  it('gives a different workflow failing elsewhere a correspondingly different answer', () => {
    const checkoutAction = analyzeDependencies(checkoutTimeout(), checkout).suggestedAction ?? '';
    const invoiceAction = analyzeDependencies(invoiceError(), invoicing).suggestedAction ?? '';
    expect(checkoutAction).toContain('inventory-service');
    expect(checkoutAction).not.toContain('payment-gateway');
    expect(invoiceAction).toContain('payment-gateway');
    expect(invoiceAction).toContain('charge_card');
    expect(invoiceAction).not.toMatch(/inventory/);
  });

  it('marks every transitive dependant of a non-retryable failure as blocked', () => {
    const desc = runTask(invoicing, 'error', {
      load_usage: { status: 'complete', times: [10] },
      compute_invoice: { status: 'error', times: [5], errorType: 'PermanentError' },
    });
    const a = analyzeDependencies(desc, invoicing);
    expect(a.blockedSteps).toEqual(['charge_card', 'email_invoice', 'archive']);
    expect(a.analysis).toBe(
      'Task failed: step compute_invoice failed with PermanentError (1 of 3 attempts); 3 steps downstream never ran',
    );
    expect(a.suggestedAction).toBe(
      'compute_invoice failed with PermanentError, which is not retried (1 of 3 attempts used): fix the input or data it rejected, then `tasker resolve` the step or `tasker retry` the task',
    );
  });

  it('takes the bottleneck of a completed task from the critical path, not the slowest step overall', () => {
    const desc = plainTask('complete', [sd('a', [], 1000), sd('b', ['a'], 9000), sd('c', [], 9500)]);
    expect(analyzeDependencies(desc, undefined)).toEqual({
      analysis: 'Task completed: b took 90 % of the critical path',
      blockedSteps: [],
      bottleneckIdentified: true,
      bottleneckStep: 'b',
      criticalPath: ['a', 'b'],
      criticalPathMs: 10_000,
      suggestedAction:
        'b took 90 % of the critical path (9 s of 10 s); if end-to-end time matters, start with the service behind b',
    });
  });

  it('suggests nothing for a completed task without a dominant step or retries', () => {
    const desc = plainTask('complete', [sd('a', [], 600), sd('b', ['a'], 400), sd('c', ['b'], 500)]);
    const a = analyzeDependencies(desc, undefined);
    expect(a.analysis).toBe('Task completed: a took 40 % of the critical path');
    expect(a.bottleneckStep).toBe('a');
    expect(a.bottleneckIdentified).toBe(false);
    expect(a.suggestedAction).toBeNull();
  });

  it('points at retries that a completed task needed', () => {
    const desc = runTask(checkout, 'complete', {
      validate_cart: { status: 'complete', times: [1000] },
      process_payment: { status: 'complete', times: [1000, 1000] },
      update_inventory: { status: 'complete', times: [1000] },
      create_order: { status: 'complete', times: [1000] },
      send_confirmation: { status: 'complete', times: [1000] },
    });
    const a = analyzeDependencies(desc, checkout);
    expect(a.analysis).toBe(
      'Task completed: process_payment took 33 % of the critical path; process_payment needed 2 attempts',
    );
    expect(a.bottleneckIdentified).toBe(false);
    expect(a.suggestedAction).toBe(
      'process_payment succeeded only on attempt 2 of 3: retries are hiding failures of payment-service; check its error logs before the retries run out',
    );
  });

  it('counts where a running task stands', () => {
    const desc = runTask(invoicing, 'in_progress', {
      load_usage: { status: 'complete', times: [100] },
      compute_invoice: { status: 'complete', times: [100] },
      charge_card: { status: 'in_progress', attempts: 1, startedAt: 1000 },
    });
    const a = analyzeDependencies(desc, invoicing);
    expect(a.analysis).toBe(
      'Task in progress: 2 of 5 steps done, 1 running, 1 ready to run, 1 waiting on dependencies',
    );
    expect(a.suggestedAction).toBeNull();
    expect(a.bottleneckStep).toBe('load_usage');
  });

  it('flags a running step past its timeout only when given the time', () => {
    const desc = runTask(checkout, 'in_progress', {
      validate_cart: { status: 'complete', times: [100] },
      process_payment: { status: 'complete', times: [100] },
      update_inventory: { status: 'in_progress', attempts: 1, startedAt: 1000 },
    });
    expect(analyzeDependencies(desc, checkout).suggestedAction).toBeNull();
    expect(analyzeDependencies(desc, checkout, 9000).suggestedAction).toBe(
      "update_inventory has run 8 s, past its 3 s timeout (attempt 1 of 3): its worker may be stuck or gone; the attempt is retried once its lease expires — check that worker's logs and inventory-service",
    );
  });

  it('handles a task without steps', () => {
    expect(analyzeDependencies(plainTask('complete', []), undefined)).toEqual({
      analysis: 'Task completed: it has no steps',
      blockedSteps: [],
      bottleneckIdentified: false,
      bottleneckStep: null,
      criticalPath: [],
      criticalPathMs: 0,
      suggestedAction: null,
    });
  });
});

describe('suggestAction', () => {
  const inventory = checkout.steps[2];
  const failedInventory = (errorType: string, over: Partial<StepDescription> = {}) =>
    sd('update_inventory', ['process_payment'], 9000, {
      status: 'error',
      errorType,
      attempts: 3,
      maxAttempts: 3,
      ...over,
    });

  it('takes the system from handlerConfig (service, system, dependency, endpoint) or the step name', () => {
    expect(suggestAction(failedInventory('Error'), inventory)).toContain('error logs of inventory-service');
    expect(
      suggestAction(failedInventory('Error'), stepT('update_inventory', [], { handlerConfig: {} })),
    ).toContain('error logs of the service behind update_inventory');
    expect(
      suggestAction(
        failedInventory('Error'),
        stepT('update_inventory', [], { handlerConfig: { endpoint: 'https://stock.example' } }),
      ),
    ).toContain('error logs of https://stock.example');
  });

  it('omits figures the template does not give', () => {
    expect(suggestAction(failedInventory('timeout', { attempts: 2, maxAttempts: 2 }), undefined)).toBe(
      'Check the health of the service behind update_inventory and the timeout of update_inventory (timed out; 2 of 2 attempts used), then `tasker retry` the task',
    );
  });

  it('sends a lost worker to the worker logs and lease_seconds', () => {
    expect(suggestAction(failedInventory('worker_lost'), inventory)).toBe(
      'The worker process running update_inventory died or lost its lease: check worker logs and memory, and that lease_seconds covers how long update_inventory runs (3 of 3 attempts used); then `tasker retry` the task',
    );
  });

  it('treats a failure with attempts left, or a non-retryable policy, as a data problem', () => {
    expect(suggestAction(failedInventory('TypeError', { attempts: 1 }), inventory)).toBe(
      'update_inventory failed with TypeError, which is not retried (1 of 3 attempts used): fix the input or data it rejected, then `tasker resolve` the step or `tasker retry` the task',
    );
    const noRetry = stepT('update_inventory', [], { retry: retry(1, false) });
    expect(suggestAction(failedInventory('Error', { attempts: 1, maxAttempts: 1 }), noRetry)).toContain(
      'which is not retried (1 of 1 attempts used)',
    );
  });

  it('describes a scheduled retry, a cancellation and a healthy step', () => {
    const waiting = failedInventory('timeout', { status: 'waiting_for_retry', attempts: 2 });
    expect(suggestAction(waiting, inventory)).toBe(
      'update_inventory timed out on attempt 2 of 3 and will be retried; if it keeps failing, check the health of inventory-service and the 3 s timeout of update_inventory',
    );
    const cancelled = sd('charge_card', [], null, { status: 'cancelled', attempts: 0, maxAttempts: 5 });
    expect(suggestAction(cancelled, invoicing.steps[2])).toBe(
      'charge_card was cancelled (0 of 5 attempts used); a cancelled task cannot be retried, so start a new task if the work is still needed',
    );
    expect(suggestAction(sd('a', [], 5), undefined)).toBe('No action needed for a (complete)');
  });
});

describe('summarizeBusinessImpact', () => {
  const fields: BusinessFields = {
    valueField: 'order.total',
    tierField: 'customer.tier',
    regionField: 'region',
    customerField: 'customer.id',
  };
  const base = runTask(checkout, 'error', {}).task;
  const sample = (
    context: Record<string, unknown>,
    failed: [string, string | null] | null,
    business: BusinessFields | null = fields,
  ): FailedTaskSample => {
    const task: TaskRecord = { ...base, context, business };
    return {
      task,
      failedStep: failed ? { name: failed[0], errorType: failed[1], errorMessage: null } : null,
    };
  };
  const samples = [
    sample({ order: { total: 'abc' }, customer: { tier: 'standard', id: 7 }, region: 'eu' }, [
      'process_payment',
      'PermanentError',
    ]),
    sample({ order: { total: 100.1 }, customer: { tier: 'premium', id: 'c1' }, region: 'eu' }, [
      'update_inventory',
      'timeout',
    ]),
    sample({ order: { total: ' 200.2 ' }, customer: { tier: 'premium', id: 'c1' }, region: 'na' }, [
      'update_inventory',
      'timeout',
    ]),
    sample({ order: { total: 0.1 } }, ['update_inventory', 'timeout']),
    sample({ order: { total: 500 }, region: 'na' }, null, null),
    sample({ order: { total: '99.6' }, customer: { tier: 'standard', id: '7' }, region: '__proto__' }, [
      'process_payment',
      'PermanentError',
    ]),
    sample({}, ['update_inventory', null]),
  ];

  it('sums, groups and counts exactly', () => {
    const impact = summarizeBusinessImpact(samples);
    expect(impact.totalFailedWorkflows).toBe(7);
    expect(impact.estimatedRevenueLoss).toBe(400);
    // c1 and 7 (number and string alike), plus three tasks without a customer.
    expect(impact.affectedCustomers).toBe(5);
    expect(impact.tasksWithoutBusinessFields).toBe(2);
    expect(Object.entries(impact.customerTierImpact)).toEqual([
      ['premium', 300.3],
      ['standard', 99.6],
      ['unknown', 0.1],
    ]);
    expect(Object.entries(impact.failureCategories)).toEqual([
      ['update_inventory:timeout', 3],
      ['process_payment:PermanentError', 2],
      ['unknown:unknown', 1],
      ['update_inventory:unknown', 1],
    ]);
    expect(impact.failureCategoryRevenue['update_inventory:timeout']).toBe(300.4);
    expect(impact.failureCategoryRevenue['process_payment:PermanentError']).toBe(99.6);
  });

  it('keeps "__proto__" an ordinary region without touching any prototype', () => {
    const geo = summarizeBusinessImpact(samples).geographicImpact;
    expect(Object.getPrototypeOf(geo)).toBeNull();
    expect(Object.entries(geo)).toEqual([
      ['na', 200.2],
      ['eu', 100.1],
      ['__proto__', 99.6],
      ['unknown', 0.1],
    ]);
    expect(JSON.stringify(geo)).toContain('"__proto__":99.6');
    expect(Object.keys(Object.prototype)).toEqual([]);
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });

  it('reads dotted paths through own properties only', () => {
    expect(readContextField({ a: { b: { c: 'x' } } }, 'a.b.c')).toBe('x');
    expect(readContextField({ 'a.b': 1, a: { b: 2 } }, 'a.b')).toBe(1);
    expect(readContextField({ a: {} }, 'a.toString')).toBeUndefined();
    expect(readContextField({}, 'constructor')).toBeUndefined();
    expect(readContextField({ a: 1 }, undefined)).toBeUndefined();
    const impact = summarizeBusinessImpact([
      sample({}, null, { valueField: 'constructor', regionField: '__proto__' }),
    ]);
    expect(impact.estimatedRevenueLoss).toBe(0);
    expect(Object.keys(impact.geographicImpact)).toEqual(['unknown']);
  });

  it('returns zeros for no samples', () => {
    const impact = summarizeBusinessImpact([]);
    expect(impact).toMatchObject({ totalFailedWorkflows: 0, estimatedRevenueLoss: 0, affectedCustomers: 0 });
    expect(Object.keys(impact.failureCategories)).toEqual([]);
  });
});

describe('recommendations', () => {
  const templates = new Map(
    [...checkout.steps, ...invoicing.steps].map((s) => [s.name, s] as [string, StepTemplate]),
  );
  const base = runTask(checkout, 'error', {}).task;
  const sample = (total: number, step: string | null, errorType: string | null): FailedTaskSample => ({
    task: { ...base, context: { total }, business: { valueField: 'total' } },
    failedStep: step === null ? null : { name: step, errorType, errorMessage: null },
  });
  const samples = [
    sample(10, 'compute_invoice', 'PermanentError'),
    sample(10, 'compute_invoice', 'PermanentError'),
    sample(50, 'update_inventory', 'timeout'),
    sample(20, 'update_inventory', 'timeout'),
    sample(30, 'update_inventory', 'timeout'),
    sample(5, 'charge_card', 'Error'),
    sample(75, null, null),
  ];

  it('ranks by count, then revenue, and names step, error, count, share and system', () => {
    expect(recommendations(summarizeBusinessImpact(samples), templates, 4)).toEqual([
      'update_inventory timed out in 3 failed workflows (50 % of the estimated revenue loss): check the health and capacity of inventory-service and the 3 s timeout of update_inventory',
      'compute_invoice failed with PermanentError in 2 failed workflows (10 % of the estimated revenue loss): it is not retried, so validate its input before the workflow starts, fix the rejected data and `tasker retry` the affected tasks',
      '1 failed workflow (38 % of the estimated revenue loss) recorded no failing step: inspect them with `tasker show <task-id>`',
      'charge_card failed with Error in 1 failed workflow (3 % of the estimated revenue loss): check the error logs of payment-gateway; if the failures are transient, consider more attempts (now 5) or a longer backoff',
    ]);
  });

  it('does not depend on the order the tasks were read in, and honours the limit', () => {
    const forward = recommendations(summarizeBusinessImpact(samples), templates);
    const backward = recommendations(summarizeBusinessImpact([...samples].reverse()), templates);
    expect(forward).toHaveLength(3);
    expect(backward).toEqual(forward);
    expect(recommendations(summarizeBusinessImpact(samples), templates, 1)).toEqual(forward.slice(0, 1));
  });

  it('leaves the revenue share out when there is no revenue', () => {
    const noValue: FailedTaskSample = { task: { ...base, context: {}, business: null }, failedStep: null };
    const [text] = recommendations(
      summarizeBusinessImpact([
        { ...noValue, failedStep: { name: 'x', errorType: 'worker_lost', errorMessage: null } },
      ]),
      new Map(),
    );
    expect(text).toBe(
      'x lost its worker in 1 failed workflow: check worker logs and memory, and that lease_seconds covers how long x runs',
    );
  });
});
