/**
 * `--url`/`--token` (or TASKER_URL/TASKER_TOKEN): the task commands talk to a running server's HTTP API
 * instead of opening the database, e.g. from a laptop against production. Output matches the local
 * commands in spirit; `--json` prints the API's JSON as is.
 */
import { TaskerError, type TaskerErrorCode } from '../errors.js';
import type { CliIo } from './context.js';
import { table } from './format.js';

export interface RemoteFlags {
  url?: string;
  token?: string;
}

export class ApiClient {
  private constructor(
    private readonly base: string,
    private readonly token: string | undefined,
  ) {}

  /** A client when a URL is given by flag or env; undefined means: work on the database directly. */
  static from(io: CliIo, flags: RemoteFlags): ApiClient | undefined {
    const url = flags.url ?? io.env.TASKER_URL;
    if (url === undefined || url === '') return undefined;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new TaskerError(
        'INVALID_ARGUMENT',
        `--url: expected the API's URL, e.g. http://127.0.0.1:3000/tasker, got ${JSON.stringify(url)}`,
      );
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      throw new TaskerError('INVALID_ARGUMENT', `--url: expected an http(s) URL, got ${JSON.stringify(url)}`);
    return new ApiClient(url.replace(/\/+$/, ''), flags.token ?? io.env.TASKER_TOKEN);
  }

  async request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Record<string, unknown>> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: {
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      const c = (err as { cause?: { code?: string; message?: string } }).cause;
      const cause = c?.code ?? c?.message ?? (err as Error).message;
      throw new TaskerError('DATABASE_UNAVAILABLE', `cannot reach the Tasker API at ${this.base} (${cause})`);
    }
    const text = await res.text();
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new TaskerError(
        'INTERNAL',
        `${this.base}${path} answered ${res.status} with non-JSON: ${text.slice(0, 120)}`,
      );
    }
    if (!res.ok) {
      const code = typeof json.error === 'string' ? (json.error as TaskerErrorCode) : 'INTERNAL';
      throw new TaskerError(
        code,
        `${typeof json.message === 'string' ? json.message : `HTTP ${res.status}`} (HTTP ${res.status} from ${this.base})`,
      );
    }
    return json;
  }
}

type Json = Record<string, unknown>;
const str = (v: unknown) =>
  v === null || v === undefined ? '-' : typeof v === 'string' ? v : JSON.stringify(v);

export function remoteTaskRows(tasks: Json[]): string {
  return table(
    ['ID', 'TEMPLATE', 'STATUS', 'CREATED', 'CORRELATION ID'],
    tasks.map((t) => [str(t.id), str(t.full_name), str(t.status), str(t.created_at), str(t.correlation_id)]),
  );
}

export function remoteTaskTree(d: Json): string {
  const perf = (d.performance_metrics ?? {}) as Json;
  const out = [
    `Task ${str(d.id)}  ${str(d.full_name)}  ${str(d.status).toUpperCase()}`,
    `  correlation id ${str(d.correlation_id)}  created ${str(d.created_at)}  took ${str(perf.total_execution_time_seconds)} s  bottleneck ${str(perf.bottleneck_step)}`,
  ];
  for (const s of (d.steps ?? []) as Json[]) {
    const err = s.error_type ? `  ${str(s.error_type)}: ${str(s.error_message)}` : '';
    out.push(
      `  ${str(s.name).padEnd(24)} ${str(s.status).padEnd(18)} ${str(s.execution_time_seconds)} s  attempts ${str(s.attempts)}/${str(s.max_attempts)}${err}`,
    );
  }
  const dep = d.dependencies as Json | undefined;
  if (dep) {
    out.push(`  analysis: ${str(dep.analysis)}`);
    if (dep.suggested_action) out.push(`  suggested action: ${str(dep.suggested_action)}`);
  }
  return out.join('\n');
}
