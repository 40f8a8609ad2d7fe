/**
 * Deletes what the retention policy no longer keeps (core/retention.ts): finished tasks whole, in small
 * batches with a pause between them, one transaction each, and audit entries past their own age. A dry
 * run counts what would go and changes nothing. Bad options are refused by name before anything runs.
 */
import type { Logger } from 'pino';
import type { ResolvedRetention } from '../config/retention.js';
import { parseDuration } from '../core/duration.js';
import {
  pruneRules,
  retentionClass,
  type PruneRule,
  type RetentionClass,
  type TemplateRetention,
} from '../core/retention.js';
import type { TaskState } from '../core/states.js';
import { templateRetention } from '../core/template-retention.js';
import { TaskerError } from '../errors.js';
import type { TaskStore } from '../store/port.js';
import type { TemplateRegistry } from '../templates/registry.js';

export interface PruneOptions {
  /** Count what would be deleted; delete nothing. @default false */
  dryRun?: boolean;
  /** One age for every class and template (`30d`), instead of the policy and templates' own. */
  olderThan?: string;
  /** Only these classes: `completed`, `failed`, `cancelled`. @default all */
  status?: RetentionClass | readonly RetentionClass[];
  /** Only tasks of this namespace. */
  namespace?: string;
  /** Tasks deleted per transaction. @default retention.batch_size (500) */
  batchSize?: number;
  /** Pause between two batches, so a prune never holds the store for long. @default retention.batch_pause_ms (100) */
  pauseMs?: number;
  /** Stop after this many tasks. @default no limit */
  maxTasks?: number;
}

export interface PruneReport {
  dryRun: boolean;
  /** What was applied: one line per class and source of its age. */
  rules: Array<{
    class: RetentionClass;
    age: string;
    from: 'policy' | 'template' | 'request';
    namespace: string | null;
    name: string | null;
  }>;
  /** Tasks deleted (a dry run: that would be). */
  tasks: number;
  byTemplate: Array<{ namespace: string; name: string; status: TaskState; count: number }>;
  /** Audit entries deleted (would be); only a policy run (no status, namespace or age given) prunes them. */
  audit: number;
  batches: number;
  seconds: number;
  /** Why nothing ran: another process holds the prune lock (PostgreSQL), or a prune runs here already. */
  skipped: string | null;
}

/** How this process's last prune went (health, metrics). */
export interface PruneStatus {
  at: number;
  tasks: number;
  audit: number;
  seconds: number;
  skipped: string | null;
  error: string | null;
}

/** Internal controls: the schedule stops a prune between batches when the worker stops. */
export interface PruneControl {
  signal?: AbortSignal | undefined;
}

interface Checked {
  dryRun: boolean;
  olderThanMs: number | undefined;
  classes: RetentionClass[] | undefined;
  namespace: string | undefined;
  batchSize: number;
  pauseMs: number;
  maxTasks: number;
}

function checkInt(v: unknown, field: string, min: number, max: number, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw new TaskerError(
      'INVALID_ARGUMENT',
      `${field}: expected an integer from ${min} to ${max}, got ${JSON.stringify(v)}`,
      { field, value: v },
    );
  return v;
}

/** An age given as an argument (`30d`), in milliseconds; INVALID_ARGUMENT naming `field` otherwise. */
export function ageArgument(value: unknown, field: string): number {
  try {
    return parseDuration(value, field) ?? 0;
  } catch (err) {
    throw new TaskerError('INVALID_ARGUMENT', (err as Error).message, { field, value });
  }
}

