/**
 * In-process event bus. Publishing never throws and never waits for a subscriber: each delivery runs
 * in its own try/catch on a later turn of the event loop, async subscribers are not awaited, and a
 * subscriber with too many deliveries still pending has further ones dropped (counted, logged).
 * So a throwing or slow subscriber cannot fail or stall a step.
 */
import type { TaskerEvent } from './catalog.js';

export type EventHandler = (event: TaskerEvent) => unknown;

export interface SubscribeOptions {
  /** For logs and stats. */
  name?: string;
  /** Deliveries allowed to be pending (async, unfinished) before new ones are dropped. @default 1000 */
  maxPending?: number;
  /**
   * Every event, unsampled, unfiltered and as committed (not redacted): for the engine's own telemetry
   * adapters (metrics and traces must stay exact whatever the sampling). Not for application code.
   */
  exact?: boolean;
}

export interface BusOptions {
  /** Reports subscriber failures and drops. */
  onError?: BusErrorReporter;
  /** Share of tasks whose sampleable events reach ordinary subscribers. @default 1 */
  samplingRate?: number;
  /** Event names that may be sampled out; all others are always delivered. */
  sampleable?: ReadonlySet<string>;
  /** Patterns of events never delivered to ordinary subscribers. */
  filtered?: readonly string[];
  /** Called for each event withheld from ordinary subscribers by sampling or filtering. */
  onWithheld?: (eventName: string, why: 'sampled' | 'filtered') => void;
  /** What ordinary subscribers receive instead of the committed event (redaction); built once per event. */
  present?: (event: TaskerEvent) => TaskerEvent;
}

export interface SubscriberStats {
  name: string;
  patterns: string[];
  delivered: number;
  failed: number;
  dropped: number;
  pending: number;
}

export interface BusErrorReporter {
  (info: { subscriber: string; event: string; error: unknown; kind: 'failed' | 'dropped' }): void;
}

interface Subscription {
  name: string;
  removed: boolean;
  patterns: string[];
  match: (name: string) => boolean;
  handler: EventHandler;
  maxPending: number;
  exact: boolean;
  stats: SubscriberStats;
}

export function compilePattern(pattern: string): (name: string) => boolean {
  if (pattern === '*' || pattern === '**') return () => true;
  if (!pattern.includes('*')) return (n) => n === pattern;
  const re = new RegExp(`^${pattern.split('*').map(escapeRe).join('[^]*')}$`);
  return (n) => re.test(n);
}

function escapeRe(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

/** A task's place in [0, 1): the same for all its events, so a sampled task's story is whole. */
export function sampleKey(taskId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < taskId.length; i++) {
    h ^= taskId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) / 0x100000000;
}

export class EventBus {
  private readonly subs: Subscription[] = [];
  private queue: TaskerEvent[] = [];
  private flushScheduled = false;
  private seq = 0;
  private readonly wanted = new Map<string, boolean>();
  private readonly onError: BusErrorReporter;
  private readonly rate: number;
  private readonly sampleable: ReadonlySet<string>;
  private readonly isFiltered: (name: string) => boolean;

  constructor(private readonly o: BusOptions = {}) {
    this.onError = o.onError ?? (() => {});
    this.rate = o.samplingRate ?? 1;
    this.sampleable = o.sampleable ?? new Set();
    const filters = (o.filtered ?? []).map(compilePattern);
    this.isFiltered = (n) => filters.some((f) => f(n));
  }

  subscribe(patterns: string | string[], handler: EventHandler, options: SubscribeOptions = {}): () => void {
    const list = Array.isArray(patterns) ? patterns : [patterns];
    const matchers = list.map(compilePattern);
    const name = options.name ?? `subscriber-${++this.seq}`;
    const sub: Subscription = {
      name,
      patterns: list,
      match: (n) => matchers.some((m) => m(n)),
      handler,
      removed: false,
      maxPending: options.maxPending ?? 1000,
      exact: options.exact ?? false,
      stats: { name, patterns: list, delivered: 0, failed: 0, dropped: 0, pending: 0 },
    };
    this.subs.push(sub);
    this.wanted.clear();
    return () => {
      sub.removed = true;
      const i = this.subs.indexOf(sub);
      if (i >= 0) this.subs.splice(i, 1);
      this.wanted.clear();
    };
  }

