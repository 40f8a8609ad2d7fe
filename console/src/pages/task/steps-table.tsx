/**
 * Per step: status, attempts, durations, worker, error; the selected step expands into its attempts
 * (outcome, error, duration, queue wait, worker), results, handler config and wait reason.
 */
import { Fragment } from 'react';
import type { Attempt, Step } from '../../api/types';
import { StatusBadge } from '../../components/status';
import { DateTime, RelativeTime } from '../../components/time';
import { formatDuration, parseTime } from '../../lib/format';
import { prettyJson } from '../../lib/json-input';

function queueWait(a: { queued_at: string | null; started_at: string | null }): number | null {
  const q = parseTime(a.queued_at);
  const s = parseTime(a.started_at);
  return q !== null && s !== null ? (s - q) / 1000 : null;
}

function AttemptsTable({ attempts, step, now }: { attempts: Attempt[]; step: Step; now: number }) {
  const running = step.status === 'in_progress';
  if (!attempts.length && !running) return <p className="muted">No attempt yet.</p>;
  return (
    <table className="table table--compact table--nested">
      <caption className="caption">Attempts of {step.name}</caption>
      <thead>
        <tr>
          <th scope="col">#</th>
          <th scope="col">Outcome</th>
          <th scope="col">Error</th>
          <th scope="col">Started</th>
          <th scope="col" className="num">
            Queue wait
          </th>
          <th scope="col" className="num">
            Duration
          </th>
          <th scope="col">Worker</th>
        </tr>
      </thead>
      <tbody>
        {attempts.map((a) => (
          <tr key={a.attempt}>
            <td className="num">{a.attempt}</td>
            <td>
              <span className={`outcome-word outcome-word--${a.outcome}`}>{a.outcome}</span>
            </td>
            <td className="wrap">
              {a.error_type || a.error_message ? (
                <>
                  {a.error_type && <strong>{a.error_type}</strong>}
                  {a.error_message && (
                    <span>
                      {a.error_type ? ': ' : ''}
                      {a.error_message}
                    </span>
                  )}
                </>
              ) : (
                <span className="muted">—</span>
              )}
            </td>
            <td>
              <DateTime iso={a.started_at} />
            </td>
            <td className="num">{formatDuration(queueWait(a))}</td>
            <td className="num">{formatDuration(a.duration_seconds)}</td>
            <td className="mono small">{a.worker_id ?? '—'}</td>
          </tr>
        ))}
        {running && (
          <tr className="row--running">
            <td className="num">{step.attempts}</td>
            <td>
              <span className="outcome-word outcome-word--running">running</span>
            </td>
            <td className="muted">—</td>
            <td>
              <DateTime iso={step.started_at} />
            </td>
            <td className="num">
              {formatDuration(queueWait({ queued_at: step.queued_at ?? null, started_at: step.started_at }))}
            </td>
            <td className="num">
              {step.started_at
                ? `${formatDuration((now - (parseTime(step.started_at) ?? now)) / 1000)} so far`
                : '—'}
            </td>
            <td className="mono small">{step.worker_id ?? '—'}</td>
          </tr>
        )}
      </tbody>
    </table>
  );
}

