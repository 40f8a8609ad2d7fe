/** The newest bulk jobs (GET /bulk-actions), each linking to its progress page. */
import { useBulkJobs } from '../../api/queries';
import { Empty, ErrorMessage, Loading } from '../../components/feedback';
import { StatusBadge } from '../../components/status';
import { RelativeTime } from '../../components/time';
import { actionVerb, bulkProgress } from '../../lib/bulk';
import { paths } from '../../lib/routes';
import { Link } from '../../router';
import { ProgressBar } from './progress-bar';

export function BulkJobsTable({ limit }: { limit?: number }) {
  const query = useBulkJobs();
  if (query.isPending) return <Loading />;
  if (query.error) return <ErrorMessage error={query.error} retry={() => void query.refetch()} />;
  const jobs = limit ? query.data.jobs.slice(0, limit) : query.data.jobs;
  if (jobs.length === 0) return <Empty>No bulk action yet.</Empty>;
  return (
    <div className="table-wrap">
      <table className="table table--compact">
        <caption className="sr-only">Bulk jobs, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Job</th>
            <th scope="col">Action</th>
            <th scope="col">Status</th>
            <th scope="col">Progress</th>
            <th scope="col">Actor</th>
            <th scope="col">Reason</th>
            <th scope="col">Started</th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((job) => {
            const p = bulkProgress(job);
            return (
              <tr key={job.id}>
                <td className="mono small">
                  <Link to={paths.bulkJob(job.id)}>{job.id}</Link>
                </td>
                <td>
                  {actionVerb(job.action)}
                  {job.step ? <span className="mono small"> {job.step}</span> : null}
                </td>
                <td>
                  <StatusBadge status={job.status} compact />
                </td>
                <td>
                  <span className="inline-actions">
                    <ProgressBar job={job} compact />
                    <span className="small muted">
                      {p.processed.toLocaleString('en-US')}/{p.total.toLocaleString('en-US')}
                      {job.failed > 0 && <span className="text-danger"> · {job.failed} failed</span>}
                    </span>
                  </span>
                </td>
                <td>{job.actor}</td>
                <td className="wrap">{job.reason}</td>
                <td>
                  <RelativeTime iso={job.created_at} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
