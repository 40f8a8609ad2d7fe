/**
 * The archive's line format: one finished task per line of JSON, whole (its record, steps, attempts and
 * transitions, as the store's records), its free-form data (context, step results and handler config)
 * redacted per filter_parameters. A line read back is checked field by field, so a damaged or foreign
 * file is refused naming the line and the field, before anything is written. Pure.
 */
import { TaskerError } from '../errors.js';
import type { AttemptRecord, StepRecord, TaskRecord, TransitionRecord } from './records.js';
import { STEP_STATES, TASK_STATES } from './states.js';

/** The first key of every line: what wrote it, so a later format can read this one. */
export const ARCHIVE_FORMAT = 'tasker-archive/1';

export interface ArchivedTask {
  task: TaskRecord;
  steps: StepRecord[];
  attempts: AttemptRecord[];
  transitions: TransitionRecord[];
}

/** One archive line (no newline), user data passed through `redact`. */
export function archiveLine(t: ArchivedTask, redact: <T>(v: T) => T): string {
  return JSON.stringify({
    format: ARCHIVE_FORMAT,
    task: { ...t.task, context: redact(t.task.context) },
    steps: t.steps.map((s) => ({ ...s, results: redact(s.results), handlerConfig: redact(s.handlerConfig) })),
    attempts: t.attempts,
    transitions: t.transitions,
  });
}

type Rec = Record<string, unknown>;

class LineReader {
  constructor(private readonly where: string) {}

  fail(field: string, expected: string, value: unknown): never {
    const shown = JSON.stringify(value);
    throw new TaskerError(
      'INVALID_ARGUMENT',
      `${this.where}: ${field}: expected ${expected}, got ${shown === undefined ? 'nothing' : shown.slice(0, 80)}`,
      { field },
    );
  }

  rec(v: unknown, field: string): Rec {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(field, 'an object', v);
    return v as Rec;
  }

  list(v: unknown, field: string): unknown[] {
    if (!Array.isArray(v)) this.fail(field, 'a list', v);
    return v;
  }

  str(o: Rec, key: string, field: string): string {
    const v = o[key];
    if (typeof v !== 'string') this.fail(`${field}.${key}`, 'a string', v);
    return v;
  }

  strOrNull(o: Rec, key: string, field: string): string | null {
    const v = o[key];
    if (v !== null && typeof v !== 'string') this.fail(`${field}.${key}`, 'a string or null', v);
    return v;
  }

  int(o: Rec, key: string, field: string): number {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) this.fail(`${field}.${key}`, 'an integer', v);
    return v;
  }

  intOrNull(o: Rec, key: string, field: string): number | null {
    const v = o[key];
    if (v !== null && (typeof v !== 'number' || !Number.isSafeInteger(v)))
      this.fail(`${field}.${key}`, 'an integer or null', v);
    return v;
  }

  oneOf<T extends string>(o: Rec, key: string, field: string, values: readonly T[]): T {
    const v = o[key];
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v))
      this.fail(`${field}.${key}`, `one of ${values.join(', ')}`, v);
    return v as T;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A line read back; `where` names it in errors (`FILE:LINE`). */
