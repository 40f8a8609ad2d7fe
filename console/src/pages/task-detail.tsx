/**
 * The page an incident is solved on: what the task is, what to do (suggested action), where it is stuck
 * (DAG, why-panel), where the time went (timeline), the evidence per step, how it differs from the last
 * good run, the audit trail (transitions, operator actions), and the operator actions. The selected step
 * is in the URL (?step=) so a link can point at it.
 */
import { lazy, Suspense, useCallback, useDeferredValue, useEffect, useMemo, useState } from 'react';
import { ApiError } from '../api/client';
import { useTask } from '../api/queries';
import type { Step, TaskDetail } from '../api/types';
import { useAuth } from '../auth/auth';
import { ErrorMessage, Loading } from '../components/feedback';
import { Panel } from '../components/panel';
import { StatusBadge } from '../components/status';
import { TimelineChart } from '../components/timeline/timeline-chart';
import { useNow } from '../hooks/use-now';
import { endedAt, formatDuration } from '../lib/format';
import { auditSearch, emptyAuditFilters } from '../lib/audit';
import { paths } from '../lib/routes';
import { buildTimeline } from '../lib/timeline';
import { Link, setSearch, useLocation } from '../router';
import {
  ActionDialog,
  canCancel,
  canResolve,
  canRetry,
  OutcomeRegion,
  type Outcome,
  type PendingAction,
} from './task/actions';
import { TaskAudit } from './task/audit-panel';
import { ComparePanelBody } from './task/compare-panel';
import { TaskHeader } from './task/header';
import { InlineCode } from './task/inline-code';
import { StepsTable } from './task/steps-table';
import { TransitionsTable } from './task/transitions-table';
import { WhyPanel } from './task/why-panel';
import { useTitle } from './use-title';

const DagView = lazy(() => import('../components/dag/dag-view'));

function SuggestedAction({ task }: { task: TaskDetail }) {
  const deps = task.dependencies;
  const action = deps?.suggested_action ?? null;
  const tone = task.status === 'failed' ? 'bad' : action ? 'warn' : 'ok';
  return (
    <section className={`suggestion suggestion--${tone}`} aria-labelledby="suggestion-title">
      <h2 id="suggestion-title" className="suggestion__title">
        Suggested action
      </h2>
      <p className="suggestion__action" data-testid="suggested-action">
        {action ? <InlineCode text={action} /> : 'Nothing to do: no step needs an operator.'}
      </p>
      {deps?.analysis && (
        <p className="suggestion__analysis">
          <span className="suggestion__label">Analysis</span> <InlineCode text={deps.analysis} />
        </p>
      )}
      {deps && (deps.bottleneck_step || deps.critical_path.length > 0) && (
        <p className="suggestion__meta">
          {deps.bottleneck_step && (
            <span>
              bottleneck <strong className="mono">{deps.bottleneck_step}</strong>
              {deps.bottleneck_identified ? '' : ' (not dominant)'}
            </span>
          )}
          {deps.critical_path.length > 0 && (
            <span>
              critical path {deps.critical_path.length} steps, {formatDuration(deps.critical_path_seconds)}
            </span>
          )}
        </p>
      )}
    </section>
  );
}

/** The step picked in the DAG or timeline, with a way to its details further down. */
function SelectedStep({ step, onClear }: { step: Step; onClear: () => void }) {
  const reveal = () => {
    const row = document.querySelector<HTMLElement>(`[data-step-row="${CSS.escape(step.name)}"]`);
    row?.scrollIntoView({ behavior: 'smooth', block: 'start' });
    row?.querySelector<HTMLElement>('button')?.focus({ preventScroll: true });
  };
  return (
    <div className="selected-step" role="status">
      <span className="muted">Selected step</span> <strong className="mono">{step.name}</strong>{' '}
      <StatusBadge status={step.status} compact />
      {step.wait && <span className="selected-step__wait">{step.wait.message}</span>}
      <span className="selected-step__actions">
        <button type="button" className="btn btn--tiny" onClick={reveal}>
          Attempts and results ↓
        </button>
        <button type="button" className="btn btn--tiny" onClick={onClear}>
          Clear
        </button>
      </span>
    </div>
  );
}

function stepDuration(step: Step): number | null {
  return step.execution_time_seconds;
}

