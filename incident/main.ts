/**
 * `npm run incident`: the seed's 2:17 AM story, replayed on this machine and narrated as the on-call
 * engineer would live it (see docs/incident-walkthrough.md). Options: --rate N (orders/s, default 20),
 * --calm S (seconds before the fault, default 20), --share F (share of orders that hang, default 0.3).
 */
import { parseArgs } from 'node:util';
import { replayIncident } from './replay.js';

function num(v: string | undefined, flag: string, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) {
    process.stderr.write(`incident: ${flag}: expected a number from ${min} to ${max}, got "${v}"\n`);
    process.exit(2);
  }
  return n;
}

function show(title: string, value: unknown): void {
  process.stdout.write(`\n${title}\n${JSON.stringify(value, null, 2)}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { rate: { type: 'string' }, calm: { type: 'string' }, share: { type: 'string' } },
    strict: true,
  });
  const t0 = Date.now();
  const say = (line: string) =>
    process.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${line}\n`);
  const r = await replayIncident({
    rate: num(values.rate, '--rate', 20, 1, 200),
    calmSeconds: num(values.calm, '--calm', 20, 5, 600),
    faultShare: num(values.share, '--share', 0.3, 0.01, 1),
    say,
  });
  try {
    const tasks = (r.failedList.body as { tasks?: Array<Record<string, unknown>> }).tasks ?? [];
    say(
      `curl "${r.url}/tasks?status=failed&namespace=ecommerce&limit=100"  → ${tasks.length} failed orders; the newest three:`,
    );
    show(
      '',
      tasks.slice(0, 3).map((t) => ({ id: t.id, status: t.status, correlation_id: t.correlation_id })),
    );
    if (r.detail) {
      const d = r.detail.body;
      say(`curl "${r.url}/tasks/${String(d.id)}?include_dependencies=true&include_business_metrics=true"`);
      show('dependencies:', d.dependencies);
      show('failure_impact:', d.failure_impact);
      const inventory = (d.steps as Array<Record<string, unknown>>).find(
        (s) => s.name === 'update_inventory',
      );
      show('the update_inventory step:', inventory);
    }
    say(`curl "${r.url}/analytics/business-impact?time_range=1h&namespace=ecommerce"`);
    show('impact_analysis:', r.businessImpact.body.impact_analysis);
    say(
      `the failed orders' order_value, as the replay generated them: ${r.failedOrderValue} (${r.failedTasks} orders)` +
        (r.prometheusFailedValue !== null
          ? `; Prometheus: sum(tasker_business_value_total{status="failed"}) = ${r.prometheusFailedValue}`
          : ''),
    );
    if (r.traceTree.length > 0) {
      say('the trace of that order (trace id = its task id):');
      process.stdout.write(`${r.traceTree.map((l) => `    ${l}`).join('\n')}\n`);
    }
    const g = (r.triage.groups.groups as Array<Record<string, unknown>>)[0] ?? {};
    say(`curl "${r.url}/analytics/failure-groups?time_range=1h&namespace=ecommerce"  → the top group:`);
    show('', {
      fingerprint: g.fingerprint,
      template: g.template,
      step: g.step,
      error_type: g.error_type,
      signature: g.signature,
      tasks: g.tasks,
      revenue_at_risk: g.revenue_at_risk,
      affected_customers: g.affected_customers,
      ongoing: g.ongoing,
      suggested_action: g.suggested_action,
    });
    say(
      `curl -X POST "${r.url}/bulk-actions" -d '{"action":"retry","filter":{"failure_group":"${String(g.fingerprint)}"},"reason":"inventory service fixed (replay)","dry_run":true}'`,
    );
    const d = r.triage.dryRun;
    show('dry run:', {
      matched: d.matched,
      would_change: d.would_change,
      skipped_count: d.skipped_count,
      steps: d.steps,
    });
    say('…the fault is cleared; the same request without dry_run starts the job:');
    show('job:', r.triage.job);
    say(`the group's tasks now: ${JSON.stringify(r.triage.finalStatuses)}`);
    show(
      'audit log (newest first):',
      (r.triage.audit.entries as Array<Record<string, unknown>>).slice(0, 2).map((e) => ({
        at: e.at,
        actor: e.actor,
        action: e.action,
        outcome: e.outcome,
        reason: e.reason,
        task_count: e.task_count,
        job_id: e.job_id,
      })),
    );
    const times = Object.entries(r.secondsToAlert);
    if (times.length > 0) say(`fault → alert: ${times.map(([a, s]) => `${a} ${s.toFixed(1)} s`).join(', ')}`);
    else if (r.stack) say('no alert reached the webhook in time');
  } finally {
    await r.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `incident failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
