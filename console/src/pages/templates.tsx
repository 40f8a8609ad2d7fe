/**
 * Every registered template and version: its DAG (statuses neutral) and per step the handler, retry
 * policy, timeout, SLA, and whether any live worker can run it. The chosen template is in the URL.
 */
import { lazy, Suspense, useMemo } from 'react';
import { useHandlers } from '../api/queries';
import type { Template, TemplateStep } from '../api/types';
import { Empty, ErrorMessage, Loading } from '../components/feedback';
import { Panel } from '../components/panel';
import { formatDuration } from '../lib/format';
import { paths } from '../lib/routes';
import { emptyFilters, listSearch } from '../lib/task-filters';
import { Link, setSearch, useLocation } from '../router';
import { useTitle } from './use-title';

const DagView = lazy(() => import('../components/dag/dag-view'));

function backoffText(step: TemplateStep): string {
  const b = step.retry?.backoff;
  if (!b) return '—';
  const jitter = b.jitter ? ', jitter' : '';
  return `${formatDuration(b.base_seconds)} × ${b.multiplier}, max ${formatDuration(b.max_seconds)}${jitter}`;
}

function workerProblem(step: TemplateStep): string | undefined {
  if (step.live_workers === 0) return 'no live worker has this handler';
  if (step.live_workers === undefined && !step.handler_registered)
    return 'handler not registered on this server';
  return undefined;
}

