/**
 * A template's own retention (`retention: {completed: 1d, failed: 90d}` in its YAML, `retention` on a
 * template built in code): durations as text per class, the others following the configured policy.
 * Parsed and checked here for both; turned into ages for the prune rules (core/retention.ts). Pure.
 */
import { TaskerError } from '../errors.js';
import { DURATION_EXPECTED, parseDuration } from './duration.js';
import { RETENTION_CLASSES, type RetentionClass, type TemplateRetention } from './retention.js';
import type { TaskTemplate } from './template.js';
import { didYouMean } from './suggest.js';
import { bt, isRec, map, read, type Check, type Issues, type Rec } from './template-fields.js';

export type RetentionSpec = Partial<Record<RetentionClass, string>>;

const ageText: Check<string> = {
  expected: `${DURATION_EXPECTED} (or never)`,
  accept: (v) => {
    try {
      parseDuration(v, '', true);
      return v as string;
    } catch {
      return undefined;
    }
  },
};

/** The YAML's `retention` map, its problems added to `c`. */
export function parseRetention(c: Issues, raw: Rec): RetentionSpec | undefined {
  const r = read(c, raw, [], 'retention', map);
  if (!r) return undefined;
  const out: RetentionSpec = {};
  for (const k of Object.keys(r.value)) {
    if ((RETENTION_CLASSES as readonly string[]).includes(k)) continue;
    const hint = didYouMean(k, RETENTION_CLASSES) || ` (expected one of: ${RETENTION_CLASSES.join(', ')})`;
    c.add([...r.segs, k], `unknown key ${bt(k)}${hint}`, 'key');
  }
  for (const cls of RETENTION_CLASSES) {
    const f = read(c, r.value, r.segs, cls, ageText);
    if (f) out[cls] = f.value;
  }
  return out;
}

/** A code template's `retention`, checked as the YAML's is: the problems, in words (none: []). */
export function retentionProblems(t: Pick<TaskTemplate, 'retention'>): string[] {
  const r: unknown = t.retention;
  if (r === undefined) return [];
  if (!isRec(r)) return [`retention ${JSON.stringify(r)} is not an object`];
  const problems: string[] = [];
  for (const [k, v] of Object.entries(r)) {
    if (!(RETENTION_CLASSES as readonly string[]).includes(k))
      problems.push(`retention.${k}: unknown class (expected one of: ${RETENTION_CLASSES.join(', ')})`);
    else if (v !== undefined && ageText.accept(v) === undefined)
      problems.push(`retention.${k} ${JSON.stringify(v)} is not ${ageText.expected}`);
  }
  return problems;
}

/** A spec's ages in milliseconds (null: never); a spec that does not parse is a TEMPLATE_INVALID naming `where`. */
export function retentionAges(spec: RetentionSpec, where: string): TemplateRetention['ages'] {
  const ages: Partial<Record<RetentionClass, number | null>> = {};
  for (const cls of RETENTION_CLASSES) {
    const v = spec[cls];
    if (v === undefined) continue;
    try {
      ages[cls] = parseDuration(v, `retention.${cls}`, true);
    } catch (err) {
      throw new TaskerError('TEMPLATE_INVALID', `${where}: ${(err as Error).message}`);
    }
  }
  return ages;
}