function StepDetails({ step, attempts, now }: { step: Step; attempts: Attempt[]; now: number }) {
  return (
    <div className="step-details">
      <dl className="facts-grid facts-grid--small">
        <div className="fact">
          <dt>Handler</dt>
          <dd className="mono">{step.handler}</dd>
        </div>
        <div className="fact">
          <dt>Depends on</dt>
          <dd className="mono">{step.depends_on.length ? step.depends_on.join(', ') : 'nothing (root)'}</dd>
        </div>
        <div className="fact">
          <dt>Timeout</dt>
          <dd>{step.timeout_seconds ? formatDuration(step.timeout_seconds) : '—'}</dd>
        </div>
        <div className="fact">
          <dt>Ready at</dt>
          <dd>{step.ready_at ? <RelativeTime iso={step.ready_at} now={now} /> : '—'}</dd>
        </div>
        {step.lease_expires_at && (
          <div className="fact">
            <dt>Lease expires</dt>
            <dd>
              <RelativeTime iso={step.lease_expires_at} now={now} />
            </dd>
          </div>
        )}
        {step.wait && (
          <div className="fact fact--wide">
            <dt>Wait</dt>
            <dd>
              <code className="why__code">{step.wait.reason}</code> {step.wait.message}
            </dd>
          </div>
        )}
      </dl>
      <AttemptsTable attempts={attempts} step={step} now={now} />
      <div className="json-pair">
        <div>
          <h4 className="subhead">Results</h4>
          {step.results === undefined || step.results === null ? (
            <p className="muted">none</p>
          ) : (
            <pre className="json">{prettyJson(step.results)}</pre>
          )}
        </div>
        <div>
          <h4 className="subhead">Handler config</h4>
          {step.handler_config === undefined || step.handler_config === null ? (
            <p className="muted">none</p>
          ) : (
            <pre className="json">{prettyJson(step.handler_config)}</pre>
          )}
        </div>
      </div>
    </div>
  );
}

export function StepsTable({
  steps,
  attempts,
  selected,
  onSelect,
  now,
  renderActions,
}: {
  steps: Step[];
  attempts: Attempt[] | undefined;
  selected: string | null;
  onSelect: (step: string | null) => void;
  now: number;
  renderActions: (step: Step) => React.ReactNode;
}) {
  const byStep = new Map<string, Attempt[]>();
  for (const a of attempts ?? []) byStep.set(a.step_name, [...(byStep.get(a.step_name) ?? []), a]);
  return (
    <div className="table-wrap">
      <table className="table">
        <caption className="sr-only">
          Steps in DAG order; select one to see its attempts, results and configuration
        </caption>
        <thead>
          <tr>
            <th scope="col">Step</th>
            <th scope="col">Status</th>
            <th scope="col" className="num">
              Attempts
            </th>
            <th scope="col" className="num">
              Duration
            </th>
            <th scope="col" className="num">
              Queue wait
            </th>
            <th scope="col">Worker</th>
            <th scope="col">Error / note</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {steps.map((step) => {
            const list = byStep.get(step.name) ?? [];
            const last = list[list.length - 1];
            const isOpen = selected === step.name;
            const wait =
              step.status === 'in_progress'
                ? queueWait({ queued_at: step.queued_at ?? null, started_at: step.started_at })
                : last
                  ? queueWait(last)
                  : null;
            return (
              <Fragment key={step.name}>
                <tr className={`step-row${isOpen ? ' is-selected' : ''}`} data-step-row={step.name}>
                  <th scope="row">
                    <button
                      type="button"
                      className="disclosure mono"
                      aria-expanded={isOpen}
                      onClick={() => onSelect(isOpen ? null : step.name)}
                    >
                      <span className="disclosure__arrow" aria-hidden="true">
                        {isOpen ? '▾' : '▸'}
                      </span>
                      {step.name}
                    </button>
                  </th>
                  <td>
                    <StatusBadge status={step.status} />
                  </td>
                  <td className="num">
                    {step.attempts}/{step.max_attempts}
                  </td>
                  <td className="num">{formatDuration(step.execution_time_seconds)}</td>
                  <td className="num">{formatDuration(wait)}</td>
                  <td className="mono small">{step.worker_id ?? last?.worker_id ?? '—'}</td>
                  <td className="wrap">
                    {step.error_type || step.error_message ? (
                      <span className="text-danger">
                        {step.error_type}
                        {step.error_message ? `: ${step.error_message}` : ''}
                      </span>
                    ) : step.blocked_by?.length ? (
                      <span className="muted">blocked by {step.blocked_by.join(', ')}</span>
                    ) : (
                      <span className="muted">—</span>
                    )}
                  </td>
                  <td className="actions-cell">{renderActions(step)}</td>
                </tr>
                {isOpen && (
                  <tr className="step-details-row">
                    <td colSpan={8}>
                      <StepDetails step={step} attempts={list} now={now} />
                    </td>
                  </tr>
                )}
              </Fragment>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
