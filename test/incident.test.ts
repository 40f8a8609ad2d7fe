/**
 * The incident replay end to end, against a real Prometheus (1 s scrape, the shipped rules time-scaled
 * from the same file) and a real Alertmanager posting to a webhook: the bottleneck and success-rate alerts
 * arrive within 60 s of the fault, the API names update_inventory as the bottleneck with error_type
 * timeout, revenue at risk equals the failed orders' value, and every dashboard panel's query returns data.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardQueries, fillVariables, readDashboard } from '../incident/rules.js';
import { replayIncident, type ReplayResult } from '../incident/replay.js';
import { haveAlertmanager, havePrometheus } from '../incident/stack.js';

const REQUIRED = process.env.TASKER_REQUIRE_PROMETHEUS === '1';
const RUN = (havePrometheus() && haveAlertmanager()) || REQUIRED;

describe.skipIf(!RUN)('the incident replay (real Prometheus and Alertmanager)', () => {
  let r: ReplayResult;

  beforeAll(async () => {
    expect(havePrometheus(), 'apt-get install prometheus').toBe(true);
    expect(haveAlertmanager(), 'apt-get install prometheus-alertmanager').toBe(true);
    r = await replayIncident({
      calmSeconds: 12,
      alertTimeoutSeconds: 90,
      // A subscriber that breaks on the timed-out orders, so the subscriber-errors panel has data.
      beforeFault: (tasker) =>
        void tasker.subscribe(
          'task.failed',
          (e) => {
            if (String((e.payload as { reason?: string }).reason).includes('timed out'))
              throw new Error('CRM unreachable');
          },
          { name: 'crm-sync' },
        ),
    });
  }, 240_000);

  afterAll(async () => {
    await r?.close();
  }, 60_000);

  it('delivers the bottleneck and success-rate alerts to the webhook within 60 s of the fault', () => {
    expect(r.secondsToAlert.TaskerStepBottleneck).toBeLessThan(60);
    expect(r.secondsToAlert.TaskerSuccessRateLow).toBeLessThan(60);
    const bottleneck = r.alerts.find((a) => a.name === 'TaskerStepBottleneck' && a.status === 'firing');
    expect(bottleneck?.labels).toMatchObject({
      namespace: 'ecommerce',
      name: 'process_order',
      step: 'update_inventory',
      severity: 'warning',
      business_impact: 'medium',
    });
    expect(bottleneck?.annotations.runbook_url).toBe('docs/runbooks/TaskerStepBottleneck.md');
    const rate = r.alerts.find((a) => a.name === 'TaskerSuccessRateLow' && a.status === 'firing');
    expect(rate?.labels).toMatchObject({
      namespace: 'ecommerce',
      name: 'process_order',
      severity: 'critical',
    });
    // The fault's alerts did not fire before it (a premium order with an empty cart legitimately may).
    const faultAlerts = [
      'TaskerStepBottleneck',
      'TaskerSuccessRateLow',
      'TaskerStepTimeouts',
      'TaskerSubscriberErrors',
      'TaskerTaskSlaBreached',
    ];
    expect(r.alerts.filter((a) => faultAlerts.includes(a.name)).every((a) => a.receivedAt > r.faultAt)).toBe(
      true,
    );
  });

  it('lists the failed orders: GET /tasks?status=failed&namespace=ecommerce', () => {
    expect(r.failedList.status).toBe(200);
    const tasks = (r.failedList.body as { tasks: Array<{ id: string; status: string; namespace: string }> })
      .tasks;
    expect(r.failedTasks).toBeGreaterThan(10);
    // Exactly the newest failed orders in the store, newest first.
    expect(tasks.map((t) => t.id)).toEqual(r.failedIds);
    for (const t of tasks) expect(t).toMatchObject({ status: 'failed', namespace: 'ecommerce' });
  });

  it('names update_inventory as the bottleneck, error_type timeout, with a suggested action', () => {
    expect(r.detail?.status).toBe(200);
    const d = r.detail?.body as {
      status: string;
      dependencies: {
        bottleneck_step: string;
        blocked_steps: string[];
        suggested_action: string;
        analysis: string;
      };
      failure_impact: { failed_step: string; error_type: string; revenue_at_risk: number };
      business_context: { value: number };
      steps: Array<{ name: string; error_type: string | null; attempts: number }>;
    };
    expect(d.status).toBe('failed');
    expect(d.dependencies.bottleneck_step).toBe('update_inventory');
    expect(d.dependencies.blocked_steps).toEqual(['create_order', 'send_confirmation']);
    expect(d.dependencies.analysis).toBe(
      'Task failed: step update_inventory timed out (3 of 3 attempts, limit 3 s); 2 steps downstream never ran',
    );
    expect(d.dependencies.suggested_action).toBe(
      'Check the health of inventory-service and the 3 s timeout of update_inventory (timed out; 3 of 3 attempts used), then `tasker retry` the task',
    );
    expect(d.failure_impact).toMatchObject({ failed_step: 'update_inventory', error_type: 'timeout' });
    expect(d.failure_impact.revenue_at_risk).toBe(d.business_context.value);
    expect(d.steps.find((s) => s.name === 'update_inventory')).toMatchObject({
      error_type: 'timeout',
      attempts: 3,
    });
  });

  it('puts revenue at risk at exactly the failed orders’ value (API and Prometheus)', () => {
    expect(r.businessImpact.status).toBe(200);
    const impact = r.businessImpact.body.impact_analysis as {
      total_failed_workflows: number;
      estimated_revenue_loss: number;
      failure_categories: Record<string, number>;
      customer_tier_impact: Record<string, number>;
    };
    expect(impact.total_failed_workflows).toBe(r.failedTasks);
    expect(Number.isFinite(r.failedOrderValue)).toBe(true);
    expect(impact.estimated_revenue_loss).toBe(r.failedOrderValue);
    // The metric the dashboard and the premium alert read agrees, through a real scrape.
    expect(r.prometheusFailedValue).toBe(r.failedOrderValue);
    expect(impact.failure_categories['update_inventory:timeout']).toBeGreaterThan(0);
    const tiers = Object.values(impact.customer_tier_impact).reduce((a, b) => a + b, 0);
    expect(Math.round(tiers * 100) / 100).toBe(r.failedOrderValue);
  });

  it('shows the failed order’s trace: three timed-out update_inventory attempts under the task span', () => {
    expect(r.traceTree[0]).toMatch(/^task ecommerce\.process_order .*ERROR task_failed$/);
    const inventory = r.traceTree.filter((l) => l.includes('step update_inventory'));
    expect(inventory).toHaveLength(3);
    for (const l of inventory) expect(l).toMatch(/, 3\d{3} ms, ERROR timeout$/);
  });

  it('ends with triage: the update_inventory group first with its revenue, a dry run, one bulk retry that completes it, the audit', () => {
    const groups = r.triage.groups.groups as Array<{
      step: string;
      error_type: string;
      template: string;
      revenue_at_risk: number;
      by_status: { failed: number; recovered: number };
    }>;
    const top = groups[0]!;
    // Every failed order with a timed-out update_inventory attempt is in the top group, with its value.
    expect(top).toMatchObject({
      step: 'update_inventory',
      error_type: 'timeout',
      template: 'ecommerce/process_order@2.1.3',
      revenue_at_risk: r.inventoryTimeouts.value,
      by_status: { failed: r.inventoryTimeouts.tasks },
    });
    const failed = top.by_status.failed;
    expect(failed).toBeGreaterThan(10);
    expect(r.triage.dryRun).toMatchObject({ dry_run: true, would_change: failed });
    expect((r.triage.dryRun.steps as { rerun: Record<string, number> }).rerun.update_inventory).toBe(failed);
    expect(r.triage.job).toMatchObject({ status: 'completed', done: failed, failed: 0 });
    expect(r.triage.finalStatuses.complete).toBe(failed);
    const audit = r.triage.audit.entries as Array<Record<string, unknown>>;
    expect(audit.slice(0, 2).map((e) => [e.action, e.outcome, e.task_count])).toEqual([
      ['bulk.finished', 'ok', 0],
      ['bulk.retry', 'ok', failed],
    ]);
  });

  it('answers every dashboard panel query with data from the real Prometheus', async () => {
    const queries = dashboardQueries(readDashboard());
    expect(queries.length).toBeGreaterThan(15);
    const empty: string[] = [];
    for (const q of queries) {
      const result = await r.stack?.query(fillVariables(q.expr, { rateInterval: '1m', range: '5m' }));
      // Data: at least one series with a finite value (a NaN-only answer shows nothing either).
      if (!result?.some((x) => Number.isFinite(Number(x.value[1])))) empty.push(`${q.panel} (${q.refId})`);
    }
    expect(empty).toEqual([]);
  });
});