export function parseArchiveLine(text: string, where: string): ArchivedTask {
  const r = new LineReader(where);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new TaskerError('INVALID_ARGUMENT', `${where}: not a line of JSON (${text.length} characters)`);
  }
  const o = r.rec(raw, 'line');
  if (o.format !== ARCHIVE_FORMAT) r.fail('format', JSON.stringify(ARCHIVE_FORMAT), o.format);
  const t = r.rec(o.task, 'task');
  const id = r.str(t, 'id', 'task');
  if (!UUID.test(id)) r.fail('task.id', 'a task id (UUID)', id);
  const task: TaskRecord = {
    id,
    namespace: r.str(t, 'namespace', 'task'),
    name: r.str(t, 'name', 'task'),
    version: r.str(t, 'version', 'task'),
    status: r.oneOf(t, 'status', 'task', TASK_STATES),
    context: r.rec(t.context, 'task.context'),
    correlationId: r.str(t, 'correlationId', 'task'),
    idempotencyKey: r.strOrNull(t, 'idempotencyKey', 'task'),
    tags: r
      .list(t.tags, 'task.tags')
      .map((x, i) => (typeof x === 'string' ? x : r.fail(`task.tags[${i}]`, 'a string', x))),
    business: t.business === null ? null : r.rec(t.business, 'task.business'),
    traceparent: r.strOrNull(t, 'traceparent', 'task'),
    createdAt: r.int(t, 'createdAt', 'task'),
    updatedAt: r.int(t, 'updatedAt', 'task'),
    startedAt: r.intOrNull(t, 'startedAt', 'task'),
    finishedAt: r.intOrNull(t, 'finishedAt', 'task'),
  };
  const steps = r.list(o.steps, 'steps').map((v, i): StepRecord => {
    const f = `steps[${i}]`;
    const s = r.rec(v, f);
    const taskId = r.str(s, 'taskId', f);
    if (taskId !== id) r.fail(`${f}.taskId`, `the task's id ${id}`, taskId);
    return {
      id: r.int(s, 'id', f),
      taskId,
      name: r.str(s, 'name', f),
      position: r.int(s, 'position', f),
      handler: r.str(s, 'handler', f),
      status: r.oneOf(s, 'status', f, STEP_STATES),
      dependsOn: r
        .list(s.dependsOn, `${f}.dependsOn`)
        .map((x, k) => (typeof x === 'string' ? x : r.fail(`${f}.dependsOn[${k}]`, 'a string', x))),
      attempts: r.int(s, 'attempts', f),
      attemptLimit: r.int(s, 'attemptLimit', f),
      retry: r.rec(s.retry, `${f}.retry`) as unknown as StepRecord['retry'],
      timeoutMs: r.intOrNull(s, 'timeoutMs', f),
      handlerConfig: r.rec(s.handlerConfig, `${f}.handlerConfig`),
      readyAt: r.intOrNull(s, 'readyAt', f),
      leaseOwner: r.strOrNull(s, 'leaseOwner', f),
      leaseExpiresAt: r.intOrNull(s, 'leaseExpiresAt', f),
      queuedAt: r.intOrNull(s, 'queuedAt', f),
      startedAt: r.intOrNull(s, 'startedAt', f),
      finishedAt: r.intOrNull(s, 'finishedAt', f),
      results: s.results ?? null,
      errorMessage: r.strOrNull(s, 'errorMessage', f),
      errorType: r.strOrNull(s, 'errorType', f),
    };
  });
  const stepIds = new Set(steps.map((s) => s.id));
  const attempts = r.list(o.attempts, 'attempts').map((v, i): AttemptRecord => {
    const f = `attempts[${i}]`;
    const a = r.rec(v, f);
    const stepId = r.int(a, 'stepId', f);
    if (!stepIds.has(stepId)) r.fail(`${f}.stepId`, 'the id of one of the task’s steps', stepId);
    return {
      taskId: id,
      stepId,
      stepName: r.str(a, 'stepName', f),
      attempt: r.int(a, 'attempt', f),
      queuedAt: r.intOrNull(a, 'queuedAt', f),
      startedAt: r.int(a, 'startedAt', f),
      finishedAt: r.int(a, 'finishedAt', f),
      durationMs: r.int(a, 'durationMs', f),
      outcome: r.oneOf(a, 'outcome', f, ['complete', 'retry', 'error', 'cancelled'] as const),
      errorMessage: r.strOrNull(a, 'errorMessage', f),
      errorType: r.strOrNull(a, 'errorType', f),
      workerId: r.strOrNull(a, 'workerId', f),
    };
  });
  const transitions = r.list(o.transitions, 'transitions').map((v, i): TransitionRecord => {
    const f = `transitions[${i}]`;
    const x = r.rec(v, f);
    return {
      taskId: id,
      stepName: r.strOrNull(x, 'stepName', f),
      fromState: r.strOrNull(x, 'fromState', f),
      toState: r.str(x, 'toState', f),
      at: r.int(x, 'at', f),
      attempt: r.intOrNull(x, 'attempt', f),
      reason: r.strOrNull(x, 'reason', f),
      errorType: r.strOrNull(x, 'errorType', f),
    };
  });
  return { task, steps, attempts, transitions };
}
