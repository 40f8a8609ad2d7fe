/**
 * Tasks: every filter the API has, in the URL (shareable, Back works), keyset pagination, and rows kept
 * live by the stream (live-provider.tsx patches the cached page; nothing polls).
 */
import { useQueryClient } from '@tanstack/react-query';
import { useId, useMemo, useState, type FormEvent } from 'react';
import { keys, LIST_LIMIT, useHandlers, useTaskList } from '../api/queries';
import type { StreamTask } from '../api/types';
import { Empty, ErrorMessage, Loading } from '../components/feedback';
import { StatusBadge } from '../components/status';
import { RelativeTime } from '../components/time';
import { useNow } from '../hooks/use-now';
import { elapsedSeconds, formatDuration } from '../lib/format';
import { paths } from '../lib/routes';
import {
  classifySearch,
  emptyFilters,
  fromLocalInput,
  hasFilters,
  listSearch,
  parseListSearch,
  TASK_STATUSES,
  toApiQuery,
  toLocalInput,
  type ListState,
  type TaskFilters,
} from '../lib/task-filters';
import { Link, navigate, useLocation } from '../router';
import { statusWord } from '../components/status';
import { useTitle } from './use-title';

function go(state: ListState, replace = false) {
  navigate(paths.tasks(listSearch(state)), { replace });
}

function SearchBox({ filters }: { filters: TaskFilters }) {
  const [value, setValue] = useState('');
  const id = useId();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const target = classifySearch(value);
    if (target.kind === 'task') navigate(paths.task(target.id));
    else if (target.kind === 'correlation')
      go({ filters: { ...filters, correlation_id: target.value }, cursor: null });
  };
  return (
    <form className="searchbox" role="search" onSubmit={submit}>
      <label htmlFor={id} className="sr-only">
        Task id or correlation id
      </label>
      <input
        id={id}
        className="input input--search mono"
        placeholder="Task id (opens it) or correlation id (filters)"
        value={value}
        onChange={(e) => setValue(e.target.value)}
        spellCheck={false}
      />
      <button type="submit" className="btn" disabled={!value.trim()}>
        Search
      </button>
    </form>
  );
}

type Draft = Omit<TaskFilters, 'status'>;

function FilterForm({ state }: { state: ListState }) {
  const { filters } = state;
  const handlers = useHandlers();
  const formId = useId();
  const [draft, setDraft] = useState<Draft>(() => ({ ...filters }));
  const [synced, setSynced] = useState(filters);
  // Back/forward or a link changed the URL: the form shows what the URL says.
  if (synced !== filters) {
    setSynced(filters);
    setDraft({ ...filters });
  }
  const namespaces = useMemo(
    () => [...new Set(handlers.data?.templates.map((t) => t.namespace) ?? [])],
    [handlers.data],
  );
  const names = useMemo(
    () => [...new Set(handlers.data?.templates.map((t) => t.name) ?? [])],
    [handlers.data],
  );
  const versions = useMemo(
    () => [...new Set(handlers.data?.templates.map((t) => t.version) ?? [])],
    [handlers.data],
  );

  const apply = (event: FormEvent) => {
    event.preventDefault();
    go({ filters: { ...draft, status: filters.status }, cursor: null });
  };
  const toggleStatus = (status: string) => {
    const next = filters.status.includes(status)
      ? filters.status.filter((s) => s !== status)
      : [...filters.status, status];
    go({ filters: { ...filters, status: next }, cursor: null });
  };
  const text = (key: keyof Draft, label: string, list?: string[]) => (
    <label className="field">
      <span className="field__label">{label}</span>
      <input
        className={`input${key === 'correlation_id' ? ' mono' : ''}`}
        value={draft[key]}
        list={list ? `${formId}-${key}` : undefined}
        onChange={(e) => setDraft({ ...draft, [key]: e.target.value })}
        spellCheck={false}
      />
      {list && (
        <datalist id={`${formId}-${key}`}>
          {list.map((v) => (
            <option key={v} value={v} />
          ))}
        </datalist>
      )}
    </label>
  );
  const date = (key: 'created_after' | 'created_before', label: string) => (
    <label className="field">
      <span className="field__label">{label}</span>
      <input
        className="input"
        type="datetime-local"
        value={toLocalInput(draft[key])}
        onChange={(e) => setDraft({ ...draft, [key]: fromLocalInput(e.target.value) })}
      />
    </label>
  );

  return (
    <div className="filters">
      <fieldset className="chips">
        <legend className="field__label">Status</legend>
        {TASK_STATUSES.map((s) => (
          <button
            key={s}
            type="button"
            className={`chip chip--${s}`}
            aria-pressed={filters.status.includes(s)}
            onClick={() => toggleStatus(s)}
          >
            {statusWord(s)}
          </button>
        ))}
      </fieldset>
      <form className="filters__form" onSubmit={apply}>
        {text('namespace', 'Namespace', namespaces)}
        {text('name', 'Name', names)}
        {text('version', 'Version', versions)}
        {text('correlation_id', 'Correlation id')}
        {text('tag', 'Tag')}
        {date('created_after', 'Created after')}
        {date('created_before', 'Created before')}
        <div className="filters__buttons">
          <button type="submit" className="btn btn--primary">
            Apply
          </button>
          <button
            type="button"
            className="btn"
            disabled={!hasFilters(filters)}
            onClick={() => go({ filters: emptyFilters(), cursor: null })}
          >
            Clear all
          </button>
        </div>
      </form>
    </div>
  );
}

