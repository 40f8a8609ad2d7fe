/**
 * "Retry all" / "Cancel all" for a failure group. Always two steps: a dry run (POST /bulk-actions with
 * dry_run: true, changes nothing) shows what would change, what is skipped and why, and per step what runs
 * again; only then does "Confirm: retry N tasks" start the real job, and the page moves to its progress.
 */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { api, type BulkActionBody } from '../../api/client';
import type { BulkDryRun, FailureGroup } from '../../api/types';
import { Dialog } from '../../components/dialog';
import { ErrorMessage } from '../../components/feedback';
import { StatusBadge } from '../../components/status';
import {
  actionVerb,
  checkReason,
  dryRunSummary,
  dryTaskSteps,
  MAX_TASKS_LIMIT,
  raisedLimit,
  REASON_MAX,
  skippedByReason,
  skipLabel,
  stepTable,
  tasksText,
} from '../../lib/bulk';
import { paths } from '../../lib/routes';
import { rangeLabel, type TimeRangeChoice } from '../../lib/time-range';
import { Link, navigate } from '../../router';

export type GroupAction = 'retry' | 'cancel';

const INTRO: Record<GroupAction, string> = {
  retry:
    'Retries every task of this group that is still failed: failed steps and the steps they blocked run again; completed steps are kept.',
  cancel:
    'Cancels every task of this group that is not finished: running steps are aborted, pending ones never run. This cannot be undone.',
};

/** Task links in the modal open a new tab, so the preview stays. */
function TaskLink({ id }: { id: string }) {
  return (
    <Link to={paths.task(id)} target="_blank" rel="noopener" className="mono small">
      {id}
    </Link>
  );
}