export function checkPruneOptions(o: unknown, defaults = { batchSize: 500, pauseMs: 100 }): Checked {
  if (o !== undefined && (typeof o !== 'object' || o === null || Array.isArray(o)))
    throw new TaskerError('INVALID_ARGUMENT', `prune options: expected an object, got ${JSON.stringify(o)}`);
  const p = (o ?? {}) as Record<string, unknown>;
  const known = ['dryRun', 'olderThan', 'status', 'namespace', 'batchSize', 'pauseMs', 'maxTasks'];
  for (const k of Object.keys(p))
    if (!known.includes(k))
      throw new TaskerError(
        'INVALID_ARGUMENT',
        `prune options: unknown option ${k}; known: ${known.join(', ')}`,
        {
          field: k,
        },
      );
  if (p.dryRun !== undefined && typeof p.dryRun !== 'boolean')
    throw new TaskerError(
      'INVALID_ARGUMENT',
      `dryRun: expected true or false, got ${JSON.stringify(p.dryRun)}`,
    );
  if (p.namespace !== undefined && (typeof p.namespace !== 'string' || p.namespace === ''))
    throw new TaskerError(
      'INVALID_ARGUMENT',
      `namespace: expected a non-empty string, got ${JSON.stringify(p.namespace)}`,
    );
  const olderThanMs = p.olderThan === undefined ? undefined : ageArgument(p.olderThan, 'olderThan');
  const statuses = p.status === undefined ? undefined : Array.isArray(p.status) ? p.status : [p.status];
  return {
    dryRun: p.dryRun === true,
    olderThanMs,
    classes: statuses?.map((s: unknown) => retentionClass(s, 'status')),
    namespace: p.namespace,
    batchSize: checkInt(p.batchSize, 'batchSize', 1, 10_000, defaults.batchSize),
    pauseMs: checkInt(p.pauseMs, 'pauseMs', 0, 60_000, defaults.pauseMs),
    maxTasks: checkInt(p.maxTasks, 'maxTasks', 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
  };
}

export class Pruner {
  /** This process's last prune (by the schedule or on demand), null before the first. */
  last: PruneStatus | null = null;

  constructor(
    private readonly store: TaskStore,
    private readonly templates: TemplateRegistry,
    readonly retention: ResolvedRetention,
    private readonly logger: Logger,
    private readonly now: () => number,
    /** Told of every prune that deleted something (the metrics). */
    private readonly onPruned: (report: PruneReport) => void = () => {},
  ) {}

  /** The templates' own ages: the latest registered version of each template speaks for it. */
  private templateAges(): TemplateRetention[] {
    const latest = new Map<string, TemplateRetention | undefined>();
    for (const t of this.templates.list()) {
      const key = `${t.namespace}/${t.name}`;
      if (latest.has(key)) continue;
      latest.set(key, templateRetention(this.templates.get(t.namespace, t.name)));
    }
    return [...latest.values()].filter((t): t is TemplateRetention => t !== undefined);
  }

  /**
   * One prune, under the store's prune lock: with another process (or this one) pruning already, nothing
   * runs and the report says why.
   */
  async prune(options?: PruneOptions, control: PruneControl = {}): Promise<PruneReport> {
    const o = checkPruneOptions(options, {
      batchSize: this.retention.batchSize,
      pauseMs: this.retention.batchPauseMs,
    });
    const at = this.now();
    const t0 = performance.now();
    try {
      const out = await this.store.exclusive('prune', () => this.run(o, control));
      const report = out.ran ? out.value : { ...emptyReport(o.dryRun), skipped: 'another prune is running' };
      report.seconds = (performance.now() - t0) / 1000;
      if (!o.dryRun)
        this.last = {
          at,
          tasks: report.tasks,
          audit: report.audit,
          seconds: report.seconds,
          skipped: report.skipped,
          error: null,
        };
      return report;
    } catch (err) {
      if (!o.dryRun)
        this.last = {
          at,
          tasks: 0,
          audit: 0,
          seconds: (performance.now() - t0) / 1000,
          skipped: null,
          error: err instanceof Error ? err.message : String(err),
        };
      throw err;
    }
  }

  private async run(o: Checked, control: PruneControl): Promise<PruneReport> {
    const started = performance.now();
    const now = this.now();
    const rules = pruneRules({
      now,
      policy: this.retention.policy,
      templates: this.templateAges(),
      olderThanMs: o.olderThanMs,
      classes: o.classes,
      namespace: o.namespace,
    });
    const policyRun = o.olderThanMs === undefined && o.classes === undefined && o.namespace === undefined;
    const auditBefore = policyRun && this.retention.auditMs !== null ? now - this.retention.auditMs : null;
    const report: PruneReport = { ...emptyReport(o.dryRun), rules: describeRules(rules) };
    const tally = new Map<string, PruneReport['byTemplate'][number]>();
    const count = (namespace: string, name: string, status: TaskState, n: number) => {
      const key = `${namespace}\u0000${name}\u0000${status}`;
      const row = tally.get(key) ?? { namespace, name, status, count: 0 };
      row.count += n;
      tally.set(key, row);
      report.tasks += n;
    };
    if (o.dryRun) {
      for (const c of await this.store.countPrunable(rules)) count(c.namespace, c.name, c.status, c.count);
      if (auditBefore !== null) report.audit = await this.store.countAudit(auditBefore);
    } else {
      for (const rule of rules) await this.pruneRule(rule, o, report, count, control.signal);
      if (auditBefore !== null) {
        while (control.signal?.aborted !== true) {
          const n = await this.store.pruneAudit(auditBefore, o.batchSize);
          report.audit += n;
          if (n < o.batchSize) break;
          await pause(o.pauseMs);
        }
      }
    }
    report.byTemplate = [...tally.values()].sort(
      (a, b) =>
        a.namespace.localeCompare(b.namespace) ||
        a.name.localeCompare(b.name) ||
        a.status.localeCompare(b.status),
    );
    report.seconds = (performance.now() - started) / 1000;
    if (!o.dryRun && (report.tasks > 0 || report.audit > 0)) {
      this.onPruned(report);
      this.logger.info(
        { pruned_tasks: report.tasks, pruned_audit_entries: report.audit, batches: report.batches },
        `pruned ${report.tasks} finished task(s) and ${report.audit} audit entr${report.audit === 1 ? 'y' : 'ies'}`,
      );
    }
    return report;
  }

  private async pruneRule(
    rule: PruneRule,
    o: Checked,
    report: PruneReport,
    count: (namespace: string, name: string, status: TaskState, n: number) => void,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    let fruitless = 0;
    while (signal?.aborted !== true) {
      const room = o.maxTasks - report.tasks;
      if (room <= 0) return;
      const batch = await this.store.findPrunable(rule, Math.min(o.batchSize, room));
      if (batch.length === 0) return;
      const gone = new Set(await this.store.deleteTasks(batch, rule));
      report.batches += 1;
      for (const t of batch) if (gone.has(t.id)) count(t.namespace, t.name, t.status, 1);
      // Every task of the batch changed under us (retried, resolved) three times running: leave the rest
      // to the next prune rather than spin.
      fruitless = gone.size === 0 ? fruitless + 1 : 0;
      if (fruitless >= 3 || batch.length < Math.min(o.batchSize, room)) return;
      await pause(o.pauseMs);
    }
  }
}

function emptyReport(dryRun: boolean): PruneReport {
  return { dryRun, rules: [], tasks: 0, byTemplate: [], audit: 0, batches: 0, seconds: 0, skipped: null };
}

const pause = (ms: number) => (ms > 0 ? new Promise<void>((r) => setTimeout(r, ms)) : Promise.resolve());

/** One line per class and source (a class's two states share their age). */
function describeRules(rules: readonly PruneRule[]): PruneReport['rules'] {
  const out = new Map<string, PruneReport['rules'][number]>();
  for (const r of rules) {
    const line = {
      class: r.why.class,
      age: r.why.age,
      from: r.why.from,
      namespace: r.namespace ?? null,
      name: r.name ?? null,
    };
    out.set(JSON.stringify(line), line);
  }
  return [...out.values()];
}