function Progress({ task }: { task: StreamTask }) {
  if (task.steps_total === undefined) return <span className="muted">—</span>;
  const running = task.running_steps?.length ? ` · running ${task.running_steps.join(', ')}` : '';
  return (
    <span title={`${task.steps_done ?? 0} of ${task.steps_total} steps done${running}`}>
      {task.steps_done ?? 0}/{task.steps_total}
      {task.steps_failed ? <span className="text-danger"> · {task.steps_failed} failed</span> : null}
    </span>
  );
}

function TaskRows({ tasks }: { tasks: StreamTask[] }) {
  const now = useNow(1000);
  return (
    <tbody>
      {tasks.map((t) => (
        <tr key={t.id} data-task-id={t.id} className={t.status === 'failed' ? 'row--failed' : undefined}>
          <td>
            <StatusBadge status={t.status} />
          </td>
          <td>
            <Link to={paths.task(t.id)}>{t.full_name}</Link>
          </td>
          <td className="mono small">
            <Link to={paths.task(t.id)} title={t.id} className="link-quiet">
              {t.id}
            </Link>
          </td>
          <td className="mono small">
            {t.correlation_id ? (
              <Link
                to={paths.tasks(
                  listSearch({
                    filters: { ...emptyFilters(), correlation_id: t.correlation_id },
                    cursor: null,
                  }),
                )}
                className="link-quiet"
                title="All tasks with this correlation id"
              >
                {t.correlation_id}
              </Link>
            ) : (
              '—'
            )}
          </td>
          <td>
            {t.tags.map((tag) => (
              <span key={tag} className="tag">
                {tag}
              </span>
            ))}
          </td>
          <td>
            <RelativeTime iso={t.created_at} now={now} />
          </td>
          <td className="num">{formatDuration(elapsedSeconds(t, now))}</td>
          <td>
            <Progress task={t} />
          </td>
        </tr>
      ))}
    </tbody>
  );
}

export function TaskListPage() {
  useTitle('Tasks');
  const { search } = useLocation();
  const state = useMemo(() => parseListSearch(search), [search]);
  const canonical = listSearch(state);
  const query = useMemo(() => toApiQuery(state, LIST_LIMIT), [state]);
  const list = useTaskList(canonical, query);
  const client = useQueryClient();
  const page = list.data;

  return (
    <div className="page">
      <div className="page__head">
        <h1 className="page__title">Tasks</h1>
        <SearchBox filters={state.filters} />
      </div>
      <FilterForm state={state} />

      {page?.overflow ? (
        <div className="banner" role="status">
          {page.overflow} more new matching {page.overflow === 1 ? 'task' : 'tasks'} since this page loaded.{' '}
          <button
            type="button"
            className="btn btn--tiny"
            onClick={() => void client.resetQueries({ queryKey: keys.taskList(canonical) })}
          >
            Show newest
          </button>
        </div>
      ) : null}

      {list.error ? (
        <ErrorMessage error={list.error} retry={() => void list.refetch()} />
      ) : !page ? (
        <Loading what="Loading tasks" />
      ) : (
        <>
          <div className="table-wrap">
            <table className={`table${list.isPlaceholderData ? ' is-stale' : ''}`}>
              <caption className="sr-only">Tasks, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Status</th>
                  <th scope="col">Task</th>
                  <th scope="col">ID</th>
                  <th scope="col">Correlation id</th>
                  <th scope="col">Tags</th>
                  <th scope="col">Created</th>
                  <th scope="col" className="num">
                    Duration
                  </th>
                  <th scope="col">Steps</th>
                </tr>
              </thead>
              <TaskRows tasks={page.tasks} />
            </table>
          </div>
          {page.tasks.length === 0 && <Empty>No task matches these filters.</Empty>}
          <nav className="pager" aria-label="Pages">
            <button
              type="button"
              className="btn"
              disabled={!state.cursor}
              onClick={() => go({ ...state, cursor: null })}
            >
              First page
            </button>
            <button
              type="button"
              className="btn"
              disabled={!page.next_cursor}
              onClick={() => page.next_cursor && go({ ...state, cursor: page.next_cursor })}
            >
              Next
            </button>
            <span className="muted">
              {page.tasks.length} {page.tasks.length === 1 ? 'task' : 'tasks'} on this page
              {state.cursor ? '' : ' · new tasks appear live'}
            </span>
          </nav>
        </>
      )}
    </div>
  );
}
