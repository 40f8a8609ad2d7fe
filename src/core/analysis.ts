/**
 * Dependency analysis of one task: what stopped it (or what took the time), which steps never ran, and
 * one concrete next action. Every sentence is built from the step data and the template, never from
 * knowledge of a particular workflow, so a different workflow failing elsewhere gets a different answer.
 * Pure; the HTTP API maps the result to snake_case.
 */
import { topoOrder } from './dag.js';
import { ENGINE_ERROR_TYPES } from './outcomes.js';
import type { TaskState } from './states.js';
import type { StepDescription, TaskDescription } from './task-description.js';
import type { StepTemplate, TaskTemplate } from './template.js';

export interface DependencyAnalysis {
  /** One sentence summarising the task's state, derived from its steps. */
  analysis: string;
  /** Pending steps downstream (transitively) of a failed or cancelled step: they cannot run. */
  blockedSteps: string[];
  /** A failed step, or one step taking at least half of a multi-step critical path. */
  bottleneckIdentified: boolean;
  /** The failed step (first in DAG order, as the engine reports it); else the slowest critical-path step. */
  bottleneckStep: string | null;
  /** Root→leaf path with the largest summed execution time; empty for a task with no steps. */
  criticalPath: string[];
  criticalPathMs: number;
  /** Null when nothing needs doing. */
  suggestedAction: string | null;
}

/** A bottleneck is worth reporting on a healthy task only when it dominates the critical path. */
const NOTABLE_SHARE = 0.5;

/** handlerConfig keys that name the system a step depends on, in order of preference. */
const SYSTEM_KEYS = ['service', 'system', 'dependency', 'endpoint'] as const;

/** The system a step talks to, for advice text: from handlerConfig when declared, else from the step name. */
export function dependentSystem(stepName: string, template: StepTemplate | undefined): string {
  const config = template?.handlerConfig ?? {};
  for (const key of SYSTEM_KEYS) {
    const v = Object.hasOwn(config, key) ? config[key] : undefined;
    if (typeof v === 'string' && v.trim() !== '') return v.trim();
  }
  return `the service behind ${stepName}`;
}

/**
 * Whether a failure is one the engine does not retry: a PermanentError, a step whose policy forbids
 * retries, or (without the template) a step that failed for good with attempts still left.
 */
