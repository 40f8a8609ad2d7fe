/**
 * Pushes a prom-client registry to a Pushgateway on an interval (the `telemetry.prometheus` section), for
 * processes Prometheus cannot scrape. Telemetry must never take the engine down: a push that fails is
 * logged and counted, never thrown, and the timer never keeps the process alive.
 */
import type { Registry, RegistryContentType } from 'prom-client';
import type { Logger } from 'pino';

export interface PushOptions {
  /** Base URL of a Pushgateway-compatible server, e.g. http://127.0.0.1:9091. */
  endpoint: string;
  /** Grouping-key job name. */
  job: string;
  /** When set, the grouping key gets /instance/<instance> (include_instance_labels). */
  instance?: string | undefined;
  intervalMs: number;
  /** Per HTTP request. */
  exportTimeoutMs: number;
  /** One whole push, retries included; past it the push gives up until the next interval. */
  jobTimeoutMs: number;
  /** Retries after the first failure (0 = one try); backoff 100 ms · 2^n. */
  retryAttempts: number;
  /** Longest the final push at stop() may take (shutdown must not wait minutes). @default 5000 */
  finalPushTimeoutMs?: number | undefined;
}

/**
 * An endpoint's credentials (`http://user:pass@host`) as a Basic Authorization header, and the URL
 * without them: fetch() refuses URLs with credentials, and a URL with a password must never be logged.
 */
export function splitCredentials(endpoint: string): { url: string; authorization: string | undefined } {
  const u = new URL(endpoint);
  if (u.username === '' && u.password === '') return { url: endpoint, authorization: undefined };
  const basic = Buffer.from(
    `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`,
    'utf8',
  ).toString('base64');
  u.username = '';
  u.password = '';
  return { url: u.toString(), authorization: `Basic ${basic}` };
}

export interface MetricsPusher {
  /** Resolves false when every try failed; never rejects. */
  pushNow(): Promise<boolean>;
  /** Stops the timer, waits for an in-flight push, then pushes once more so the last values land. */
  stop(): Promise<void>;
  readonly failures: number;
  readonly pushes: number;
}

/**
 * The Pushgateway decodes the path before routing, so a '/' in a value (even as %2F) would split the
 * grouping key; its `@base64` form carries any value, and an empty one as '='.
 */
function groupingSegment(label: string, value: string): string {
  if (value === '') return `/${label}@base64/=`;
  if (value.includes('/')) return `/${label}@base64/${Buffer.from(value, 'utf8').toString('base64url')}`;
  return `/${label}/${encodeURIComponent(value)}`;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function startMetricsPush(
  registry: Registry<RegistryContentType>,
  o: PushOptions,
  logger: Logger,
  onFailure?: () => void,
): MetricsPusher {
  const { url: endpoint, authorization } = splitCredentials(o.endpoint);
  const url =
    endpoint.replace(/\/+$/, '') +
    '/metrics' +
    groupingSegment('job', o.job) +
    (o.instance ? groupingSegment('instance', o.instance) : '');
  let failures = 0;
  let pushes = 0;
  let pending = 0;
  let tail: Promise<boolean> = Promise.resolve(true);
  let stopping: Promise<void> | undefined;

  async function tryOnce(timeoutMs: number): Promise<void> {
    const signal = AbortSignal.timeout(timeoutMs);
    // Collected per try, so a retry carries the newest values.
    const body = await registry.metrics();
    const res = await fetch(url, {
      method: 'PUT',
      headers: authorization
        ? { 'Content-Type': registry.contentType, Authorization: authorization }
        : { 'Content-Type': registry.contentType },
      body,
      signal,
    });
    // Read to the end so the keep-alive socket is released; the text explains a rejection.
    const text = await res.text();
    if (!res.ok) throw new Error(`Pushgateway answered ${res.status}: ${text.trim().slice(0, 200)}`);
  }

  async function pushOnce(limitMs = o.jobTimeoutMs): Promise<boolean> {
    const deadline = Date.now() + limitMs;
    let attempts = 0;
    let err: unknown;
    for (;;) {
      attempts++;
      try {
        await tryOnce(Math.max(1, Math.min(o.exportTimeoutMs, deadline - Date.now())));
        pushes++;
        return true;
      } catch (e) {
        err = e;
      }
      if (attempts > o.retryAttempts) break;
      const backoff = 100 * 2 ** (attempts - 1);
      // A try that would start at or past the deadline could not finish within it.
      if (Date.now() + backoff >= deadline) break;
      await sleep(backoff);
    }
    failures++;
    logger.warn({ err, endpoint, attempts }, 'metrics push failed');
    onFailure?.();
    return false;
  }

  // Queued behind the previous push, so pushes never overlap; the catch keeps a throwing logger or
  // onFailure from turning into an unhandled rejection on the timer's path.
  function enqueue(limitMs?: number): Promise<boolean> {
    pending++;
    const p = tail
      .then(() => pushOnce(limitMs))
      .catch(() => false)
      .finally(() => {
        pending--;
      });
    tail = p;
    return p;
  }

  const timer = setInterval(() => {
    // A push still running means the gateway is slow; queueing more would only pile up.
    if (pending === 0) void enqueue();
  }, o.intervalMs);
  timer.unref();

  return {
    pushNow: () => enqueue(),
    stop() {
      stopping ??= (async () => {
        clearInterval(timer);
        await enqueue(Math.min(o.jobTimeoutMs, o.finalPushTimeoutMs ?? 5_000));
      })();
      return stopping;
    },
    get failures() {
      return failures;
    },
    get pushes() {
      return pushes;
    },
  };
}
