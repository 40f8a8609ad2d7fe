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
] as const satisfies readonly SettingSpec[];

/** The section as the library takes it (durations as text, either spelling of the keys). */
export interface RetentionOptions {
  completed?: string;
  failed?: string;
  cancelled?: string;
  audit?: string;
}

export interface ResolvedRetention {
  policy: RetentionPolicy;
  /** Milliseconds audit entries are kept; null: for ever. */
  auditMs: number | null;
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
  };
}
