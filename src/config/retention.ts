/**
 * The `retention:` section: how long finished tasks (by how they ended) and audit entries are kept. Its
 * table gives names, variables, defaults and docs; docs/configuration.md is rendered from it.
 */
import type { RetentionPolicy } from '../core/retention.js';
import { checkTable, normaliseSection, type SettingSpec } from './spec.js';

const age = { type: 'duration', never: true } as const;

export const RETENTION_SETTINGS = [
  {
    key: 'completed',
    file: 'completed',
    env: ['TASKER_RETENTION_COMPLETED'],
    kind: age,
    default: '7d',
    doc: 'How long a task that completed is kept after it finished (`never`: for ever).',
  },
  {
    key: 'failed',
    file: 'failed',
    env: ['TASKER_RETENTION_FAILED'],
    kind: age,
    default: '30d',
    doc: 'How long a task that failed (`error`, or `resolved_manually` after a failure) is kept after it finished, with its attempts and transitions.',
  },
  {
    key: 'cancelled',
    file: 'cancelled',
    env: ['TASKER_RETENTION_CANCELLED'],
    kind: age,
    default: '7d',
    doc: 'How long a cancelled task is kept after it was cancelled.',
  },
  {
    key: 'audit',
    file: 'audit',
    env: ['TASKER_RETENTION_AUDIT'],
    kind: age,
    default: '365d',
    doc: "How long audit-log entries (operators' actions, bulk jobs) are kept; independent of the tasks they name.",
  },
  {
    key: 'enabled',
    file: 'enabled',
    env: ['TASKER_RETENTION_ENABLED'],
    kind: { type: 'bool' },
    default: true,
    doc: 'Prune in every worker process (`tasker worker`, `tasker serve` with a worker, `Tasker.start()`), every `prune_interval`; on PostgreSQL one process at a time. `false`: only `tasker db prune` deletes.',
  },
  {
    key: 'pruneInterval',
    file: 'prune_interval',
    env: ['TASKER_RETENTION_PRUNE_INTERVAL'],
    kind: { type: 'duration', never: false },
    default: '10m',
    doc: 'How often a worker prunes; the first prune comes one interval after the worker starts.',
  },
  {
    key: 'batchSize',
    file: 'batch_size',
    kind: { type: 'int', min: 1, max: 10_000 },
    default: 100,
    doc: 'Tasks deleted per transaction.',
  },
  {
    key: 'batchPauseMs',
    file: 'batch_pause_ms',
    kind: { type: 'int', min: 0, max: 60_000 },
    default: 500,
    doc: "Pause between two batches, so pruning never holds the store's write lock for long; at least three times what the batch took. `0`: no pause at all.",
  },
  {
    key: 'busyShare',
    file: 'busy_share',
    kind: { type: 'number', min: 0.01, max: 1 },
    default: 0.05,
    doc: 'While the engine works (a step runs in this process, or any process changed a task since the last batch), the most of the time a prune may take: after a batch that took d ms it rests d × (1 − share) / share (19 × d at 0.05). It never stops, so a store under constant load is still pruned.',
  },
  {
    key: 'archiveDir',
    file: 'archive_dir',
    env: ['TASKER_RETENTION_ARCHIVE_DIR'],
    kind: { type: 'path' },
    defaultDoc: 'none (no archive)',
    doc: 'Before deleting, write each batch of pruned tasks (whole, redacted per filter_parameters) to a gzip JSON Lines file here; `tasker archive import FILE` loads one back. Relative to the config file.',
  },
] as const satisfies readonly SettingSpec[];

/** The section as the library takes it (durations as text, either spelling of the keys). */
export interface RetentionOptions {
  completed?: string;
  failed?: string;
  cancelled?: string;
  audit?: string;
  enabled?: boolean;
  pruneInterval?: string;
  batchSize?: number;
  batchPauseMs?: number;
  busyShare?: number;
  archiveDir?: string;
}

export interface ResolvedRetention {
  policy: RetentionPolicy;
  /** Milliseconds audit entries are kept; null: for ever. */
  auditMs: number | null;
  /** Workers prune every `intervalMs`. */
  enabled: boolean;
  intervalMs: number;
  batchSize: number;
  batchPauseMs: number;
  /** While the engine works, the most of the time a prune takes (core/prune-pace.ts). */
  busyShare: number;
  /** Where pruned tasks are archived before their delete; undefined: not archived. */
  archiveDir: string | undefined;
}

/** `name('completed')` names a field in errors (`retention.completed`, or where the CLI read it). */
export function compileRetention(
  raw: unknown,
  name: (field: string) => string = (f) => (f ? `retention.${f}` : 'retention'),
): ResolvedRetention {
  const o = normaliseSection(raw, name(''), RETENTION_SETTINGS);
  const v = checkTable(
    RETENTION_SETTINGS,
    (e) => o[e.file],
    (e) => name(e.file),
  );
  return {
    policy: { completed: v.completed, failed: v.failed, cancelled: v.cancelled },
    auditMs: v.audit,
    enabled: v.enabled,
    intervalMs: v.pruneInterval,
    batchSize: v.batchSize,
    batchPauseMs: v.batchPauseMs,
    busyShare: v.busyShare,
    archiveDir: v.archiveDir,
  };
}