function TaskDetailView({ task }: { task: TaskDetail }) {
  const { canWrite } = useAuth();
  const { search } = useLocation();
  const selected = new URLSearchParams(search).get('step');
  const selectedStep = task.steps.find((s) => s.name === selected) ?? null;
  const open = task.status === 'pending' || task.status === 'in_progress';
  const now = useNow(open ? 1000 : 30_000);
  const [pending, setPending] = useState<PendingAction | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [compareOpen, setCompareOpen] = useState(false);

  const select = (step: string | null) => {
    const params = new URLSearchParams(search);
    if (step) params.set('step', step);
    else params.delete('step');
    const text = params.toString();
    setSearch(text ? `?${text}` : '', { replace: true });
  };

  const dagSteps = useMemo(
    () =>
      task.steps.map((s) => ({
        name: s.name,
        depends_on: s.depends_on,
        status: s.status,
        handler: s.handler,
        attempts: s.attempts,
        maxAttempts: s.max_attempts,
        duration: stepDuration(s),
        blockedBy: s.status === 'blocked' ? s.blocked_by : undefined,
      })),
    [task.steps],
  );
  const criticalPath = task.dependencies?.critical_path;
  const bottleneck = task.dependencies?.bottleneck_step ?? task.performance_metrics?.bottleneck_step ?? null;
  // The header, the suggested action and the DAG come first; the long sections (a 200-step task has
  // thousands of rows and bars) render right after, in an interruptible background pass.
  const [dagDrawn, setDagDrawn] = useState(false);
  useEffect(() => {
    const fallback = setTimeout(() => setDagDrawn(true), 1200);
    return () => clearTimeout(fallback);
  }, []);
  const onDagReady = useCallback(() => setDagDrawn(true), []);
  const deferred = useDeferredValue(task);
  const later = dagDrawn ? deferred : null;
  const timeline = useMemo(
    () =>
      later
        ? buildTimeline({
            createdAt: later.created_at,
            endedAt: endedAt(later),
            steps: later.steps,
            attempts: later.attempts,
            now,
          })
        : null,
    [later, now],
  );

  const actions = canWrite ? (
    <>
      {canRetry(task) && (
        <button type="button" className="btn btn--primary" onClick={() => setPending({ kind: 'retry' })}>
          Retry
        </button>
      )}
      {canCancel(task) && (
        <button
          type="button"
          className="btn btn--danger-outline"
          onClick={() => setPending({ kind: 'cancel' })}
        >
          Cancel
        </button>
      )}
    </>
  ) : null;

  return (
    <div className="page page--detail">
      <TaskHeader task={task} now={now} actions={actions} />
      <OutcomeRegion outcome={outcome} />
      <SuggestedAction task={task} />

      <Panel title="DAG" id="dag">
        <Suspense fallback={<Loading what="Drawing the DAG" />}>
          <DagView
            steps={dagSteps}
            criticalPath={criticalPath}
            bottleneck={bottleneck}
            selected={selected}
            onSelect={select}
            label={`Steps of ${task.full_name}`}
            onReady={onDagReady}
          />
        </Suspense>
      </Panel>

      {selectedStep && <SelectedStep step={selectedStep} onClear={() => select(null)} />}

      <Panel title="Why is this step not done yet?" id="why">
        {later ? (
          <WhyPanel steps={later.steps} now={now} selected={selected} onSelect={select} />
        ) : (
          <Loading />
        )}
      </Panel>

      <Panel title="Timeline" id="timeline" className="panel--deferred">
        {timeline ? <TimelineChart timeline={timeline} selected={selected} onSelect={select} /> : <Loading />}
      </Panel>

      <Panel title="Steps" id="steps" className="panel--deferred">
        {later ? (
          <StepsTable
            steps={later.steps}
            attempts={later.attempts}
            selected={selected}
            onSelect={select}
            now={now}
            renderActions={(step) =>
              canWrite && canResolve(step) ? (
                <button
                  type="button"
                  className="btn btn--tiny"
                  onClick={() => setPending({ kind: 'resolve', step: step.name })}
                >
                  Resolve
                </button>
              ) : null
            }
          />
        ) : (
          <Loading />
        )}
      </Panel>

      <Panel
        title="Compare with last good run"
        id="compare"
        className="panel--deferred"
        actions={
          compareOpen ? (
            <button type="button" className="btn btn--tiny" onClick={() => setCompareOpen(false)}>
              Hide
            </button>
          ) : null
        }
      >
        <ComparePanelBody taskId={task.id} open={compareOpen} onOpen={() => setCompareOpen(true)} />
      </Panel>

      {task.context !== undefined && (
        <Panel title="Context" id="context" className="panel--deferred">
          <details className="context">
            <summary>Task context (redacted by the server)</summary>
            <pre className="json">{JSON.stringify(task.context, null, 2)}</pre>
          </details>
        </Panel>
      )}

      <Panel title="Transitions" id="transitions" className="panel--deferred">
        {later ? <TransitionsTable taskId={task.id} /> : <Loading />}
      </Panel>

      <Panel
        title="Audit"
        id="audit"
        className="panel--deferred"
        actions={
          <Link to={paths.audit(auditSearch({ ...emptyAuditFilters(), task_id: task.id }))}>Audit log</Link>
        }
      >
        {later ? <TaskAudit taskId={task.id} /> : <Loading />}
      </Panel>

      {pending && canWrite && (
        <ActionDialog task={task} action={pending} onClose={() => setPending(null)} onOutcome={setOutcome} />
      )}
    </div>
  );
}

export function TaskDetailPage({ id }: { id: string }) {
  const task = useTask(id);
  useTitle(task.data ? `${task.data.full_name} ${task.data.status}` : 'Task');
  if (task.isPending) return <Loading what="Loading task" />;
  if (task.error) {
    const notFound = task.error instanceof ApiError && task.error.status === 404;
    return (
      <div className="page">
        <h1 className="page__title">{notFound ? 'Task not found' : 'Could not load the task'}</h1>
        <p className="mono">{id}</p>
        <ErrorMessage error={task.error} retry={notFound ? undefined : () => void task.refetch()} />
        <p>
          <Link to={paths.tasks()}>Back to tasks</Link>
        </p>
      </div>
    );
  }
  return <TaskDetailView task={task.data} />;
}
