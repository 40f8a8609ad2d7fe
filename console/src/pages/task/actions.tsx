/**
 * Operator actions (tasks:write or admin only): Retry, Cancel, Resolve. Each asks for confirmation in a
 * modal and reports the outcome (or the API's error message) in a live region.
 */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { api, errorMessage } from '../../api/client';
import { keys } from '../../api/queries';
import type { Step, TaskDetail } from '../../api/types';
import { Dialog } from '../../components/dialog';
import { checkJson } from '../../lib/json-input';

export type PendingAction = { kind: 'retry' } | { kind: 'cancel' } | { kind: 'resolve'; step: string };

export interface Outcome {
  ok: boolean;
  text: string;
}

export const canRetry = (task: TaskDetail) => task.status === 'failed';
export const canCancel = (task: TaskDetail) =>
  task.status === 'pending' || task.status === 'in_progress' || task.status === 'failed';
export const canResolve = (step: Step) =>
  step.status === 'failed' || step.status === 'pending' || step.status === 'waiting_for_retry';

function ReasonField({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id} className="field__label">
        Reason (optional, recorded in the audit trail)
      </label>
      <textarea
        id={id}
        className="input textarea"
        rows={2}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        maxLength={500}
      />
    </div>
  );
}

function ResolveEditor({
  text,
  onChange,
  error,
}: {
  text: string;
  onChange: (v: string) => void;
  error: string | null;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id} className="field__label">
        Results (JSON), handed to the steps that depend on this one
      </label>
      <textarea
        id={id}
        className={`input textarea mono${error ? ' input--invalid' : ''}`}
        rows={8}
        spellCheck={false}
        value={text}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={error !== null}
        aria-describedby={`${id}-status`}
      />
      <p
        id={`${id}-status`}
        className={error ? 'field__error' : 'field__ok'}
        role={error ? 'alert' : undefined}
      >
        {error ? `Invalid JSON: ${error}` : 'Valid JSON'}
      </p>
    </div>
  );
}

export function ActionDialog({
  task,
  action,
  onClose,
  onOutcome,
}: {
  task: TaskDetail;
  action: PendingAction;
  onClose: () => void;
  onOutcome: (o: Outcome) => void;
}) {
  const client = useQueryClient();
  const [reason, setReason] = useState('');
  const [json, setJson] = useState('{}');
  const check = checkJson(json);

  const mutation = useMutation({
    mutationFn: async () => {
      if (action.kind === 'retry') return api.retryTask(task.id, reason.trim());
      if (action.kind === 'cancel') return api.cancelTask(task.id, reason.trim());
      if (!check.ok) throw new Error(check.error);
      return api.resolveStep(task.id, action.step, check.value);
    },
    onSuccess: (result) => {
      const what =
        action.kind === 'retry'
          ? 'Retry accepted'
          : action.kind === 'cancel'
            ? 'Task cancelled'
            : `Step ${action.step} resolved`;
      onOutcome({ ok: true, text: `${what}: the task is now ${result.status.replace(/_/g, ' ')}.` });
      onClose();
    },
    onError: (error) => {
      onOutcome({ ok: false, text: errorMessage(error) });
      onClose();
    },
    onSettled: () => client.invalidateQueries({ queryKey: keys.task(task.id) }),
  });

  if (action.kind === 'resolve') {
    return (
      <Dialog
        title={`Resolve step ${action.step}`}
        onClose={onClose}
        onConfirm={() => mutation.mutate()}
        confirmDisabled={!check.ok}
        busy={mutation.isPending}
      >
        <p>
          Marks <strong className="mono">{action.step}</strong> as done by hand ({task.full_name}). Steps that
          depend on it run next, with these results.
        </p>
        <ResolveEditor text={json} onChange={setJson} error={check.ok ? null : check.error} />
      </Dialog>
    );
  }
  const retry = action.kind === 'retry';
  return (
    <Dialog
      title={retry ? 'Retry this task?' : 'Cancel this task?'}
      onClose={onClose}
      onConfirm={() => mutation.mutate()}
      busy={mutation.isPending}
      danger={!retry}
    >
      <p>
        {retry
          ? 'Failed steps get a fresh attempt budget and run again; completed steps are kept.'
          : 'Steps not yet done are cancelled; running handlers are asked to stop. This cannot be undone.'}
      </p>
      <p className="mono small">{task.id}</p>
      <ReasonField value={reason} onChange={setReason} />
    </Dialog>
  );
}

export function OutcomeRegion({ outcome }: { outcome: Outcome | null }) {
  return (
    <div className="outcome-region" aria-live="polite" role="status">
      {outcome && (
        <p className={`outcome ${outcome.ok ? 'outcome--ok' : 'outcome--error'}`}>{outcome.text}</p>
      )}
    </div>
  );
}
