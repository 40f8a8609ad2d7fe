/** Which pending steps can never run because a step upstream of them failed or was cancelled. */
import { ancestors } from './dag.js';
import type { StepRecord } from './records.js';

export function blockedSteps(steps: readonly StepRecord[]): Map<string, string[]> {
  const stopped = steps.filter((s) => s.status === 'error' || s.status === 'cancelled');
  const out = new Map<string, string[]>();
  if (stopped.length === 0) return out;
  for (const step of steps) {
    if (step.status !== 'pending') continue;
    const up = ancestors(steps, step.name);
    const by = stopped.filter((f) => up.has(f.name)).map((f) => f.name);
    if (by.length > 0) out.set(step.name, by);
  }
  return out;
}
