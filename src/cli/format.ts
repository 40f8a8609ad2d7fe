/** Plain-text rendering for the CLI: tables, durations, and the step tree of `tasker show`. */
import type { TaskRecord } from '../core/records.js';
import { stepStatusWord, taskStatusWord } from '../core/status-words.js';
import type { StepDescription, TaskDescription } from '../core/task-description.js';

export function duration(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(2)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function taskRows(tasks: TaskRecord[]): string {
  return table(
    ['ID', 'TEMPLATE', 'STATUS', 'CREATED', 'DURATION', 'CORRELATION ID'],
    tasks.map((t) => [
      t.id,
      `${t.namespace}/${t.name}@${t.version}`,
      taskStatusWord(t.status),
      new Date(t.createdAt).toISOString(),
      duration(t.finishedAt === null ? null : t.finishedAt - t.createdAt),
      t.correlationId,
    ]),
  );
}

const MARK: Record<string, string> = {
  completed: '✔',
  resolved_manually: '✔',
  failed: '✘',
  blocked: '⊘',
  cancelled: '⊘',
  in_progress: '▶',
  waiting_for_retry: '↻',
  pending: '·',
};

/** Depth in the DAG (longest path from a root), for indentation. */
function depths(steps: StepDescription[]): Map<string, number> {
  const byName = new Map(steps.map((s) => [s.name, s]));
  const memo = new Map<string, number>();
  const depth = (name: string): number => {
    const known = memo.get(name);
    if (known !== undefined) return known;
    const s = byName.get(name);
    const d = s && s.dependsOn.length > 0 ? 1 + Math.max(...s.dependsOn.map(depth)) : 0;
    memo.set(name, d);
    return d;
  };
  for (const s of steps) depth(s.name);
  return memo;
}

export function taskTree(d: TaskDescription): string {
  const t = d.task;
  const out: string[] = [];
  out.push(`Task ${t.id}  ${t.namespace}/${t.name}@${t.version}  ${taskStatusWord(t.status).toUpperCase()}`);
  out.push(`  correlation id ${t.correlationId}${t.tags.length ? `  tags ${t.tags.join(',')}` : ''}`);
  out.push(
    `  created ${new Date(t.createdAt).toISOString()}  duration ${duration(d.durationMs)}${d.bottleneckStep ? `  bottleneck ${d.bottleneckStep}` : ''}`,
  );
  out.push('');
  const dep = depths(d.steps);
  const rows = d.steps.map((s) => {
    const indent = '  '.repeat(dep.get(s.name) ?? 0);
    const status = stepStatusWord(s.displayStatus);
    const label = `${MARK[status] ?? '?'} ${indent}${s.name}`;
    let note = '';
    if (s.displayStatus === 'blocked') note = `blocked by ${s.blockedBy.join(', ')}`;
    else if (s.errorMessage) note = `${s.errorType ?? 'error'}: ${s.errorMessage}`;
    if (s.status === 'waiting_for_retry' && s.readyAt !== null)
      note += ` (next attempt ${new Date(s.readyAt).toISOString()})`;
    if (s.dependsOn.length > 1) note = `${note}${note ? '  ' : ''}after ${s.dependsOn.join(' + ')}`;
    return [label, status, `${s.attempts}/${s.maxAttempts}`, duration(s.executionTimeMs), note];
  });
  out.push(table(['STEP', 'STATUS', 'ATTEMPTS', 'TIME', 'NOTE'], rows));
  if (d.failedSteps.length > 0) {
    out.push('');
    const blocked = d.blockedSteps.length ? `; ${d.blockedSteps.join(', ')} cannot run` : '';
    const first = d.steps.find((s) => s.name === d.failedSteps[0]);
    out.push(
      `Blocked: ${d.failedSteps.join(', ')} failed${first?.errorType ? ` (${first.errorType})` : ''}${blocked}.`,
    );
  }
  return out.join('\n');
}
