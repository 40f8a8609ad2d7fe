/**
 * Failure groups as an operator reads them: a stable fingerprint per cause, stuck tasks folded into groups
 * of their own, the suggested action, and the ranking (revenue at risk, then tasks). Pure: the store has
 * counted the groups in SQL; this names and orders them.
 */
import { createHash } from 'node:crypto';
import { adviceFor, OUTCOME_PHRASES, UNKNOWN } from './business-impact.js';
import { formatSeconds, plural } from './analysis.js';
import { failureSignature } from './failure-signature.js';
import type { StepTemplate } from './template.js';

export type FailureGroupKind = 'failure' | 'stuck';

export interface CauseKey {
  kind: FailureGroupKind;
  namespace: string;
  name: string;
  version: string;
  step: string;
  errorType: string | null;
  signature: string;
}

export interface FailureGroup extends CauseKey {
  fingerprint: string;
  tasks: number;
  attempts: number;
  byStatus: { failed: number; retrying: number; recovered: number; cancelled: number; stuck: number };
  firstSeen: number;
  lastSeen: number;
  ongoing: boolean;
  revenueAtRisk: number;
  affectedCustomers: number;
  message: string | null;
  workers: string[];
  versions: string[];
  exampleTaskIds: string[];
  suggestedAction: string;
  /** Per bucket of the window: failing attempts (stuck groups: tasks, by their last progress). */
  series: number[];
}

/** A failure in the last five minutes makes a group ongoing. */
export const ONGOING_MS = 5 * 60_000;

export const STUCK_ERROR_TYPE = 'stuck';

/** 16 hex digits naming one cause; the same cause gets the same fingerprint in every process and store. */
export function fingerprintOf(k: CauseKey): string {
  return createHash('sha256')
    .update([k.kind, k.namespace, k.name, k.version, k.step, k.errorType ?? '', k.signature].join('\u0000'))
    .digest('hex')
    .slice(0, 16);
}

/**
 * What a failing attempt is stored with: its signature and its group's fingerprint, so failure groups are
 * counted by one short column. Null for an attempt that did not fail.
 */
export function attemptCause(
  task: { namespace: string; name: string; version: string },
  a: { stepName: string; outcome: string; errorType: string | null; errorMessage: string | null },
): { signature: string | null; fingerprint: string | null } {
  if (a.outcome !== 'retry' && a.outcome !== 'error') return { signature: null, fingerprint: null };
  const signature = failureSignature(a.errorMessage) ?? '';
  const fingerprint = fingerprintOf({
    kind: 'failure',
    namespace: task.namespace,
    name: task.name,
    version: task.version,
    step: a.stepName,
    errorType: a.errorType,
    signature,
  });
  return { signature, fingerprint };
}

export interface StuckTask {
  taskId: string;
  namespace: string;
  name: string;
  version: string;
  value: number | null;
  customer: string | null;
  progressAt: number;
  step: { name: string; status: string; readyAt: number | null; leaseExpiresAt: number | null } | null;
}

/** What a stuck task is stuck at, in words that are the same for every task stuck the same way. */
export function stuckSignature(t: StuckTask, now: number): string {
  const s = t.step;
  if (!s) return 'running with no unfinished step';
  if (s.status === 'in_progress') {
    return s.leaseExpiresAt !== null && s.leaseExpiresAt < now
      ? 'running past its timeout; its worker stopped renewing the lease'
      : 'running past its timeout; its worker still holds the lease';
  }
  if (s.readyAt !== null && s.readyAt <= now) return 'ready but not claimed by any worker';
  return 'waiting for dependencies that make no progress';
}

