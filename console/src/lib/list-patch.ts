/**
 * Applies the stream's `tasks` events to a page of the task list, so the list stays live without
 * re-fetching it: rows on the page are patched in place, and on the first page new tasks matching the
 * filters are inserted in the API's order (newest first, by UUIDv7 id).
 */
import type { StreamTask, TaskPage } from '../api/types';
import { matchesFilters, type TaskFilters } from './task-filters';

export interface PatchOptions {
  filters: TaskFilters;
  /** Only the first page takes new tasks: later pages are a fixed keyset window. */
  firstPage: boolean;
  /** The page stops growing here; what did not fit is counted in `overflow`. */
  maxRows: number;
}

export interface PatchResult {
  page: TaskPage;
  updated: number;
  inserted: number;
  /** New matching tasks left out because the page is full: the UI offers to reload the first page. */
  overflow: number;
}

function isNewer(event: StreamTask, row: StreamTask): boolean {
  // An event can be older than a page fetched after it was produced; never move a row backwards.
  const a = Date.parse(event.updated_at);
  const b = Date.parse(row.updated_at);
  return Number.isNaN(a) || Number.isNaN(b) || a >= b;
}

export function applyTaskEvents(page: TaskPage, events: StreamTask[], options: PatchOptions): PatchResult {
  const latest = new Map<string, StreamTask>();
  for (const event of events) {
    const seen = latest.get(event.id);
    if (!seen || isNewer(event, seen)) latest.set(event.id, event);
  }

  let updated = 0;
  const rows = page.tasks.map((row) => {
    const event = latest.get(row.id);
    if (!event) return row;
    latest.delete(row.id);
    if (!isNewer(event, row)) return row;
    updated++;
    return { ...row, ...event };
  });

  let inserted = 0;
  let overflow = 0;
  if (options.firstPage) {
    const oldest = page.tasks[page.tasks.length - 1]?.id;
    // With more pages behind this one, a task older than its last row belongs to a later page.
    const fitsWindow = (id: string) => page.next_cursor === null || oldest === undefined || id > oldest;
    const fresh = [...latest.values()]
      .filter((t) => fitsWindow(t.id) && matchesFilters(t, options.filters))
      .sort((a, b) => (a.id < b.id ? 1 : -1));
    for (const task of fresh) {
      if (rows.length >= options.maxRows) {
        overflow++;
        continue;
      }
      const at = rows.findIndex((r) => r.id < task.id);
      if (at === -1) rows.push(task);
      else rows.splice(at, 0, task);
      inserted++;
    }
  }

  if (!updated && !inserted) return { page, updated, inserted, overflow };
  return { page: { ...page, tasks: rows }, updated, inserted, overflow };
}