export function isNonRetryable(
  errorType: string | null,
  template: StepTemplate | undefined,
  attempts?: { used: number; max: number },
): boolean {
  if (errorType === 'PermanentError' || template?.retry.retryable === false) return true;
  return attempts !== undefined && attempts.used < attempts.max;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function formatSeconds(seconds: number): string {
  // Sub-second timeouts are common for internal calls; "0.1 s" for 150 ms would misstate them.
  return seconds < 1 ? `${Math.round(seconds * 1000)} ms` : `${Number(seconds.toFixed(1))} s`;
}

export function percent(part: number, whole: number): string {
  return `${Math.round((part * 100) / whole)} %`;
}

function timeoutOf(template: StepTemplate | undefined): string | null {
  return template?.timeoutSeconds === undefined ? null : formatSeconds(template.timeoutSeconds);
}

/** Steps in an order where dependencies come first; the given order when it cannot be computed (cycle). */
function dependencyOrder(steps: readonly StepDescription[]): string[] {
  try {
    return topoOrder(steps);
  } catch {
    return steps.map((s) => s.name);
  }
}

export function criticalPath(steps: readonly StepDescription[]): { path: string[]; ms: number } {
  const index = new Map<string, number>();
  steps.forEach((s, i) => {
    if (!index.has(s.name)) index.set(s.name, i);
  });
  const at = (name: string): number => index.get(name) ?? Number.MAX_SAFE_INTEGER;
  // Longest path ending at each step; `prev` only points at steps already computed, so walking it ends.
  const best = new Map<string, { ms: number; prev: string | null }>();
  for (const name of dependencyOrder(steps)) {
    const step = steps[at(name)];
    if (!step || best.has(name)) continue;
    let prev: string | null = null;
    let prevMs = 0;
    for (const dep of step.dependsOn) {
      const b = best.get(dep);
      if (!b) continue;
      if (prev === null || b.ms > prevMs || (b.ms === prevMs && at(dep) < at(prev))) {
        prev = dep;
        prevMs = b.ms;
      }
    }
    best.set(name, { ms: prevMs + (step.executionTimeMs ?? 0), prev });
  }
  const hasDependants = new Set(steps.flatMap((s) => s.dependsOn));
  const leaves = [...best.keys()].filter((n) => !hasDependants.has(n));
  let end: string | null = null;
  for (const name of leaves.length > 0 ? leaves : [...best.keys()]) {
    const ms = best.get(name)?.ms ?? 0;
    const endMs = end === null ? -1 : (best.get(end)?.ms ?? 0);
    if (ms > endMs || (ms === endMs && end !== null && at(name) < at(end))) end = name;
  }
  const path: string[] = [];
  for (let n = end; n !== null; n = best.get(n)?.prev ?? null) path.unshift(n);
  return { path, ms: end === null ? 0 : (best.get(end)?.ms ?? 0) };
}

function attemptsUsed(step: StepDescription): string {
  return `${step.attempts} of ${step.maxAttempts} attempts`;
}

/** What happened to a failed step, for the analysis sentence. */
function failurePhrase(step: StepDescription, template: StepTemplate | undefined): string {
  const limit = timeoutOf(template);
  switch (step.errorType) {
    case ENGINE_ERROR_TYPES.timeout:
      return `timed out (${attemptsUsed(step)}${limit === null ? '' : `, limit ${limit}`})`;
    case ENGINE_ERROR_TYPES.workerLost:
      return `lost its worker (${attemptsUsed(step)})`;
    case ENGINE_ERROR_TYPES.cancelled:
      return 'was cancelled';
    case ENGINE_ERROR_TYPES.notSerializable:
      return `returned results that are not JSON-serializable (${attemptsUsed(step)})`;
    default:
      return `failed with ${step.errorType ?? 'an unrecorded error'} (${attemptsUsed(step)})`;
  }
}

/** Advice for the last failure of a step, shared by terminal failures and scheduled retries. */
function failureAdvice(step: StepDescription, template: StepTemplate | undefined): string {
  const system = dependentSystem(step.name, template);
  const limit = timeoutOf(template);
  switch (step.errorType) {
    case ENGINE_ERROR_TYPES.timeout:
      return `check the health of ${system} and the ${limit === null ? '' : `${limit} `}timeout of ${step.name}`;
    case ENGINE_ERROR_TYPES.workerLost:
      return `the worker process running ${step.name} died or lost its lease: check worker logs and memory, and that lease_seconds covers how long ${step.name} runs`;
    case ENGINE_ERROR_TYPES.notSerializable:
      return `make handler ${step.handler} return plain JSON data`;
    default:
      return `check the error logs of ${system}`;
  }
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The next thing an operator should do about one step, with the figures that justify it. */
export function suggestAction(
  step: StepDescription,
  template: StepTemplate | undefined,
  now?: number,
): string {
  const { name } = step;
  const system = dependentSystem(name, template);
  const limit = timeoutOf(template);
  if (step.status === 'cancelled' || step.errorType === ENGINE_ERROR_TYPES.cancelled) {
    return `${name} was cancelled (${attemptsUsed(step)} used); a cancelled task cannot be retried, so start a new task if the work is still needed`;
  }
  if (step.status === 'error') {
    const used = attemptsUsed(step);
    switch (step.errorType) {
      case ENGINE_ERROR_TYPES.timeout:
        return `${capitalize(failureAdvice(step, template))} (timed out; ${used} used), then \`tasker retry\` the task`;
      case ENGINE_ERROR_TYPES.workerLost:
        return `${capitalize(failureAdvice(step, template))} (${used} used); then \`tasker retry\` the task`;
      case ENGINE_ERROR_TYPES.notSerializable:
        return `${name} returned results that are not JSON-serializable (${used} used): ${failureAdvice(step, template)}, then \`tasker retry\` the task`;
    }
    const type = step.errorType ?? 'an unrecorded error';
    if (isNonRetryable(step.errorType, template, { used: step.attempts, max: step.maxAttempts })) {
      return `${name} failed with ${type}, which is not retried (${used} used): fix the input or data it rejected, then \`tasker resolve\` the step or \`tasker retry\` the task`;
    }
    const budget = template ? ` (now ${template.retry.maxAttempts})` : '';
    return `Check the error logs of ${system}: ${name} failed with ${type} on all ${used}; if the failures are transient, consider more attempts${budget} or a longer backoff, then \`tasker retry\` the task`;
  }
  if (step.status === 'waiting_for_retry') {
    const what =
      step.errorType === ENGINE_ERROR_TYPES.timeout
        ? 'timed out'
        : `failed with ${step.errorType ?? 'an unrecorded error'}`;
    return `${name} ${what} on attempt ${step.attempts} of ${step.maxAttempts} and will be retried; if it keeps failing, ${failureAdvice(step, template)}`;
  }
  if (step.status === 'in_progress') {
    const ranMs = now !== undefined && step.startedAt !== null ? now - step.startedAt : null;
    const limitMs = template?.timeoutSeconds === undefined ? null : template.timeoutSeconds * 1000;
    if (ranMs !== null && limitMs !== null && limit !== null && ranMs > limitMs) {
      return `${name} has run ${formatSeconds(ranMs / 1000)}, past its ${limit} timeout (attempt ${step.attempts} of ${step.maxAttempts}): its worker may be stuck or gone; the attempt is retried once its lease expires — check that worker's logs and ${system}`;
    }
    if (step.attempts > 1) {
      return `${name} is running attempt ${step.attempts} of ${step.maxAttempts} after earlier attempts failed; if it fails again, ${failureAdvice(step, template)}`;
    }
  }
  if (step.status === 'complete' && step.attempts > 1) {
    return `${name} succeeded only on attempt ${step.attempts} of ${step.maxAttempts}: retries are hiding failures of ${system}; check its error logs before the retries run out`;
  }
  return `No action needed for ${name} (${step.status})`;
}

const STATUS_HEAD: Record<TaskState, string> = {
  pending: 'Task pending',
  in_progress: 'Task in progress',
  complete: 'Task completed',
  error: 'Task failed',
  cancelled: 'Task cancelled',
  resolved_manually: 'Task resolved manually',
};

/** Where unfinished work stands, e.g. "2 of 5 steps done, 1 running, 2 waiting on dependencies". */
function progress(desc: TaskDescription): string {
  const byName = new Map(desc.steps.map((s) => [s.name, s]));
  const done = (s: StepDescription | undefined) =>
    s?.status === 'complete' || s?.status === 'resolved_manually';
  let ready = 0;
  let waiting = 0;
  for (const s of desc.steps) {
    if (s.status !== 'pending' || s.displayStatus === 'blocked') continue;
    if (s.dependsOn.every((d) => !byName.has(d) || done(byName.get(d)))) ready += 1;
    else waiting += 1;
  }
  const count = (st: StepDescription['status']) => desc.steps.filter((s) => s.status === st).length;
  const parts = [`${desc.steps.filter((s) => done(s)).length} of ${plural(desc.steps.length, 'step')} done`];
  const add = (n: number, text: string) => {
    if (n > 0) parts.push(`${n} ${text}`);
  };
  add(count('in_progress'), 'running');
  add(count('waiting_for_retry'), 'waiting to retry');
  add(ready, 'ready to run');
  add(waiting, 'waiting on dependencies');
  add(count('cancelled'), 'cancelled');
  return parts.join(', ');
}

/** The completed step that needed the most attempts (first in DAG order on ties), if any needed more than one. */
function mostRetried(steps: readonly StepDescription[]): StepDescription | undefined {
  let found: StepDescription | undefined;
  for (const s of steps) {
    if (s.status !== 'complete') continue;
    if (s.attempts > 1 && s.attempts > (found?.attempts ?? 0)) found = s;
  }
  return found;
}

/**
 * @param now  When given, a running step past its timeout is flagged (callers without a clock get no
 *             such check, which keeps the function pure).
 */
export function analyzeDependencies(
  desc: TaskDescription,
  template: TaskTemplate | undefined,
  now?: number,
): DependencyAnalysis {
  const stepTemplate = (name: string) => template?.steps.find((s) => s.name === name);
  const { path, ms } = criticalPath(desc.steps);
  const byName = new Map(desc.steps.map((s) => [s.name, s]));
  const failed = desc.steps.filter((s) => s.status === 'error');
  const first = failed[0];
  const blocked = [...desc.blockedSteps];

  let slowest: StepDescription | undefined;
  for (const name of path) {
    const s = byName.get(name);
    if (s && (s.executionTimeMs ?? 0) > (slowest?.executionTimeMs ?? 0)) slowest = s;
  }
  const share = slowest && ms > 0 ? (slowest.executionTimeMs ?? 0) / ms : 0;
  const notable = path.length >= 2 && share >= NOTABLE_SHARE;
  const bottleneck = first ?? slowest;

  const parts: string[] = [];
  if (desc.steps.length === 0) parts.push('it has no steps');
  else if (first) {
    parts.push(`step ${first.name} ${failurePhrase(first, stepTemplate(first.name))}`);
    if (failed.length > 1) {
      const others = failed.slice(1).map((s) => s.name);
      parts.push(`${plural(others.length, 'other step')} also failed (${others.join(', ')})`);
    }
    const active = desc.steps.filter((s) => s.status === 'in_progress' || s.status === 'waiting_for_retry');
    if (active.length > 0) parts.push(`${plural(active.length, 'step')} still running`);
  } else if (desc.task.status === 'complete' || desc.task.status === 'resolved_manually') {
    if (slowest && path.length >= 2)
      parts.push(`${slowest.name} took ${percent(slowest.executionTimeMs ?? 0, ms)} of the critical path`);
  } else parts.push(progress(desc));
  if (blocked.length > 0) {
    const terminal = desc.task.status === 'error' || desc.task.status === 'cancelled';
    parts.push(`${plural(blocked.length, 'step')} downstream ${terminal ? 'never ran' : 'cannot run'}`);
  }
  const retried = mostRetried(desc.steps);
  if (!first && retried) parts.push(`${retried.name} needed ${plural(retried.attempts, 'attempt')}`);
  const manual = desc.steps.filter((s) => s.status === 'resolved_manually').map((s) => s.name);
  if (manual.length > 0) parts.push(`resolved by hand: ${manual.join(', ')}`);
  const head = STATUS_HEAD[desc.task.status];

  return {
    analysis: parts.length > 0 ? `${head}: ${parts.join('; ')}` : head,
    blockedSteps: blocked,
    bottleneckIdentified: first !== undefined || notable,
    bottleneckStep: bottleneck?.name ?? null,
    criticalPath: path,
    criticalPathMs: ms,
    suggestedAction: chooseAction(desc, stepTemplate, { slowest, notable, ms }, now),
  };
}

/**
 * Priority: a failure, then a scheduled retry, then a running step past its timeout or on a retry, then
 * a cancelled step, then retries that hid failures, then (mildly) a dominant step; null when none applies.
 */
function chooseAction(
  desc: TaskDescription,
  stepTemplate: (name: string) => StepTemplate | undefined,
  critical: { slowest: StepDescription | undefined; notable: boolean; ms: number },
  now: number | undefined,
): string | null {
  const advise = (s: StepDescription) => suggestAction(s, stepTemplate(s.name), now);
  const firstWith = (pred: (s: StepDescription) => boolean) => desc.steps.find(pred);
  const failed = firstWith((s) => s.status === 'error') ?? firstWith((s) => s.status === 'waiting_for_retry');
  if (failed) return advise(failed);
  const overrun = firstWith((s) => {
    const t = stepTemplate(s.name)?.timeoutSeconds;
    return (
      s.status === 'in_progress' &&
      now !== undefined &&
      s.startedAt !== null &&
      t !== undefined &&
      now - s.startedAt > t * 1000
    );
  });
  if (overrun) return advise(overrun);
  const rerun = firstWith((s) => s.status === 'in_progress' && s.attempts > 1);
  if (rerun) return advise(rerun);
  const cancelled = firstWith((s) => s.status === 'cancelled');
  if (cancelled) return advise(cancelled);
  const retried = mostRetried(desc.steps);
  if (retried) return advise(retried);
  const { slowest, notable, ms } = critical;
  if (notable && slowest && desc.task.status === 'complete') {
    const took = slowest.executionTimeMs ?? 0;
    return `${slowest.name} took ${percent(took, ms)} of the critical path (${formatSeconds(took / 1000)} of ${formatSeconds(ms / 1000)}); if end-to-end time matters, start with ${dependentSystem(slowest.name, stepTemplate(slowest.name))}`;
  }
  return null;
}
