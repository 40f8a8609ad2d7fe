/**
 * Tasker-style subscribers: declare the events (wildcards allowed) and implement a method per event,
 * named after it: `task.completed` → `handleTaskCompleted`, `step.retry_scheduled` →
 * `handleStepRetryScheduled`. Events without such a method go to `handle(event)`.
 */
import type { TaskerEvent } from './catalog.js';

export function handlerMethodName(eventName: string): string {
  return (
    'handle' +
    eventName
      .split(/[._-]/)
      .filter(Boolean)
      .map((w) => w[0]?.toUpperCase() + w.slice(1))
      .join('')
  );
}

export abstract class BaseSubscriber {
  abstract readonly subscribesTo: readonly string[];

  /** Fallback for events without a specific method. */
  handle(_event: TaskerEvent): unknown {
    return undefined;
  }

  dispatch(event: TaskerEvent): unknown {
    const method = (this as unknown as Record<string, unknown>)[handlerMethodName(event.name)];
    if (typeof method === 'function') return (method as (e: TaskerEvent) => unknown).call(this, event);
    return this.handle(event);
  }
}
