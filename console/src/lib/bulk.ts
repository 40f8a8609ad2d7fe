/**
 * Bulk actions (CONTRACT.md "Bulk actions"): what a dry run says in words, the confirmation it leads to,
 * and a running job's progress. Pure.
 */
import type {
  BulkActionKind,
  BulkDryRun,
  BulkDryRunTask,
  BulkJob,
  BulkSkipped,
  BulkStepCounts,
} from '../api/types';

/** The server's own cap on `max_tasks`. */
export const MAX_TASKS_LIMIT = 10_000;
export const REASON_MAX = 2000;

const VERB: Record<BulkActionKind, string> = { retry: 'retry', cancel: 'cancel', resolve_step: 'resolve' };
const PAST: Record<BulkActionKind, string> = {
  retry: 'retried',
  cancel: 'cancelled',
  resolve_step: 'resolved',
};

export function actionVerb(action: string): string {
  return VERB[action as BulkActionKind] ?? action.replace(/_/g, ' ');
}

export function tasksText(n: number): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? 'task' : 'tasks'}`;
}

/** The reason is required by the API (1–2000 characters): the problem with this one, or null. */
export function checkReason(text: string): string | null {
  const value = text.trim();
  if (!value) return 'A reason is required: it is recorded in the audit log.';
  if (value.length > REASON_MAX) return `At most ${REASON_MAX.toLocaleString('en-US')} characters.`;
  return null;
}

export interface DryRunSummary {
  headline: string;
  /** "Confirm: retry 12 tasks". */
  confirmLabel: string;
  canConfirm: boolean;
  /** Why the real run cannot go ahead, if it cannot. */
  blocker: string | null;
  notes: string[];
}

export function dryRunSummary(dry: BulkDryRun): DryRunSummary {
  const verb = actionVerb(dry.action);
  const past = PAST[dry.action] ?? `${verb}ed`;
  const headline = `${tasksText(dry.would_change)} of ${dry.matched.toLocaleString('en-US')} matching would be ${past}.`;
  const notes: string[] = [];
  if (dry.skipped_count > 0) notes.push(`${tasksText(dry.skipped_count)} skipped (see the reasons below).`);
  if (dry.hidden > 0)
    notes.push(
      `${tasksText(dry.hidden)} in namespaces this token may not act in: left alone (ids not shown).`,
    );
  let blocker: string | null = null;
  if (dry.would_change === 0) blocker = 'Nothing to do: no matching task would change.';
  else if (dry.exceeds_max_tasks)
    blocker = `${tasksText(dry.would_change)} is more than this job's limit of ${dry.max_tasks.toLocaleString('en-US')}.`;
  return {
    headline,
    confirmLabel: `Confirm: ${verb} ${tasksText(dry.would_change)}`,
    canConfirm: blocker === null,
    blocker,
    notes,
  };
}

/** When a dry run is over the limit: the limit that would fit it, if the server allows one that high. */
export function raisedLimit(dry: BulkDryRun): number | null {
  if (!dry.exceeds_max_tasks) return null;
  return dry.would_change <= MAX_TASKS_LIMIT ? dry.would_change : null;
}

export interface StepColumn {
  key: string;
  label: string;
}

const STEP_COLUMNS: Record<BulkActionKind, StepColumn[]> = {
  retry: [
    { key: 'rerun', label: 'Run again' },
    { key: 'kept', label: 'Kept' },
  ],
  cancel: [
    { key: 'aborted', label: 'Aborted (running)' },
    { key: 'never_run', label: 'Never run' },
  ],
  resolve_step: [
    { key: 'resolved', label: 'Resolved' },
    { key: 'unblocked', label: 'Unblocked' },
  ],
};

export interface StepTable {
  columns: StepColumn[];
  rows: { step: string; counts: number[] }[];
}

/** Per step, how many tasks would run it again / keep it (retry), and so on: one row per step. */
export function stepTable(action: string, steps: BulkStepCounts | null | undefined): StepTable {
  const known = STEP_COLUMNS[action as BulkActionKind];
  const present = Object.keys(steps ?? {});
  const columns =
    known && (present.length === 0 || present.some((k) => known.some((c) => c.key === k)))
      ? known
      : present.map((key) => ({ key, label: key.replace(/_/g, ' ') }));
  const names = new Set<string>();
  for (const c of columns) for (const step of Object.keys(steps?.[c.key] ?? {})) names.add(step);
  const rows = [...names].map((step) => ({
    step,
    counts: columns.map((c) => steps?.[c.key]?.[step] ?? 0),
  }));
  const sum = (r: { counts: number[] }) => r.counts.reduce((a, b) => a + b, 0);
  rows.sort(
    (a, b) =>
      (b.counts[0] ?? 0) - (a.counts[0] ?? 0) || sum(b) - sum(a) || a.step.localeCompare(b.step, 'en'),
  );
  return { columns, rows };
}

/**
 * One dry-run task's steps in a column of stepTable (`rerun` for retry…), read under the column's own key
 * first, then under the contract's `rerun` / `kept`.
 */
export function dryTaskSteps(
  task: BulkDryRunTask,
  key: string,
  fallback: 'rerun' | 'kept' = 'rerun',
): string[] {
  const value = task[key] ?? task[fallback];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

const SKIP_LABELS: Record<string, string> = {
  not_failed: 'not failed',
  already_finished: 'already finished',
  no_such_step: 'no such step',
  step_done: 'step already done',
  not_visible: 'not visible to this token',
};

export function skipLabel(reason: string): string {
  return SKIP_LABELS[reason] ?? reason.replace(/_/g, ' ');
}

/** Skipped tasks counted by reason, most frequent first. */
export function skippedByReason(
  skipped: readonly BulkSkipped[],
): { reason: string; label: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const s of skipped) counts.set(s.reason, (counts.get(s.reason) ?? 0) + 1);
  return [...counts]
    .map(([reason, count]) => ({ reason, label: skipLabel(reason), count }))
    .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason, 'en'));
}

export interface BulkProgress {
  /** done + skipped + failed. */
  processed: number;
  total: number;
  /** 0–1. */
  ratio: number;
  /** Rounded down, so a job with one task left never reads 100%. */
  percent: string;
  /** Shares of the whole bar, 0–1 each. */
  segments: { done: number; skipped: number; failed: number };
  label: string;
}

export function bulkProgress(
  job: Pick<BulkJob, 'status' | 'total' | 'done' | 'skipped' | 'failed'>,
): BulkProgress {
  const clean = (n: number) => (Number.isFinite(n) && n > 0 ? n : 0);
  const done = clean(job.done);
  const skipped = clean(job.skipped);
  const failed = clean(job.failed);
  const processed = done + skipped + failed;
  const total = Math.max(clean(job.total), processed);
  const ratio = total > 0 ? processed / total : job.status === 'running' ? 0 : 1;
  const share = (n: number) => (total > 0 ? n / total : 0);
  const percent = `${Math.floor(ratio * 100)}%`;
  return {
    processed,
    total,
    ratio,
    percent,
    segments: { done: share(done), skipped: share(skipped), failed: share(failed) },
    label: `${processed.toLocaleString('en-US')} of ${tasksText(total)} processed (${percent})`,
  };
}

export const isRunning = (job: Pick<BulkJob, 'status'> | undefined | null) => job?.status === 'running';
