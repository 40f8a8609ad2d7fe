/** Triage records → the API's snake_case JSON (console/CONTRACT.md, "Triage"). */
import type { TaskTemplate } from '../core/template.js';
import type { FailureGroup } from '../core/failure-groups.js';
import type { StepRun } from '../core/run-compare.js';
import type { AuditRecord, BulkItemRecord, BulkJobView } from '../store/port.js';
import type { BulkPreview } from '../triage/bulk-actions.js';
import type { Comparison } from '../triage/compare.js';
import { apiTaskStatus, fullName, iso, presentTaskSummary } from './present.js';

const secs = (ms: number) => Math.round(ms) / 1000;

export function presentGroup(
  g: FailureGroup,
  hostOf: (workerId: string) => string | null,
  /** The group's template as this process knows it (its SLA and whether it is a critical workflow). */
  template?: Pick<TaskTemplate, 'critical' | 'slaSeconds'>,
): Record<string, unknown> {
  return {
    fingerprint: g.fingerprint,
    kind: g.kind,
    namespace: g.namespace,
    name: g.name,
    version: g.version,
    template: `${g.namespace}/${g.name}@${g.version}`,
    step: g.step,
    error_type: g.errorType,
    signature: g.signature,
    message: g.message,
    tasks: g.tasks,
    attempts: g.attempts,
    by_status: g.byStatus,
    first_seen: iso(g.firstSeen),
    last_seen: iso(g.lastSeen),
    ongoing: g.ongoing,
    revenue_at_risk: g.revenueAtRisk,
    affected_customers: g.affectedCustomers,
    workers: g.workers.map((id) => ({ id, host: hostOf(id) })),
    versions: g.versions,
    example_task_ids: g.exampleTaskIds,
    suggested_action: g.suggestedAction,
    series: g.series,
    critical: template?.critical === true,
    sla_seconds: template?.slaSeconds ?? null,
  };
}

export function presentPreview(p: BulkPreview, listed = 200): Record<string, unknown> {
  const steps =
    p.action === 'retry'
      ? { rerun: p.first, kept: p.second }
      : p.action === 'cancel'
        ? { aborted: p.first, never_run: p.second }
        : { resolved: p.first, unblocked: p.second };
  const [a, b] =
    p.action === 'retry'
      ? ['rerun', 'kept']
      : p.action === 'cancel'
        ? ['aborted', 'never_run']
        : ['resolved', 'unblocked'];
  return {
    dry_run: true,
    action: p.action,
    matched: p.matched,
    would_change: p.wouldChange,
    max_tasks: p.maxTasks,
    exceeds_max_tasks: p.exceedsMaxTasks,
    skipped_count: p.skipped.length,
    skipped: p.skipped.slice(0, listed).map((s) => ({
      task_id: s.taskId,
      status: s.status === null ? null : apiTaskStatus(s.status),
      reason: s.reason,
      message: s.message,
    })),
    hidden: p.hidden,
    steps,
    tasks: p.tasks.slice(0, listed).map((t) => ({
      task_id: t.task.id,
      namespace: t.task.namespace,
      name: t.task.name,
      version: t.task.version,
      full_name: fullName(t.task),
      status: apiTaskStatus(t.task.status),
      [a]: t.first,
      [b]: t.second,
    })),
    tasks_truncated: p.tasks.length > listed,
  };
}

export function presentJob(j: BulkJobView): Record<string, unknown> {
  return {
    id: j.id,
    action: j.action,
    status: j.status,
    actor: j.actor,
    reason: j.reason,
    filter: j.filter,
    step: j.step,
    created_at: iso(j.createdAt),
    finished_at: iso(j.finishedAt),
    max_tasks: j.maxTasks,
    rate_per_second: j.ratePerSecond,
    total: j.counts.pending + j.counts.done + j.counts.skipped + j.counts.failed,
    ...j.counts,
  };
}

export function presentItem(i: BulkItemRecord): Record<string, unknown> {
  return { task_id: i.taskId, status: i.status, message: i.message, at: iso(i.at) };
}

export function presentAudit(a: AuditRecord): Record<string, unknown> {
  return {
    id: a.id,
    at: iso(a.at),
    actor: a.actor,
    action: a.action,
    outcome: a.outcome,
    reason: a.reason,
    namespace: a.namespace,
    task_ids: a.taskIds,
    task_count: a.taskCount,
    filter: a.filter,
    job_id: a.jobId,
    detail: a.detail,
  };
}

function presentRun(r: StepRun): Record<string, unknown> {
  return {
    status: r.status === 'complete' || r.status === 'error' ? apiTaskStatus(r.status) : r.status,
    attempts: r.attempts,
    queue_wait_seconds: secs(r.queueWaitMs),
    execution_seconds: secs(r.executionMs),
    backoff_seconds: secs(r.backoffMs),
    workers: r.workers,
    hosts: r.hosts,
    error_type: r.errorType,
    error: r.error,
    input_hash: r.inputHash,
    results_hash: r.resultsHash,
  };
}

export function presentComparison(c: Comparison): Record<string, unknown> {
  return {
    task: presentTaskSummary(c.task),
    baseline: c.baseline ? presentTaskSummary(c.baseline) : null,
    baseline_choice: c.choice,
    note: c.note,
    steps: c.steps.map((s) => ({
      name: s.name,
      changed: s.changed,
      run: presentRun(s.run),
      baseline: s.baseline ? presentRun(s.baseline) : null,
    })),
    differences: c.differences.map((d) => ({ step: d.step, fields: d.fields, text: d.text })),
  };
}