  /** Whether any subscriber would receive an event of this name (cached until subscriptions change). */
  hasSubscribers(name: string): boolean {
    let w = this.wanted.get(name);
    if (w === undefined) {
      const filtered = this.isFiltered(name);
      w = this.subs.some((s) => (s.exact || !filtered) && s.match(name));
      this.wanted.set(name, w);
    }
    return w;
  }

  /**
   * Exact subscribers (telemetry) get the events now, in commit order; the others on the next turn of the
   * event loop.
   */
  publish(events: readonly TaskerEvent[]): void {
    if (events.length === 0 || this.subs.length === 0) return;
    let ordinary = false;
    for (const sub of this.subs) {
      if (!sub.exact) {
        ordinary = true;
        continue;
      }
      for (const e of events) if (!sub.removed && sub.match(e.name)) this.deliver(sub, e);
    }
    if (!ordinary) return;
    for (const e of events) this.queue.push(e);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  stats(): SubscriberStats[] {
    return this.subs.map((s) => ({ ...s.stats }));
  }

  /** Resolves once every queued event has been handed to its subscribers. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.flushScheduled) {
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    this.queue = [];
    for (const event of batch) {
      const wanted = this.subs.some((sub) => !sub.exact && !sub.removed && sub.match(event.name));
      if (!wanted) continue;
      const withheld = this.withheld(event);
      let shown: TaskerEvent | null | undefined;
      // A copy: a subscriber may unsubscribe (itself or another) while being called.
      for (const sub of this.subs.slice()) {
        if (sub.exact || withheld || sub.removed || !sub.match(event.name)) continue;
        if (shown === undefined) shown = this.present(event);
        if (shown) this.deliver(sub, shown);
      }
    }
  }

  /** Whether ordinary subscribers may see this event (sampling and filtering); counts the withheld. */
  private withheld(event: TaskerEvent): boolean {
    if (this.isFiltered(event.name)) {
      this.o.onWithheld?.(event.name, 'filtered');
      return true;
    }
    if (this.rate >= 1 || !this.sampleable.has(event.name)) return false;
    const taskId = event.payload.task_id;
    if (taskId === undefined || sampleKey(taskId) < this.rate) return false;
    this.o.onWithheld?.(event.name, 'sampled');
    return true;
  }

  /** The event as ordinary subscribers see it; null (nobody gets it) when it cannot be redacted. */
  private present(event: TaskerEvent): TaskerEvent | null {
    if (!this.o.present) return event;
    try {
      return this.o.present(event);
    } catch (error) {
      this.report('redaction', event, error, 'failed');
      return null;
    }
  }

  private deliver(sub: Subscription, event: TaskerEvent): void {
    if (sub.stats.pending >= sub.maxPending) {
      sub.stats.dropped += 1;
      this.report(sub.name, event, new Error(`${sub.stats.pending} deliveries pending`), 'dropped');
      return;
    }
    let result: unknown;
    try {
      result = sub.handler(event);
    } catch (error) {
      sub.stats.failed += 1;
      this.report(sub.name, event, error, 'failed');
      return;
    }
    if (result instanceof Promise) {
      sub.stats.pending += 1;
      result.then(
        () => {
          sub.stats.pending -= 1;
          sub.stats.delivered += 1;
        },
        (error: unknown) => {
          sub.stats.pending -= 1;
          sub.stats.failed += 1;
          this.report(sub.name, event, error, 'failed');
        },
      );
    } else {
      sub.stats.delivered += 1;
    }
  }

  private report(subscriber: string, event: TaskerEvent, error: unknown, kind: 'failed' | 'dropped'): void {
    try {
      this.onError({ subscriber, event: event.name, error, kind });
    } catch {
      // The reporter itself failing must not take the bus down.
    }
  }
}
