/** The operator actions recorded for this task (GET /audit?task_id=), newest first. */
import { useTaskAudit } from '../../api/queries';
import { Empty, ErrorMessage, Loading } from '../../components/feedback';
import { AuditTable } from '../triage/audit-table';

export function TaskAudit({ taskId }: { taskId: string }) {
  const audit = useTaskAudit(taskId);
  if (audit.isPending) return <Loading />;
  if (audit.error) return <ErrorMessage error={audit.error} retry={() => void audit.refetch()} />;
  if (audit.data.entries.length === 0) return <Empty>No operator action on this task.</Empty>;
  return (
    <>
      <AuditTable entries={audit.data.entries} caption="Operator actions on this task, newest first" />
      {audit.data.next_cursor && (
        <p className="muted small">The newest {audit.data.entries.length} are shown.</p>
      )}
    </>
  );
}
