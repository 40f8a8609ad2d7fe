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
  RETENTION_CLASSES,
  retentionClass,
  type PruneRule,
  type RetentionClass,
  type TemplateRetention,
} from '../core/retention.js';
import type { TaskState } from '../core/states.js';
import { retentionAges, type RetentionSpec } from '../core/template-retention.js';
import { compareSemver } from '../core/semver.js';
import { prunePause } from '../core/prune-pace.js';
import { archiveLine, parseArchiveLine, type ArchivedTask } from '../core/archive-format.js';
import { TaskerError } from '../errors.js';
import { readArchiveFile, writeArchiveFile } from './archive-files.js';
import type { StoredTemplateRetention, TaskStore } from '../store/port.js';
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
  /** Tasks deleted per transaction. @default retention.batch_size (100) */
  batchSize?: number;
  /** Pause between two batches, so a prune never holds the store for long. @default retention.batch_pause_ms (500) */
  pauseMs?: number;
  /**
   * While the engine works, the most of the time the prune may take, 0.01–1 (1: no longer rest than when
   * idle). @default retention.busy_share (0.05)
   */
  busyShare?: number;
  /** Stop after this many tasks. @default no limit */
  maxTasks?: number;
  /**
   * Write each batch's tasks, whole and redacted, to a gzip JSON Lines file in this folder before they
   * are deleted. @default retention.archive_dir (none: no archive)
   */
  archiveDir?: string;
  /** Ends the prune between two batches (what was deleted stays deleted). */
  signal?: AbortSignal;
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
  /** Batches after which the prune rested longer because the engine was working (busy_share). */
  busyBatches: number;
  seconds: number;
  /** Why nothing ran: another process holds the prune lock (PostgreSQL), or a prune runs here already. */
  skipped: string | null;
  /** The archive files written (one per batch), oldest first; empty without an archive folder. */
  archiveFiles: string[];
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
  /** Called once a batch's archive file is durable, before its delete (the crash tests stop here). */
  afterArchive?: ((path: string) => Promise<void>) | undefined;
}