function TemplateView({ template }: { template: Template }) {
  const dagSteps = useMemo(
    () =>
      template.steps.map((s) => ({
        name: s.name,
        depends_on: s.depends_on,
        handler: s.handler,
        warning: workerProblem(s),
        detail: `${s.retry?.max_attempts ?? s.max_attempts} attempts${s.timeout_seconds ? ` · timeout ${formatDuration(s.timeout_seconds)}` : ''}`,
      })),
    [template],
  );
  const missing = template.steps.filter((s) => workerProblem(s));
  return (
    <>
      <Panel
        title={
          <>
            <span className="mono">{template.full_name}</span>
          </>
        }
        id="template"
        actions={
          <Link
            to={paths.tasks(
              listSearch({
                filters: {
                  ...emptyFilters(),
                  namespace: template.namespace,
                  name: template.name,
                  version: template.version,
                },
                cursor: null,
              }),
            )}
          >
            Tasks of this version
          </Link>
        }
      >
        {template.description && <p>{template.description}</p>}
        <TemplateMonitoring template={template} />
        {missing.length > 0 && (
          <p className="error-box" role="alert">
            {missing.length === 1 ? 'Step' : 'Steps'} {missing.map((s) => s.name).join(', ')}: no live worker
            can run {missing.length === 1 ? 'its handler' : 'their handlers'}. Tasks of this template will
            wait at {missing.length === 1 ? 'that step' : 'those steps'}.
          </p>
        )}
        <Suspense fallback={<Loading what="Drawing the DAG" />}>
          <DagView steps={dagSteps} label={`Steps of template ${template.full_name}`} />
        </Suspense>
      </Panel>
      <Panel title="Steps" id="template-steps">
        <div className="table-wrap">
          <table className="table">
            <caption className="sr-only">Steps of {template.full_name}</caption>
            <thead>
              <tr>
                <th scope="col">Step</th>
                <th scope="col">Handler</th>
                <th scope="col">Depends on</th>
                <th scope="col" className="num">
                  Max attempts
                </th>
                <th scope="col">Retryable</th>
                <th scope="col">Backoff</th>
                <th scope="col" className="num">
                  Timeout
                </th>
                <th scope="col" className="num">
                  SLA
                </th>
                <th scope="col">Live workers</th>
              </tr>
            </thead>
            <tbody>
              {template.steps.map((s) => {
                const problem = workerProblem(s);
                return (
                  <tr key={s.name} className={problem ? 'row--failed' : undefined}>
                    <td className="mono">{s.name}</td>
                    <td className="mono">{s.handler}</td>
                    <td className="mono small">{s.depends_on.length ? s.depends_on.join(', ') : '—'}</td>
                    <td className="num">{s.retry?.max_attempts ?? s.max_attempts}</td>
                    <td>{(s.retry?.retryable ?? s.retryable) ? 'yes' : 'no'}</td>
                    <td className="small">{backoffText(s)}</td>
                    <td className="num">{s.timeout_seconds ? formatDuration(s.timeout_seconds) : '—'}</td>
                    <td className="num">{s.sla_seconds ? formatDuration(s.sla_seconds) : '—'}</td>
                    <td>
                      {problem ? (
                        <span className="flag flag--bad">
                          ⚠ {s.live_workers === 0 ? 'none' : 'not registered'}
                        </span>
                      ) : s.live_workers !== undefined ? (
                        <span className="flag flag--ok">{s.live_workers}</span>
                      ) : (
                        <span className="muted">registered here</span>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </Panel>
    </>
  );
}

export function TemplatesPage() {
  useTitle('Templates');
  const handlers = useHandlers();
  const { search } = useLocation();
  const chosen = new URLSearchParams(search).get('template');
  const templates = handlers.data?.templates ?? [];
  const current = templates.find((t) => t.full_name === chosen) ?? templates[0];

  return (
    <div className="page">
      <div className="page__head">
        <h1 className="page__title">Templates</h1>
        {handlers.data?.live_workers !== undefined && (
          <span className={handlers.data.live_workers ? 'muted' : 'text-danger'}>
            {handlers.data.live_workers} live {handlers.data.live_workers === 1 ? 'worker' : 'workers'}
          </span>
        )}
      </div>
      {handlers.isPending ? (
        <Loading />
      ) : handlers.error ? (
        <ErrorMessage error={handlers.error} retry={() => void handlers.refetch()} />
      ) : templates.length === 0 ? (
        <Empty>No template is registered.</Empty>
      ) : (
        <div className="split">
          <nav className="split__side" aria-label="Templates">
            <ul className="template-list">
              {templates.map((t) => {
                const problems = t.steps.filter((s) => workerProblem(s)).length;
                return (
                  <li key={t.full_name}>
                    <button
                      type="button"
                      className="template-list__item"
                      aria-current={current?.full_name === t.full_name ? 'true' : undefined}
                      onClick={() =>
                        setSearch(`?template=${encodeURIComponent(t.full_name)}`, { replace: true })
                      }
                    >
                      <span className="mono">
                        {t.namespace}.{t.name}
                      </span>
                      <span className="template-list__version">
                        v{t.version} · {t.steps.length} steps
                        {problems > 0 && <span className="text-danger"> · ⚠ {problems} without worker</span>}
                      </span>
                    </button>
                  </li>
                );
              })}
            </ul>
          </nav>
          <div className="split__main">
            {current && <TemplateView key={current.full_name} template={current} />}
          </div>
        </div>
      )}
    </div>
  );
}

/** What the template says about watching it (ours, or Tasker's handler_config.monitoring). */
function TemplateMonitoring({ template }: { template: Template }) {
  const metrics = Object.entries(template.business_metrics ?? {})
    .filter(([, on]) => on === true)
    .map(([name]) => name);
  if (!template.sla_seconds && !template.critical && template.alert_on_failure == null && !metrics.length)
    return null;
  return (
    <dl className="facts-grid" data-template-monitoring>
      <div className="fact">
        <dt>Task SLA</dt>
        <dd>
          {template.sla_seconds ? formatDuration(template.sla_seconds) : <span className="muted">none</span>}
        </dd>
      </div>
      <div className="fact">
        <dt>Critical workflow</dt>
        <dd>{template.critical ? 'yes: its alerts page at critical severity' : 'no'}</dd>
      </div>
      {template.alert_on_failure != null && (
        <div className="fact">
          <dt>Alert on failure</dt>
          <dd>{template.alert_on_failure ? 'yes' : 'no'}</dd>
        </div>
      )}
      {metrics.length > 0 && (
        <div className="fact">
          <dt>Business metrics</dt>
          <dd>{metrics.join(', ')}</dd>
        </div>
      )}
    </dl>
  );
}
