import { describe, expect, it } from 'vitest';
import type { LiveStatus } from '../src/live/stream';
import { LiveStream, backoffDelay } from '../src/live/stream';

function sseResponse(frames: string[], keepOpen = false): Response {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const f of frames) controller.enqueue(encoder.encode(f));
      if (!keepOpen) controller.close();
    },
  });
  return new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
}

function harness(responses: (() => Response | Promise<Response>)[]) {
  const statuses: LiveStatus[] = [];
  const tasks: unknown[] = [];
  const resyncs: string[] = [];
  const timers: { fn: () => void; ms: number }[] = [];
  const requests: RequestInit[] = [];
  let unauthorized = 0;
  const stream = new LiveStream({
    url: '/tasker/stream',
    headers: () => ({ Authorization: 'Bearer t0ken' }),
    fetch: async (_url, init) => {
      requests.push(init ?? {});
      const next = responses.shift();
      if (!next) throw new Error('no more responses');
      return next();
    },
    setTimer: (fn, ms) => {
      const t = { fn, ms };
      timers.push(t);
      return t;
    },
    clearTimer: (h) => {
      const i = timers.indexOf(h as { fn: () => void; ms: number });
      if (i >= 0) timers.splice(i, 1);
    },
    handlers: {
      onStatus: (s) => statuses.push(s),
      onTasks: (t) => tasks.push(...t),
      onResync: (r) => resyncs.push(r),
      onUnauthorized: () => unauthorized++,
    },
  });
  return { stream, statuses, tasks, resyncs, timers, requests, unauthorized: () => unauthorized };
}

const flush = () => new Promise((r) => setTimeout(r, 10));

describe('backoffDelay', () => {
  it('doubles from 1 s and stops at 30 s', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 10].map(backoffDelay)).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000,
    ]);
  });
});

describe('LiveStream', () => {
  it('sends the token, reports connected on hello, and delivers task batches', async () => {
    const h = harness([
      () =>
        sseResponse(
          [
            'event: hello\ndata: {"server_time":"x","heartbeat_seconds":15}\n\n',
            'event: tasks\ndata: {"tasks":[{"id":"a"},{"id":"b"}]}\n\n',
          ],
          true,
        ),
    ]);
    h.stream.start();
    await flush();
    expect((h.requests[0]?.headers as Record<string, string>).Authorization).toBe('Bearer t0ken');
    expect(h.statuses.at(-1)?.state).toBe('connected');
    expect(h.tasks).toEqual([{ id: 'a' }, { id: 'b' }]);
    expect(h.resyncs).toEqual([]);
    h.stream.stop();
  });

  it('reconnects with backoff after a drop, and asks for a resync once back', async () => {
    const h = harness([
      () => sseResponse(['event: hello\ndata: {}\n\n']), // closes right away
      () => sseResponse(['event: hello\ndata: {}\n\n'], true),
    ]);
    h.stream.start();
    await flush();
    expect(h.statuses.at(-1)?.state).toBe('connecting');
    const retry = h.timers.find((t) => t.ms === 1000);
    expect(retry).toBeDefined();
    retry?.fn();
    await flush();
    expect(h.statuses.at(-1)?.state).toBe('connected');
    expect(h.resyncs).toEqual(['reconnected']);
    h.stream.stop();
  });

  it('passes the server resync event through', async () => {
    const h = harness([
      () => sseResponse(['event: hello\ndata: {}\n\nevent: resync\ndata: {"reason":"overflow"}\n\n'], true),
    ]);
    h.stream.start();
    await flush();
    expect(h.resyncs).toEqual(['overflow']);
    h.stream.stop();
  });

  it('pauses on 503 STREAM_LIMIT and tries again after 10 s', async () => {
    const h = harness([
      () => new Response('{"error":"STREAM_LIMIT","message":"too many"}', { status: 503 }),
      () => sseResponse(['event: hello\ndata: {}\n\n'], true),
    ]);
    h.stream.start();
    await flush();
    expect(h.statuses.at(-1)?.state).toBe('paused');
    const later = h.timers.find((t) => t.ms === 10_000);
    expect(later).toBeDefined();
    later?.fn();
    await flush();
    expect(h.statuses.at(-1)?.state).toBe('connected');
    h.stream.stop();
  });

  it('stops and reports 401 instead of retrying', async () => {
    const h = harness([() => new Response('{"error":"UNAUTHORIZED"}', { status: 401 })]);
    h.stream.start();
    await flush();
    expect(h.unauthorized()).toBe(1);
    expect(h.timers).toEqual([]);
  });

  it('skips a malformed frame and keeps reading', async () => {
    const h = harness([
      () =>
        sseResponse(
          [
            'event: hello\ndata: {}\n\n',
            'event: tasks\ndata: {not json\n\n',
            'event: tasks\ndata: {"tasks":[{"id":"c"}]}\n\n',
          ],
          true,
        ),
    ]);
    h.stream.start();
    await flush();
    expect(h.tasks).toEqual([{ id: 'c' }]);
    h.stream.stop();
  });
});