interface Checked {
  dryRun: boolean;
  olderThanMs: number | undefined;
  classes: RetentionClass[] | undefined;
  namespace: string | undefined;
  batchSize: number;
  pauseMs: number;
  busyShare: number;
  maxTasks: number;
  archiveDir: string | undefined;
  signal: AbortSignal | undefined;
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

export function checkPruneOptions(
  o: unknown,
  defaults: { batchSize: number; pauseMs: number; busyShare: number; archiveDir?: string | undefined } = {
    batchSize: 500,
    pauseMs: 100,
    busyShare: 0.05,
  },
): Checked {
  if (o !== undefined && (typeof o !== 'object' || o === null || Array.isArray(o)))
    throw new TaskerError('INVALID_ARGUMENT', `prune options: expected an object, got ${JSON.stringify(o)}`);
  const p = (o ?? {}) as Record<string, unknown>;
  const known = [
    'dryRun',
    'olderThan',
    'status',
    'namespace',
    'batchSize',
    'pauseMs',
    'busyShare',
    'maxTasks',
    'archiveDir',
    'signal',
  ];
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
  if (p.archiveDir !== undefined && (typeof p.archiveDir !== 'string' || p.archiveDir.trim() === ''))
    throw new TaskerError(
      'INVALID_ARGUMENT',
      `archiveDir: expected a folder path, got ${JSON.stringify(p.archiveDir)}`,
      { field: 'archiveDir' },
    );
  if (
    p.busyShare !== undefined &&
    (typeof p.busyShare !== 'number' || !(p.busyShare >= 0.01 && p.busyShare <= 1))
  )
    throw new TaskerError(
      'INVALID_ARGUMENT',
      `busyShare: expected a number from 0.01 to 1, got ${JSON.stringify(p.busyShare)}`,
      { field: 'busyShare', value: p.busyShare },
    );
  if (p.signal !== undefined && !(p.signal instanceof AbortSignal))
    throw new TaskerError('INVALID_ARGUMENT', 'signal: expected an AbortSignal', { field: 'signal' });
  const olderThanMs = p.olderThan === undefined ? undefined : ageArgument(p.olderThan, 'olderThan');
  const statuses = p.status === undefined ? undefined : Array.isArray(p.status) ? p.status : [p.status];
  return {
    dryRun: p.dryRun === true,
    olderThanMs,
    classes: statuses?.map((s: unknown) => retentionClass(s, 'status')),
    namespace: p.namespace,
    batchSize: checkInt(p.batchSize, 'batchSize', 1, 10_000, defaults.batchSize),
    pauseMs: checkInt(p.pauseMs, 'pauseMs', 0, 60_000, defaults.pauseMs),
    busyShare: p.busyShare ?? defaults.busyShare,
    maxTasks: checkInt(p.maxTasks, 'maxTasks', 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
    archiveDir: p.archiveDir ?? defaults.archiveDir,
    signal: p.signal,
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
    /** Masks filter_parameters in what goes to an archive file. */
    private readonly redact: <T>(value: T) => T,
    /** Told of every prune that deleted something (the metrics). */
    private readonly onPruned: (report: PruneReport) => void = () => {},
    /** This process's worker has work in hand. */
    private readonly working: () => boolean = () => false,
  ) {}

  /**
   * Publish this process's templates' own retention to the store (a template's newest version speaks for
   * it: a row is replaced only by an equal or newer version), and return every template's as stored: so
   * whichever process prunes honours templates it never loaded. A dry run (`save` false) writes nothing.
   */
  async publish(save = true): Promise<TemplateRetention[]> {
    const stored = new Map<string, StoredTemplateRetention>();
    for (const r of await this.store.templateRetentions()) stored.set(`${r.namespace}/${r.name}`, r);
    const newer: StoredTemplateRetention[] = [];
    for (const t of this.templates.list()) {
      const key = `${t.namespace}/${t.name}`;
      if (newer.some((n) => `${n.namespace}/${n.name}` === key)) continue;
      const latest = this.templates.get(t.namespace, t.name);
      const mine = {
        namespace: latest.namespace,
        name: latest.name,
        version: latest.version,
        retention: JSON.stringify(latest.retention ?? {}),
      };
      const theirs = stored.get(key);
      const cmp = theirs === undefined ? 1 : compareSemver(mine.version, theirs.version);
      if (cmp > 0 || (cmp === 0 && theirs?.retention !== mine.retention)) newer.push(mine);
    }
    if (save && newer.length > 0) await this.store.saveTemplateRetentions(newer, this.now());
    for (const n of newer) stored.set(`${n.namespace}/${n.name}`, n);
    const out: TemplateRetention[] = [];
    for (const r of stored.values()) {
      try {
        const ages = retentionAges(
          JSON.parse(r.retention) as RetentionSpec,
          `stored retention of ${r.namespace}/${r.name}@${r.version}`,
        );
        if (Object.keys(ages).length > 0) out.push({ namespace: r.namespace, name: r.name, ages });
      } catch (err) {
        // A row this version cannot read (written by a newer release?): that template follows the policy.
        this.logger.warn(
          { err, namespace: r.namespace, name: r.name },
          'ignoring a stored template retention',
        );
      }
    }
    return out;
  }

  /**
   * One prune, under the store's prune lock: with another process (or this one) pruning already, nothing
   * runs and the report says why.
   */
  async prune(options?: PruneOptions, control: PruneControl = {}): Promise<PruneReport> {
    const o = checkPruneOptions(options, {
      batchSize: this.retention.batchSize,
      pauseMs: this.retention.batchPauseMs,
      busyShare: this.retention.busyShare,
      archiveDir: this.retention.archiveDir,
    });
    const at = this.now();
    const t0 = performance.now();
    try {
      const signal = o.signal ?? control.signal;
      const out = await this.store.exclusive('prune', () => this.run(o, { ...control, signal }));
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
    const templates = await this.publish(!o.dryRun);
    const rules = pruneRules({
      now,
      policy: this.retention.policy,
      templates,
      olderThanMs: o.olderThanMs,
      classes: o.classes,
      namespace: o.namespace,
    });
    const policyRun = o.olderThanMs === undefined && o.classes === undefined && o.namespace === undefined;
    const auditBefore = policyRun && this.retention.auditMs !== null ? now - this.retention.auditMs : null;
    const report: PruneReport = { ...emptyReport(o.dryRun), rules: describeRules(rules) };
    // What is kept for ever says so too (a template's `never`, or the policy's).
    if (o.olderThanMs === undefined) {
      for (const cls of o.classes ?? RETENTION_CLASSES) {
        for (const t of templates)
          if (t.ages[cls] === null && (o.namespace === undefined || o.namespace === t.namespace))
            report.rules.push({
              class: cls,
              age: 'never',
              from: 'template',
              namespace: t.namespace,
              name: t.name,
            });
        if (this.retention.policy[cls] === null)
          report.rules.push({
            class: cls,
            age: 'never',
            from: 'policy',
            namespace: o.namespace ?? null,
            name: null,
          });
      }
    }
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
      // A pause of 0 asks for full speed: no rests, and no activity to look at.
      const activity = new EngineActivity(this.store, this.working);
      if (o.pauseMs > 0) await activity.changed();
      const rest = async (since: number) => {
        if (o.pauseMs === 0) return;
        const busy = await activity.changed();
        if (busy) report.busyBatches += 1;
        await pause(prunePause(performance.now() - since, busy, o), control.signal);
      };
      for (const rule of rules) await this.pruneRule(rule, o, report, count, control, rest);
      if (auditBefore !== null) {
        while (control.signal?.aborted !== true) {
          const t0 = performance.now();
          const n = await this.store.pruneAudit(auditBefore, o.batchSize);
          report.audit += n;
          if (n < o.batchSize) break;
          await rest(t0);
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

  /**
   * The batch's tasks as they are now, whole, in one durable file. A task that changes after this read
   * fails the delete's re-check and stays in the store; the file then holds a copy that import skips.
   */
  private async archive(dir: string, batch: readonly { id: string }[]): Promise<string> {
    const ids = batch.map((t) => t.id);
    const [snapshots, attempts, transitions] = await Promise.all([
      this.store.getTasks(ids),
      this.store.getAttemptsFor(ids),
      this.store.getTransitionsFor(ids),
    ]);
    const lines = snapshots.map((snap) =>
      archiveLine(
        {
          task: snap.task,
          steps: snap.steps,
          attempts: attempts.filter((a) => a.taskId === snap.task.id),
          transitions: transitions.filter((t) => t.taskId === snap.task.id),
        },
        this.redact,
      ),
    );
    return writeArchiveFile(dir, lines, this.now());
  }

  /** Archived tasks back into the store (an investigation): every line checked before any is written. */
  async importArchive(
    path: string,
  ): Promise<{ file: string; tasks: number; imported: string[]; skipped: string[] }> {
    if (typeof path !== 'string' || path.trim() === '')
      throw new TaskerError('INVALID_ARGUMENT', `archive file: expected a path, got ${JSON.stringify(path)}`);
    const tasks: ArchivedTask[] = [];
    for await (const { n, text } of readArchiveFile(path)) tasks.push(parseArchiveLine(text, `${path}:${n}`));
    const out = await this.store.importTasks(tasks);
    return { file: path, tasks: tasks.length, ...out };
  }

  private async pruneRule(
    rule: PruneRule,
    o: Checked,
    report: PruneReport,
    count: (namespace: string, name: string, status: TaskState, n: number) => void,
    control: PruneControl,
    /** Rests after a batch begun at `since` (performance.now()). */
    rest: (since: number) => Promise<void>,
  ): Promise<void> {
    let fruitless = 0;
    while (control.signal?.aborted !== true) {
      const room = o.maxTasks - report.tasks;
      if (room <= 0) return;
      const t0 = performance.now();
      const batch = await this.store.findPrunable(rule, Math.min(o.batchSize, room));
      if (batch.length === 0) return;
      if (o.archiveDir !== undefined) {
        report.archiveFiles.push(await this.archive(o.archiveDir, batch));
        await control.afterArchive?.(report.archiveFiles[report.archiveFiles.length - 1] ?? '');
      }
      const gone = new Set(await this.store.deleteTasks(batch, rule));
      report.batches += 1;
      for (const t of batch) if (gone.has(t.id)) count(t.namespace, t.name, t.status, 1);
      // Every task of the batch changed under us (retried, resolved) three times running: leave the rest
      // to the next prune rather than spin.
      fruitless = gone.size === 0 ? fruitless + 1 : 0;
      if (fruitless >= 3 || batch.length < Math.min(o.batchSize, room)) return;
      await rest(t0);
    }
  }
}

function emptyReport(dryRun: boolean): PruneReport {
  return {
    dryRun,
    rules: [],
    tasks: 0,
    byTemplate: [],
    audit: 0,
    batches: 0,
    busyBatches: 0,
    seconds: 0,
    skipped: null,
    archiveFiles: [],
  };
}

/**
 * Whether the engine worked since the last look: a step in hand here, or any process's recorded change
 * (the store's activity mark moved). The first look only takes the mark.
 */
class EngineActivity {
  private mark: number | undefined;

  constructor(
    private readonly store: TaskStore,
    private readonly working: () => boolean,
  ) {}

  async changed(): Promise<boolean> {
    const mark = await this.store.activityMark();
    const moved = this.mark !== undefined && mark !== this.mark;
    this.mark = mark;
    return moved || this.working();
  }
}

/** A rest that ends early when the prune is stopped (a worker's shutdown must not wait out a long one). */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (ms <= 0 || signal?.aborted === true) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

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
