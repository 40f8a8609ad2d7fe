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

export class EventBus {
  private readonly subs: Subscription[] = [];
  private queue: TaskerEvent[] = [];
  private flushScheduled = false;
  private seq = 0;
  private readonly wanted = new Map<string, boolean>();

  constructor(private readonly onError: BusErrorReporter = () => {}) {}

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
      w = this.subs.some((s) => s.match(name));
      this.wanted.set(name, w);
    }
    return w;
  }

  /** Queue events for delivery on the next turn of the event loop. */
  publish(events: readonly TaskerEvent[]): void {
    if (events.length === 0 || this.subs.length === 0) return;
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
      // A copy: a subscriber may unsubscribe (itself or another) while being called.
      for (const sub of this.subs.slice()) {
        if (!sub.removed && sub.match(event.name)) this.deliver(sub, event);
      }
    }
  }

  private deliver(sub: Subscription, event: TaskerEvent): void {
    if (sub.stats.pending >= sub.maxPending) {
      sub.stats.dropped += 1;
      this.report(sub, event, new Error(`${sub.stats.pending} deliveries pending`), 'dropped');
      return;
    }
    let result: unknown;
    try {
      result = sub.handler(event);
    } catch (error) {
      sub.stats.failed += 1;
      this.report(sub, event, error, 'failed');
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
          this.report(sub, event, error, 'failed');
        },
      );
    } else {
      sub.stats.delivered += 1;
    }
  }

  private report(sub: Subscription, event: TaskerEvent, error: unknown, kind: 'failed' | 'dropped'): void {
    try {
      this.onError({ subscriber: sub.name, event: event.name, error, kind });
    } catch {
      // The reporter itself failing must not take the bus down.
    }
  }
}
