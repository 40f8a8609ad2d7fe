/** Audit entries as a table (the audit page, and a task's "Audit" panel). Everything renders as text. */
import type { AuditEntry } from '../../api/types';
import { StatusBadge } from '../../components/status';
import { DateTime } from '../../components/time';
import { auditDetailText, auditTasks } from '../../lib/audit';
import { formatCount } from '../../lib/format';
import { paths } from '../../lib/routes';
import { Link } from '../../router';

export function AuditTable({
  entries,
  caption,
  stale = false,
}: {
  entries: AuditEntry[];
  caption: string;
  stale?: boolean;
}) {
  return (
    <div className="table-wrap">
      <table className={`table table--compact${stale ? ' is-stale' : ''}`}>
        <caption className="sr-only">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">At</th>
            <th scope="col">Actor</th>
            <th scope="col">Action</th>
            <th scope="col">Outcome</th>
            <th scope="col">Reason</th>
            <th scope="col">Tasks</th>
            <th scope="col">Job</th>
            <th scope="col">Detail</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => {
            const tasks = auditTasks(e);
            const detail = auditDetailText(e.detail);
            return (
              <tr
                key={String(e.id)}
                data-audit-entry={String(e.id)}
                data-outcome={e.outcome}
                className={
                  e.outcome === 'refused'
                    ? 'row--refused'
                    : e.outcome === 'failed'
                      ? 'row--failed'
                      : undefined
                }
              >
                <td>
                  <DateTime iso={e.at} />
                </td>
                <td>
                  {e.actor}
                  {e.namespace && <div className="muted small">{e.namespace}</div>}
                </td>
                <td className="mono">{e.action}</td>
                <td>
                  <StatusBadge status={e.outcome} compact />
                </td>
                <td className="wrap">{e.reason ?? <span className="muted">—</span>}</td>
                <td className="audit-tasks">
                  <span className="strong">{formatCount(e.task_count)}</span>
                  {tasks.ids.map((id) => (
                    <Link key={id} to={paths.task(id)} className="mono small" title={id}>
                      {id}
                    </Link>
                  ))}
                  {tasks.more > 0 && <span className="muted small">+{formatCount(tasks.more)} more</span>}
                </td>
                <td className="mono small">
                  {e.job_id ? (
                    <Link to={paths.bulkJob(e.job_id)}>{e.job_id}</Link>
                  ) : (
                    <span className="muted">—</span>
                  )}
                </td>
                <td className={`wrap small${e.outcome === 'refused' ? ' text-danger' : ''}`}>
                  {detail ?? <span className="muted">—</span>}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