function Preview({ dry, onRaiseLimit }: { dry: BulkDryRun; onRaiseLimit: (limit: number) => void }) {
  const summary = dryRunSummary(dry);
  const steps = stepTable(dry.action, dry.steps);
  const reasons = skippedByReason(dry.skipped);
  const raise = raisedLimit(dry);
  return (
    <div className="preview" data-dry-run="">
      <p className="preview__headline">{summary.headline}</p>
      {summary.notes.length > 0 && (
        <ul className="preview__notes">
          {summary.notes.map((n) => (
            <li key={n}>{n}</li>
          ))}
        </ul>
      )}
      {summary.blocker && (
        <div className="error-box" role="alert">
          <span>{summary.blocker}</span>
          {raise !== null && (
            <button type="button" className="btn btn--tiny" onClick={() => onRaiseLimit(raise)}>
              Allow {tasksText(raise)} and preview again
            </button>
          )}
          {dry.exceeds_max_tasks && raise === null && (
            <span>
              The server allows at most {MAX_TASKS_LIMIT.toLocaleString('en-US')} per job: narrow the window.
            </span>
          )}
        </div>
      )}
      {steps.rows.length > 0 && (
        <table className="table table--compact table--nested">
          <caption className="caption">Steps, counted over the tasks that would change</caption>
          <thead>
            <tr>
              <th scope="col">Step</th>
              {steps.columns.map((c) => (
                <th key={c.key} scope="col" className="num">
                  {c.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {steps.rows.map((r) => (
              <tr key={r.step} data-preview-step={r.step}>
                <th scope="row" className="mono">
                  {r.step}
                </th>
                {r.counts.map((n, i) => (
                  <td key={steps.columns[i]?.key ?? i} className="num">
                    {n ? n.toLocaleString('en-US') : <span className="muted">0</span>}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {dry.skipped_count > 0 && (
        <details className="preview__more">
          <summary>
            Skipped: {tasksText(dry.skipped_count)}
            {reasons.length > 0 && ` (${reasons.map((r) => `${r.count} ${r.label}`).join(', ')})`}
          </summary>
          <table className="table table--compact table--nested">
            <thead>
              <tr>
                <th scope="col">Task</th>
                <th scope="col">Status</th>
                <th scope="col">Reason</th>
              </tr>
            </thead>
            <tbody>
              {dry.skipped.map((s) => (
                <tr key={s.task_id}>
                  <td>
                    <TaskLink id={s.task_id} />
                  </td>
                  <td>
                    {s.status ? <StatusBadge status={s.status} compact /> : <span className="muted">—</span>}
                  </td>
                  <td className="wrap">
                    <strong>{skipLabel(s.reason)}</strong>
                    {s.message ? ` · ${s.message}` : ''}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {dry.skipped.length < dry.skipped_count && (
            <p className="muted small">The first {dry.skipped.length} are listed.</p>
          )}
        </details>
      )}
      {dry.tasks.length > 0 && (
        <details className="preview__more">
          <summary>Tasks that would change ({tasksText(dry.would_change)})</summary>
          <table className="table table--compact table--nested">
            <thead>
              <tr>
                <th scope="col">Task</th>
                <th scope="col">Status</th>
                <th scope="col">{steps.columns[0]?.label ?? 'Steps'}</th>
              </tr>
            </thead>
            <tbody>
              {dry.tasks.map((t) => (
                <tr key={t.task_id}>
                  <td>
                    <TaskLink id={t.task_id} />
                  </td>
                  <td>
                    <StatusBadge status={t.status} compact />
                  </td>
                  <td className="mono small wrap">
                    {dryTaskSteps(t, steps.columns[0]?.key ?? 'rerun').join(', ') || '—'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {dry.tasks_truncated && <p className="muted small">The first {dry.tasks.length} are listed.</p>}
        </details>
      )}
    </div>
  );
}

export function BulkActionDialog({
  action,
  group,
  range,
  onClose,
}: {
  action: GroupAction;
  group: FailureGroup;
  range: TimeRangeChoice;
  onClose: () => void;
}) {
  const client = useQueryClient();
  const reasonId = useId();
  const [reason, setReason] = useState('');
  const [touched, setTouched] = useState(false);
  const reasonError = checkReason(reason);
  const verb = actionVerb(action);

  const bodyWith = (maxTasks?: number): BulkActionBody => ({
    action,
    filter: { failure_group: group.fingerprint, time_range: range },
    reason: reason.trim(),
    ...(maxTasks ? { max_tasks: maxTasks } : {}),
  });

  const preview = useMutation({ mutationFn: (body: BulkActionBody) => api.bulkDryRun(body) });
  const run = useMutation({
    mutationFn: (body: BulkActionBody) => api.startBulk(body),
    onSuccess: ({ job }) => {
      void client.invalidateQueries({ queryKey: ['bulk'] });
      void client.invalidateQueries({ queryKey: ['audit'] });
      onClose();
      navigate(paths.bulkJob(job.id));
    },
  });

  const runPreview = (maxTasks?: number) => {
    setTouched(true);
    if (reasonError) return;
    run.reset();
    preview.mutate(bodyWith(maxTasks));
  };

  const dry = preview.data;
  const summary = dry ? dryRunSummary(dry) : null;
  const confirm = () => {
    if (!dry || !summary?.canConfirm || reasonError) return;
    // The limit the preview was made with: the real run is refused if the group grew past it meanwhile.
    run.mutate(bodyWith(dry.max_tasks));
  };

  return (
    <Dialog
      title={action === 'retry' ? 'Retry all tasks of this group' : 'Cancel all tasks of this group'}
      onClose={onClose}
      onConfirm={confirm}
      confirmLabel={summary ? summary.confirmLabel : `Confirm: ${verb}`}
      confirmDisabled={!summary?.canConfirm || reasonError !== null || preview.isPending}
      busy={run.isPending}
      danger={action === 'cancel'}
      wide
    >
      <p>{INTRO[action]}</p>
      <p className="preview__group">
        <span className="mono small">{group.template}</span> ·{' '}
        <span className="mono strong">{group.step}</span>
        <br />
        <span className="mono">{group.signature}</span>
        <br />
        <span className="muted small">Window: {rangeLabel(range)}</span>
      </p>
      <div className="field">
        <label htmlFor={reasonId} className="field__label">
          Reason (required, recorded in the audit log)
        </label>
        <textarea
          id={reasonId}
          className={`input textarea${touched && reasonError ? ' input--invalid' : ''}`}
          rows={2}
          value={reason}
          onChange={(e) => setReason(e.target.value)}
          onBlur={() => setTouched(true)}
          maxLength={REASON_MAX}
          required
          aria-invalid={touched && reasonError !== null}
          aria-describedby={touched && reasonError ? `${reasonId}-error` : undefined}
        />
        {touched && reasonError && (
          <p id={`${reasonId}-error`} className="field__error" role="alert">
            {reasonError}
          </p>
        )}
      </div>
      <p className="preview__step">
        <button
          type="button"
          className="btn"
          onClick={() => runPreview(dry?.max_tasks)}
          disabled={preview.isPending || run.isPending}
        >
          {preview.isPending ? 'Previewing…' : dry ? 'Preview again' : 'Preview (dry run)'}
        </button>{' '}
        <span className="muted small">
          {dry ? 'Nothing has changed yet.' : `Shows what "${verb} all" would do; changes nothing.`}
        </span>
      </p>
      <div aria-live="polite">
        {preview.error ? <ErrorMessage error={preview.error} /> : null}
        {dry && <Preview dry={dry} onRaiseLimit={(limit) => runPreview(limit)} />}
        {run.error ? <ErrorMessage error={run.error} /> : null}
      </div>
    </Dialog>
  );
}
