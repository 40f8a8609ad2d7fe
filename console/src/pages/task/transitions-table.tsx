import { useTransitions } from '../../api/queries';
import { Empty, ErrorMessage, Loading } from '../../components/feedback';
import { DateTime } from '../../components/time';

/** The audit trail, oldest first, as the API returns it (internal state words). */
export function TransitionsTable({ taskId }: { taskId: string }) {
  const transitions = useTransitions(taskId);
  if (transitions.isPending) return <Loading />;
  if (transitions.error) return <ErrorMessage error={transitions.error} />;
  const rows = transitions.data.transitions;
  if (!rows.length) return <Empty>No transitions recorded.</Empty>;
  return (
    <div className="table-wrap table-wrap--tall">
      <table className="table table--compact">
        <caption className="sr-only">State transitions of the task and its steps</caption>
        <thead>
          <tr>
            <th scope="col">At</th>
            <th scope="col">Step</th>
            <th scope="col">From</th>
            <th scope="col">To</th>
            <th scope="col" className="num">
              Attempt
            </th>
            <th scope="col">Reason</th>
            <th scope="col">Error type</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((t, i) => (
            <tr key={i} className={t.to_state === 'error' ? 'row--failed' : undefined}>
              <td>
                <DateTime iso={t.at} />
              </td>
              <td className="mono">{t.step_name ?? <span className="muted">task</span>}</td>
              <td>{t.from_state ?? '—'}</td>
              <td>
                <strong>{t.to_state}</strong>
              </td>
              <td className="num">{t.attempt ?? ''}</td>
              <td className="wrap">{t.reason ?? ''}</td>
              <td>{t.error_type ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
