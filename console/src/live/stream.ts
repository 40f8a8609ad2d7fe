/**
 * The app's one connection to `GET {api}/stream` (CONTRACT.md "Live updates"): read with fetch so it can
 * carry the bearer token, parsed with SseParser, reconnected with exponential backoff. No React here; the
 * provider in live-provider.tsx turns its callbacks into query-cache updates.
 */
import type { StreamTask } from '../api/types';
import { SseParser } from './sse-parser';

export type LiveState = 'connecting' | 'connected' | 'paused';

export interface LiveStatus {
  state: LiveState;
  /** Failed connection attempts since the last good one (0 on the first connect). */
  retries: number;
  /** Why the stream is not connected, for the indicator's tooltip. */
  detail: string | null;
}

export interface LiveHandlers {
  onStatus(status: LiveStatus): void;
  onTasks(tasks: StreamTask[]): void;
  /** Changes may have been missed (server said so, or the connection dropped): refetch what is shown. */
  onResync(reason: string): void;
  onUnauthorized(): void;
}

export interface LiveStreamOptions {
  url: string;
  headers: () => Record<string, string>;
  handlers: LiveHandlers;
  fetch?: typeof fetch;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  /** Pause after the server's stream cap (503 STREAM_LIMIT) before trying again. */
  limitRetryMs?: number;
}

const MIN_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;

/** 1 s, 2 s, 4 s … capped at 30 s. */
export function backoffDelay(retries: number): number {
  return Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** Math.max(0, retries));
}

export class LiveStream {
  private readonly fetchFn: typeof fetch;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;
  private controller: AbortController | null = null;
  private retryTimer: unknown = null;
  private watchdog: unknown = null;
  private retries = 0;
  private everConnected = false;
  private stopped = true;
  private heartbeatMs = 15_000;
  private generation = 0;

  constructor(private readonly options: LiveStreamOptions) {
    this.fetchFn = options.fetch ?? ((input, init) => fetch(input, init));
    this.setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = options.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.generation++;
    this.controller?.abort();
    this.controller = null;
    if (this.retryTimer !== null) this.clearTimer(this.retryTimer);
    if (this.watchdog !== null) this.clearTimer(this.watchdog);
    this.retryTimer = null;
    this.watchdog = null;
  }

  /** Reconnect now (e.g. after a new token), forgetting the backoff. */
  restart(): void {
    this.stop();
    this.retries = 0;
    this.start();
  }

  private status(state: LiveState, detail: string | null): void {
    this.options.handlers.onStatus({ state, retries: this.retries, detail });
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.retryTimer !== null) this.clearTimer(this.retryTimer);
    this.retryTimer = this.setTimer(() => {
      this.retryTimer = null;
      void this.connect();
    }, ms);
  }

  private armWatchdog(generation: number): void {
    if (this.watchdog !== null) this.clearTimer(this.watchdog);
    // The server pings every heartbeat; two missed ones mean a dead connection a proxy kept open.
    this.watchdog = this.setTimer(
      () => {
        if (generation !== this.generation) return;
        this.controller?.abort();
      },
      this.heartbeatMs * 2 + 5000,
    );
  }

  private dropped(generation: number, detail: string): void {
    if (generation !== this.generation || this.stopped) return;
    const delay = backoffDelay(this.retries);
    this.retries++;
    this.status('connecting', `${detail}; retrying in ${Math.round(delay / 1000)} s`);
    this.schedule(delay);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const generation = ++this.generation;
    const controller = new AbortController();
    this.controller = controller;
    this.status('connecting', this.retries ? 'reconnecting' : null);

    let response: Response;
    try {
      response = await this.fetchFn(this.options.url, {
        headers: { Accept: 'text/event-stream', ...this.options.headers() },
        signal: controller.signal,
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch (err) {
      this.dropped(generation, err instanceof Error ? err.message : 'network error');
      return;
    }
    if (generation !== this.generation) return;

    if (response.status === 401) {
      this.status('paused', 'not signed in');
      this.stopped = true;
      this.options.handlers.onUnauthorized();
      return;
    }
    if (response.status === 503 || response.status === 404 || response.status === 403) {
      const body = await response.text().catch(() => '');
      const limit = this.options.limitRetryMs ?? 10_000;
      const why =
        response.status === 503
          ? /STREAM_LIMIT/.test(body)
            ? 'the server has reached its limit of open streams'
            : 'the server is unavailable'
          : response.status === 403
            ? 'this token may not read the stream'
            : 'this server has no stream';
      this.status('paused', why);
      this.schedule(response.status === 503 ? limit : MAX_BACKOFF_MS);
      return;
    }
    if (!response.ok || !response.body) {
      this.dropped(generation, `HTTP ${response.status}`);
      return;
    }

    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    const parser = new SseParser();
    this.armWatchdog(generation);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done || generation !== this.generation) break;
        this.armWatchdog(generation);
        const { events } = parser.push(value);
        for (const event of events) this.handle(event.event, event.data);
      }
    } catch {
      // aborted by stop(), the watchdog, or a network error: all handled below
    }
    if (this.watchdog !== null) this.clearTimer(this.watchdog);
    this.watchdog = null;
    this.dropped(generation, 'connection closed');
  }

  private handle(event: string, data: string): void {
    let payload: unknown;
    try {
      payload = JSON.parse(data);
    } catch {
      return; // a malformed frame is skipped; the next resync or refetch repairs anything it carried
    }
    const body = (payload ?? {}) as Record<string, unknown>;
    if (event === 'hello') {
      const beat = Number(body.heartbeat_seconds);
      if (Number.isFinite(beat) && beat > 0) this.heartbeatMs = beat * 1000;
      const reconnected = this.everConnected;
      this.everConnected = true;
      this.retries = 0;
      this.status('connected', null);
      // Events sent while we were away are gone: whatever is on screen may be stale.
      if (reconnected) this.options.handlers.onResync('reconnected');
    } else if (event === 'tasks') {
      if (Array.isArray(body.tasks)) this.options.handlers.onTasks(body.tasks as StreamTask[]);
    } else if (event === 'resync') {
      this.options.handlers.onResync(typeof body.reason === 'string' ? body.reason : 'resync');
    }
  }
}
