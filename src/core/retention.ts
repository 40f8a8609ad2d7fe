/**
 * Retention: how long finished tasks are kept, by how they ended, and which tasks a prune may delete now.
 * A policy gives an age per class (null: keep forever); a template may override any class for its own
 * tasks. The rules built here are what every store's prune statement reads. Pure.
 *
 * Only finished tasks are ever selected: `complete` (completed), `error` and `resolved_manually`
 * (failed: a failure someone may still investigate, resolved by hand or not) and `cancelled`. A task
 * that is pending or running matches no rule, however old.
 */
import { TaskerError } from '../errors.js';
import { formatDuration } from './duration.js';
import type { TaskState } from './states.js';

export const RETENTION_CLASSES = ['completed', 'failed', 'cancelled'] as const;
export type RetentionClass = (typeof RETENTION_CLASSES)[number];

/** The task states each class covers. */
export const CLASS_STATES: Readonly<Record<RetentionClass, readonly TaskState[]>> = {
  completed: ['complete'],
  failed: ['error', 'resolved_manually'],
  cancelled: ['cancelled'],
};

/** Milliseconds a finished task of each class is kept after it finished; null keeps it forever. */
export type RetentionPolicy = Readonly<Record<RetentionClass, number | null>>;

/** A template's own ages (the classes it names; the others follow the policy). */
export interface TemplateRetention {
  namespace: string;
  name: string;
  ages: Partial<RetentionPolicy>;
}

/**
 * One state's tasks that finished before `finishedBefore`: of one template, or (the policy's rule) of
 * every template but those in `except`, which have a rule of their own for this class.
 */
export interface PruneRule {
  status: TaskState;
  finishedBefore: number;
  namespace?: string | undefined;
  name?: string | undefined;
  except?: ReadonlyArray<{ namespace: string; name: string }> | undefined;
  /** For reports: the class, the age and where it came from. */
  why: { class: RetentionClass; age: string; from: 'policy' | 'template' | 'request' };
}

export interface PruneSelection {
  now: number;
  policy: RetentionPolicy;
  templates: readonly TemplateRetention[];
  /** One age for every selected class and template, replacing the policy (`--older-than`). */
  olderThanMs?: number | undefined;
  /** Only these classes. @default all */
  classes?: readonly RetentionClass[] | undefined;
  /** Only tasks of this namespace. */
  namespace?: string | undefined;
}

export function pruneRules(s: PruneSelection): PruneRule[] {
  const rules: PruneRule[] = [];
  const inScope = (namespace: string) => s.namespace === undefined || s.namespace === namespace;
  for (const cls of s.classes ?? RETENTION_CLASSES) {
    if (s.olderThanMs !== undefined) {
      const why = { class: cls, age: formatDuration(s.olderThanMs), from: 'request' } as const;
      for (const status of CLASS_STATES[cls])
        rules.push({ status, finishedBefore: s.now - s.olderThanMs, namespace: s.namespace, why });
      continue;
    }
    const own = s.templates.filter((t) => t.ages[cls] !== undefined);
    for (const t of own) {
      const age = t.ages[cls];
      if (age === null || age === undefined || !inScope(t.namespace)) continue;
      const why = { class: cls, age: formatDuration(age), from: 'template' } as const;
      for (const status of CLASS_STATES[cls])
        rules.push({ status, finishedBefore: s.now - age, namespace: t.namespace, name: t.name, why });
    }
    const age = s.policy[cls];
    if (age === null) continue;
    const except = own.map((t) => ({ namespace: t.namespace, name: t.name }));
    const why = { class: cls, age: formatDuration(age), from: 'policy' } as const;
    for (const status of CLASS_STATES[cls])
      rules.push({ status, finishedBefore: s.now - age, namespace: s.namespace, except, why });
  }
  return rules;
}

/** Which class a task state falls in (undefined: not finished, never pruned). */
export function classOf(status: TaskState): RetentionClass | undefined {
  return RETENTION_CLASSES.find((c) => CLASS_STATES[c].includes(status));
}

/** A class named by a person (`--status completed`), or a TaskerError listing the classes. */
export function retentionClass(value: unknown, field: string): RetentionClass {
  if (typeof value === 'string' && (RETENTION_CLASSES as readonly string[]).includes(value))
    return value as RetentionClass;
  throw new TaskerError(
    'INVALID_ARGUMENT',
    `${field}: expected one of ${RETENTION_CLASSES.join(', ')}, got ${JSON.stringify(value)}`,
    { field, value },
  );
}
