/** Reads a Server-Sent Events stream with fetch, as the console does (headers allowed, unlike EventSource). */
export interface SseFrame {
  event: string;
  data: any;
  at: number;
}

export interface SseReader {
  status: number;
  /** Non-stream responses (errors) as JSON. */
  body: any;
  frames: SseFrame[];
  /** Resolves with the first frame (already received or arriving) that matches, or rejects at timeout. */
  next(match: (f: SseFrame) => boolean, timeoutMs?: number): Promise<SseFrame>;
  closed: Promise<void>;
  close(): void;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
  const ctrl = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: ctrl.signal });
  const frames: SseFrame[] = [];
  const waiters: Array<{ match: (f: SseFrame) => boolean; resolve: (f: SseFrame) => void }> = [];
  if (!res.headers.get('content-type')?.startsWith('text/event-stream')) {
    const body = await res.json().catch(() => null);
    return {
      status: res.status,
      body,
      frames,
      next: () => Promise.reject(new Error(`not a stream: ${res.status}`)),
      closed: Promise.resolve(),
      close: () => ctrl.abort(),
    };
  }
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const closed = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const raw = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of raw.split('\n')) {
            if (line.startsWith(':')) continue;
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length === 0) continue;
          const frame = { event, data: JSON.parse(data.join('\n')), at: Date.now() };
          frames.push(frame);
          for (const w of [...waiters]) {
            if (w.match(frame)) {
              waiters.splice(waiters.indexOf(w), 1);
              w.resolve(frame);
            }
          }
        }
      }
    } catch {
      // aborted
    }
  })();
  return {
    status: res.status,
    body: null,
    frames,
    next: (match, timeoutMs = 5000) => {
      const seen = frames.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching frame in ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          match,
          resolve: (f) => {
            clearTimeout(timer);
            resolve(f);
          },
        });
      });
    },
    closed,
    close: () => ctrl.abort(),
  };
}
