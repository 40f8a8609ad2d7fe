/**
 * "Compare with last good run" (CONTRACT.md): one step of a run against the same step of its baseline, as
 * the cells the table shows. Inputs and results are compared by hash only: the values never reach the page.
 */
import type { CompareStep, StepRun } from '../api/types';
import { formatDuration } from './format';

export type HashEquality = 'same' | 'different' | 'none' | 'no_baseline';

export function hashEquality(
  run: string | null,
  baseline: string | null,
  hasBaseline: boolean,
): HashEquality {
  if (!hasBaseline) return 'no_baseline';
  if (run === null && baseline === null) return 'none';
  return run === baseline ? 'same' : 'different';
}

export const HASH_WORDS: Record<HashEquality, string> = {
  same: 'same',
  different: 'differs',
  none: '—',
  no_baseline: '—',
};

export interface CompareCell {
  /** The field as the server names it in `changed`. */
  field: string;
  label: string;
  run: string;
  baseline: string;
  changed: boolean;
  /** Input and results only. */
  hash?: HashEquality;
}

const errorText = (r: StepRun) =>
  r.error_type || r.error ? [r.error_type, r.error].filter(Boolean).join(': ') : '—';
const hostsText = (r: StepRun) => (r.hosts.length ? r.hosts.join(', ') : '—');

const FIELDS: { field: string; label: string; text: (r: StepRun) => string }[] = [
  { field: 'status', label: 'Status', text: (r) => r.status.replace(/_/g, ' ') },
  { field: 'attempts', label: 'Attempts', text: (r) => String(r.attempts) },
  { field: 'queue_wait', label: 'Queue wait', text: (r) => formatDuration(r.queue_wait_seconds) },
  { field: 'execution', label: 'Execution', text: (r) => formatDuration(r.execution_seconds) },
  { field: 'backoff', label: 'Backoff', text: (r) => formatDuration(r.backoff_seconds) },
  { field: 'host', label: 'Hosts', text: hostsText },
  { field: 'error', label: 'Error', text: errorText },
  { field: 'input', label: 'Input', text: (r) => r.input_hash ?? '—' },
  { field: 'results', label: 'Results', text: (r) => r.results_hash ?? '—' },
];

export const COMPARE_COLUMNS = FIELDS.map(({ field, label }) => ({ field, label }));

export function compareCells(step: CompareStep): CompareCell[] {
  const base = step.baseline;
  return FIELDS.map(({ field, label, text }) => {
    const cell: CompareCell = {
      field,
      label,
      run: text(step.run),
      baseline: base ? text(base) : '—',
      changed: step.changed.includes(field),
    };
    if (field === 'input')
      cell.hash = hashEquality(step.run.input_hash, base?.input_hash ?? null, base !== null);
    if (field === 'results')
      cell.hash = hashEquality(step.run.results_hash, base?.results_hash ?? null, base !== null);
    return cell;
  });
}

const CHOICES: Record<string, string> = {
  same_version: 'the last successful run of the same version',
  other_version: 'the last successful run (of another version)',
  given: 'the run asked for',
  none: 'no successful run to compare with',
};

export function baselineChoiceText(choice: string): string {
  return CHOICES[choice] ?? choice.replace(/_/g, ' ');
}