/** Stuck tasks → one group per template, step and way of being stuck. */
export function stuckGroups(
  tasks: readonly StuckTask[],
  now: number,
  window: { from: number; bucketMs: number; buckets: number },
): FailureGroup[] {
  const out = new Map<string, FailureGroup & { customers: Set<string>; anonymous: number }>();
  for (const t of tasks) {
    const key: CauseKey = {
      kind: 'stuck',
      namespace: t.namespace,
      name: t.name,
      version: t.version,
      step: t.step?.name ?? UNKNOWN,
      errorType: STUCK_ERROR_TYPE,
      signature: stuckSignature(t, now),
    };
    const fingerprint = fingerprintOf(key);
    let g = out.get(fingerprint);
    if (!g) {
      g = {
        ...key,
        fingerprint,
        tasks: 0,
        attempts: 0,
        byStatus: { failed: 0, retrying: 0, recovered: 0, cancelled: 0, stuck: 0 },
        firstSeen: t.progressAt,
        lastSeen: t.progressAt,
        ongoing: true,
        revenueAtRisk: 0,
        affectedCustomers: 0,
        message: null,
        workers: [],
        versions: [t.version],
        exampleTaskIds: [],
        suggestedAction: '',
        series: new Array<number>(window.buckets).fill(0),
        customers: new Set(),
        anonymous: 0,
      };
      out.set(fingerprint, g);
    }
    g.tasks += 1;
    g.byStatus.stuck += 1;
    g.firstSeen = Math.min(g.firstSeen, t.progressAt);
    g.lastSeen = Math.max(g.lastSeen, t.progressAt);
    g.revenueAtRisk += t.value ?? 0;
    if (t.customer === null) g.anonymous += 1;
    else g.customers.add(t.customer);
    if (g.exampleTaskIds.length < 3) g.exampleTaskIds.push(t.taskId);
    const b = Math.floor((t.progressAt - window.from) / window.bucketMs);
    if (b >= 0 && b < g.series.length) g.series[b] = (g.series[b] ?? 0) + 1;
  }
  return [...out.values()].map(({ customers, anonymous, ...g }) => ({
    ...g,
    revenueAtRisk: round2(g.revenueAtRisk),
    affectedCustomers: customers.size + anonymous,
  }));
}

export const round2 = (n: number): number => Math.round(n * 100) / 100;

/** One sentence: what to check, then how to fix the affected tasks in one go. */
export function groupAction(g: FailureGroup, template: StepTemplate | undefined): string {
  if (g.kind === 'stuck') {
    const timeout =
      template?.timeoutSeconds === undefined ? '' : ` (timeout ${formatSeconds(template.timeoutSeconds)})`;
    const check = g.signature.startsWith('ready')
      ? `no live worker claims ${g.step}: check that workers with its handler are running`
      : g.signature.includes('lease')
        ? `${g.step}${timeout} runs far past its timeout: check the worker that holds it, or restart it`
        : `${g.step} makes no progress: inspect one task with \`tasker show ${g.exampleTaskIds[0] ?? '<task-id>'}\``;
    return `${plural(g.tasks, 'task')} stuck: ${check}; cancel them in bulk if they cannot finish`;
  }
  const what = OUTCOME_PHRASES[g.errorType ?? UNKNOWN] ?? `failed with ${g.errorType ?? UNKNOWN}`;
  const advice = adviceFor(g.step, g.errorType ?? UNKNOWN, template);
  const fix =
    g.byStatus.failed > 0
      ? `, then retry the ${plural(g.byStatus.failed, 'failed task')} in bulk (dry run first)`
      : g.byStatus.retrying > 0
        ? ` while the engine retries ${plural(g.byStatus.retrying, 'task')}`
        : '';
  return `${g.step} ${what}: ${advice}${fix}`;
}

/** Revenue at risk first, then tasks, then the most recent; the fingerprint breaks ties stably. */
export function rankGroups(groups: FailureGroup[]): FailureGroup[] {
  return groups.sort(
    (a, b) =>
      b.revenueAtRisk - a.revenueAtRisk ||
      b.tasks - a.tasks ||
      b.lastSeen - a.lastSeen ||
      (a.fingerprint < b.fingerprint ? -1 : a.fingerprint > b.fingerprint ? 1 : 0),
  );
}
