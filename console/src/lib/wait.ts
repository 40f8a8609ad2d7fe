/**
 * "Why is this step not done yet?": turns a step's `wait` (CONTRACT.md) into a heading, the server's
 * sentence and labelled evidence, and for a step waiting on dependencies, the chain down to whatever is
 * actually holding things up.
 */
import type { Step, StepWait } from '../api/types';
import { formatClock, formatDuration, formatRelative } from './format';

export interface Evidence {
  label: string;
  value: string;
  /** Exact value for a title attribute (times). */
  title?: string;
  mono?: boolean;
}

export interface ChainLink {
  step: string;
  status: string;
  reason: string;
  message: string | null;
  depth: number;
}

export interface WaitView {
  step: string;
  reason: string;
  heading: string;
  message: string;
  evidence: Evidence[];
  chain: ChainLink[];
}

export const REASON_HEADINGS: Record<string, string> = {
  waiting_for_dependency: 'Waiting for a dependency',
  no_free_slot: 'Ready, but every worker slot is busy',
  queued: 'Ready, about to be claimed',
  no_worker_for_handler: 'No live worker has its handler',
  retry_backoff: 'Waiting to retry',
  running: 'Running',
  lease_expired: 'Lease expired, waiting for recovery',
  blocked_by_failure: 'Blocked by a failed step',
  failed: 'Failed, needs an operator',
  task_cancelled: 'Cancelled with its task',
};

/** Fields each reason's evidence already covers, so the rest can be listed generically. */
const KNOWN_FIELDS = new Set([
  'reason',
  'message',
  'dependencies',
  'ready_since',
  'backlog',
  'ahead',
  'slots_in_use',
  'slots_total',
  'live_workers',
  'handler',
  'until',
  'attempt',
  'max_attempts',
  'last_error_type',
  'last_error_message',
  'worker_id',
  'running_seconds',
  'lease_expires_at',
  'worker_alive',
  'expired_at',
  'failed_steps',
  'error_type',
  'error_message',
  'attempts',
]);

function time(label: string, iso: string | null | undefined, now: number): Evidence | null {
  if (!iso) return null;
  return { label, value: `${formatClock(iso)} (${formatRelative(iso, now)})`, title: iso };
}

function num(label: string, n: number | null | undefined): Evidence | null {
  return typeof n === 'number' ? { label, value: String(n) } : null;
}

function error(type: string | null | undefined, message: string | null | undefined): string | null {
  if (!type && !message) return null;
  return [type, message].filter(Boolean).join(': ');
}

function evidenceFor(wait: StepWait, now: number): Evidence[] {
  const items: (Evidence | null)[] = [];
  switch (wait.reason) {
    case 'waiting_for_dependency':
      for (const d of wait.dependencies ?? []) {
        items.push({ label: 'waiting for', value: `${d.step} (${d.status}: ${d.reason})` });
      }
      break;
    case 'no_free_slot':
    case 'queued':
      items.push(time('ready since', wait.ready_since, now));
      items.push(num('ready backlog', wait.backlog));
      items.push(num('ahead of it', wait.ahead));
      if (typeof wait.slots_in_use === 'number' && typeof wait.slots_total === 'number') {
        items.push({ label: 'slots in use', value: `${wait.slots_in_use} of ${wait.slots_total}` });
      }
      items.push(num('live workers', wait.live_workers));
      break;
    case 'no_worker_for_handler':
      if (wait.handler) items.push({ label: 'handler', value: wait.handler, mono: true });
      items.push(num('live workers', wait.live_workers));
      break;
    case 'retry_backoff': {
      items.push(time('until', wait.until, now));
      if (typeof wait.attempt === 'number') {
        const of = typeof wait.max_attempts === 'number' ? ` of ${wait.max_attempts}` : '';
        items.push({ label: 'attempt', value: `${wait.attempt}${of}` });
      }
      const last = error(wait.last_error_type, wait.last_error_message);
      if (last) items.push({ label: 'last error', value: last });
      break;
    }
    case 'running':
      if (wait.worker_id) items.push({ label: 'worker', value: wait.worker_id, mono: true });
      if (typeof wait.running_seconds === 'number') {
        items.push({ label: 'running for', value: formatDuration(wait.running_seconds) });
      }
      items.push(time('lease expires', wait.lease_expires_at, now));
      if (wait.worker_alive !== undefined) {
        items.push({
          label: 'worker alive',
          value: wait.worker_alive === null ? 'unknown' : wait.worker_alive ? 'yes' : 'no',
        });
      }
      break;
    case 'lease_expired':
      if (wait.worker_id) items.push({ label: 'worker', value: wait.worker_id, mono: true });
      items.push(time('expired at', wait.expired_at, now));
      break;
    case 'blocked_by_failure':
      if (wait.failed_steps?.length)
        items.push({ label: 'failed steps', value: wait.failed_steps.join(', ') });
      break;
    case 'failed': {
      const e = error(wait.error_type, wait.error_message);
      if (e) items.push({ label: 'error', value: e });
      if (typeof wait.attempts === 'number') {
        const of = typeof wait.max_attempts === 'number' ? ` of ${wait.max_attempts}` : '';
        items.push({ label: 'attempts', value: `${wait.attempts}${of}` });
      }
      break;
    }
    default:
      break;
  }
  // Evidence a newer server adds is still shown, as plain key/value text.
  for (const [key, value] of Object.entries(wait)) {
    if (KNOWN_FIELDS.has(key) || value === null || value === undefined) continue;
    items.push({
      label: key.replace(/_/g, ' '),
      value: typeof value === 'string' ? value : JSON.stringify(value),
    });
  }
  return items.filter((i): i is Evidence => i !== null);
}

function chainOf(wait: StepWait, steps: Map<string, Step>, visited: Set<string>, depth: number): ChainLink[] {
  const links: ChainLink[] = [];
  for (const dep of wait.dependencies ?? []) {
    const step = steps.get(dep.step);
    links.push({
      step: dep.step,
      status: dep.status,
      reason: dep.reason,
      message: step?.wait?.message ?? null,
      depth,
    });
    if (visited.has(dep.step) || depth >= 20) continue;
    visited.add(dep.step);
    if (step?.wait?.reason === 'waiting_for_dependency')
      links.push(...chainOf(step.wait, steps, visited, depth + 1));
  }
  return links;
}

export function describeWait(step: Step, steps: Map<string, Step>, now: number): WaitView | null {
  const wait = step.wait;
  if (!wait) return null;
  return {
    step: step.name,
    reason: wait.reason,
    heading: REASON_HEADINGS[wait.reason] ?? wait.reason.replace(/_/g, ' '),
    message: wait.message,
    evidence: evidenceFor(wait, now),
    chain: wait.reason === 'waiting_for_dependency' ? chainOf(wait, steps, new Set([step.name]), 1) : [],
  };
}
