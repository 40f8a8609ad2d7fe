/**
 * "Compare with last good run": fetched only when opened (GET /tasks/<id>/compare?with=last_success). The
 * ranked differences, then every step side by side: this run over its baseline. Inputs and results are
 * compared by hash; their values never reach the page.
 */
import { useState } from 'react';
import { useCompare } from '../../api/queries';
import type { TaskCompare } from '../../api/types';
import { Empty, ErrorMessage, Loading } from '../../components/feedback';
import { StatusBadge } from '../../components/status';
import {
  baselineChoiceText,
  COMPARE_COLUMNS,
  compareCells,
  HASH_WORDS,
  type CompareCell,
} from '../../lib/compare';
import { paths } from '../../lib/routes';
import { Link } from '../../router';

function Cell({ cell }: { cell: CompareCell }) {
  const cls = `compare-cell${cell.changed ? ' compare-cell--changed' : ''}`;
  if (cell.hash) {
    const sub =
      cell.hash === 'same'
        ? cell.run
        : cell.hash === 'different'
          ? `${cell.run} ≠ ${cell.baseline}`
          : cell.hash === 'no_baseline' && cell.run !== '—'
            ? cell.run
            : null;
    return (
      <td className={cls}>
        <span className={`compare-hash compare-hash--${cell.hash}`}>{HASH_WORDS[cell.hash]}</span>
        {sub && <span className="compare-cell__base mono">{sub}</span>}
      </td>
    );
  }
  return (
    <td className={cls}>
      <span className="compare-cell__run">{cell.run}</span>
      <span className="compare-cell__base">{cell.baseline}</span>
    </td>
  );
}

function CompareView({ data }: { data: TaskCompare }) {
  const [onlyChanged, setOnlyChanged] = useState(false);
  const steps = onlyChanged ? data.steps.filter((s) => s.changed.length > 0) : data.steps;
  const baseline = data.baseline;
  return (
    <div className="compare">
      <p className="compare__baseline">
        <span className="muted">Baseline:</span>{' '}
        {baseline ? (
          <>
            <Link to={paths.task(baseline.id)}>{baseline.full_name}</Link>{' '}
            <Link to={paths.task(baseline.id)} className="mono small link-quiet">
              {baseline.id}
            </Link>{' '}
            <StatusBadge status={baseline.status} compact />{' '}
            <span className="muted small">({baselineChoiceText(data.baseline_choice)})</span>
          </>
        ) : (
          <span>{baselineChoiceText(data.baseline_choice)}</span>
        )}
      </p>
      {data.note && <p className="compare__note">{data.note}</p>}
      {baseline && (
        <>
          <h3 className="subhead">Differences, largest first</h3>
          {data.differences.length === 0 ? (
            <Empty>No difference worth noting.</Empty>
          ) : (
            <ol className="differences">
              {data.differences.map((d, i) => (
                <li
                  key={i}
                  data-difference-step={d.step}
                  data-difference-field={d.fields?.join(' ') ?? d.field}
                >
                  {d.text}
                </li>
              ))}
            </ol>
          )}
        </>
      )}
      <div className="toolbar">
        <h3 className="subhead">Per step</h3>
        <span className="muted small">this run, with the baseline below it</span>
        <label className="field field--inline">
          <input type="checkbox" checked={onlyChanged} onChange={(e) => setOnlyChanged(e.target.checked)} />
          <span>only steps that differ</span>
        </label>
      </div>
      <div className="table-wrap table-wrap--tall">
        <table className="table table--compact compare-table">
          <caption className="sr-only">
            Each step of this run against the same step of the baseline run; changed values are marked
          </caption>
          <thead>
            <tr>
              <th scope="col">Step</th>
              {COMPARE_COLUMNS.map((c) => (
                <th key={c.field} scope="col">
                  {c.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {steps.map((s) => (
              <tr
                key={s.name}
                data-compare-step={s.name}
                className={s.changed.length ? 'row--changed' : undefined}
              >
                <th scope="row" className="mono">
                  {s.name}
                </th>
                {compareCells(s).map((cell) => (
                  <Cell key={cell.field} cell={cell} />
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {steps.length === 0 && <Empty>Every step matches its baseline.</Empty>}
    </div>
  );
}

export function ComparePanelBody({
  taskId,
  open,
  onOpen,
}: {
  taskId: string;
  open: boolean;
  onOpen: () => void;
}) {
  const compare = useCompare(taskId, 'last_success', open);
  if (!open)
    return (
      <p className="inline-actions">
        <button type="button" className="btn" onClick={onOpen} aria-expanded={false}>
          Compare with the last successful run
        </button>
        <span className="muted small">
          step by step: status, attempts, queue wait, execution, backoff, hosts, errors, and whether the input
          and results were the same
        </span>
      </p>
    );
  if (compare.isPending) return <Loading what="Comparing" />;
  if (compare.error) return <ErrorMessage error={compare.error} retry={() => void compare.refetch()} />;
  return <CompareView data={compare.data} />;
}
