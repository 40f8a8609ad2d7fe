/**
 * GET /stream: live task changes as Server-Sent Events, read by the console with fetch (so the bearer
 * token travels in a header, never in a URL). One hub per mounted API: it listens to the engine's change
 * feed while at least one stream is open, reads the changed tasks once per batch (not once per client),
 * and writes each client only the tasks of namespaces it may see.
 *
 * Bounded by construction. At most `maxStreams` are open (503 STREAM_LIMIT beyond). A client with more than
 * HIGH_WATER bytes unsent is not written to: its changes are dropped and it gets one `resync` once it has
 * drained; one whose buffer does not empty once in STALL_MS is disconnected. Reads are coalesced (one in flight, the next batch
 * gathers meanwhile), so however many clients and changes there are, the engine sees one query at a time.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { TaskSnapshot } from '../../core/records.js';
import { SATISFIED_STEP_STATES } from '../../core/states.js';
import { TaskerError } from '../../errors.js';
import type { ChangeBatch } from '../../events/change-feed.js';
import type { Tasker } from '../../tasker.js';
import { seesNamespace, type Principal } from '../auth.js';
import type { ApiContext } from '../plugin.js';
import { NO_QUERY } from '../params.js';
import { presentTaskSummary } from '../present.js';

const HEARTBEAT_MS = 15_000;
/** A client that cannot take a frame for this long is gone or stalled: drop it, it reconnects. */
const STALL_MS = 30_000;
/** Bytes buffered for one client beyond which it gets nothing more until it has drained. */
const HIGH_WATER = 256 * 1024;
/** Resyncs (for changes that cannot be named, or that a client missed) go out at most this often. */
const RESYNC_EVERY_MS = 1000;
/** Changed tasks waiting to be read beyond which clients are told to resync instead. */
const MAX_PENDING = 1000;
/** After the server asks a stream to end, how long it may take before its socket is destroyed. */
const CLOSE_GRACE_MS = 1000;

interface Client {
  principal: Principal;
  res: ServerResponse;
  /** Set while the client's buffer is over HIGH_WATER: frames are dropped meanwhile. */
  congestedSince: number | null;
  /** Since when its buffer has not once been empty: a reader that takes nothing is stalled. */
  backlogSince: number | null;
  /** Why it owes a resync (frames dropped, or changes that cannot be named); null: none owed. */
  owedResync: string | null;
  lastResyncAt: number;
}

export interface StreamHubOptions {
  maxStreams: number;
  /** @internal tests: keep-alive and stall timing */
  heartbeatMs?: number | undefined;
  stallMs?: number | undefined;
}

export class StreamHub {
  private readonly clients = new Set<Client>();
  private unsubscribe: (() => void) | undefined;
  private pending = new Set<string>();
  private loading = false;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly housekeeping: NodeJS.Timeout;
  private readonly stallMs: number;

  constructor(
    private readonly tasker: Tasker,
    private readonly opts: StreamHubOptions,
  ) {
    this.stallMs = opts.stallMs ?? STALL_MS;
    this.heartbeat = setInterval(() => this.ping(), opts.heartbeatMs ?? HEARTBEAT_MS);
    this.heartbeat.unref();
    this.housekeeping = setInterval(() => this.tend(), Math.min(RESYNC_EVERY_MS, this.stallMs));
    this.housekeeping.unref();
  }

  open(req: FastifyRequest, reply: FastifyReply, correlationHeader: string): void {
    if (this.clients.size >= this.opts.maxStreams) {
      throw new TaskerError(
        'STREAM_LIMIT',
        `${this.opts.maxStreams} live-update streams are open already (console.max_streams); try again later`,
        { max_streams: this.opts.maxStreams },
      );
    }
    void reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
      [correlationHeader]: req.correlationId,
    });
    const client: Client = {
      principal: req.principal,
      res,
      congestedSince: null,
      backlogSince: null,
      owedResync: null,
      lastResyncAt: 0,
    };
    this.clients.add(client);
    res.on('close', () => this.remove(client));
    // The HTTP server keeps half-open sockets: a browser that went away (FIN) would hold the connection
    // until the next write failed, and keep the server from closing.
    res.socket?.once('end', () => res.destroy());
    this.write(client, 'hello', {
      server_time: new Date().toISOString(),
      heartbeat_seconds: (this.opts.heartbeatMs ?? HEARTBEAT_MS) / 1000,
    });
    this.unsubscribe ??= this.tasker.onTaskChanges((b) => this.onChanges(b));
  }

  private remove(client: Client): void {
    this.clients.delete(client);
    if (this.clients.size === 0 && this.unsubscribe) {
      this.unsubscribe();
      this.unsubscribe = undefined;
      this.pending.clear();
    }
  }

  private onChanges(batch: ChangeBatch): void {
    if (batch.resync !== undefined) return this.resync(batch.resync);
    for (const id of batch.taskIds) this.pending.add(id);
    // Reading that many rows would cost more than every client refetching what it shows.
    if (this.pending.size > MAX_PENDING) {
      this.pending.clear();
      return this.resync('overflow');
    }
    void this.load();
  }

  /** One read at a time; ids arriving meanwhile wait for the next one. */
  private async load(): Promise<void> {
    if (this.loading || this.pending.size === 0) return;
    this.loading = true;
    const ids = [...this.pending];
    this.pending = new Set();
    try {
      const snaps = await this.tasker.taskSnapshots(ids);
      const rows = snaps.map((s) => ({ namespace: s.task.namespace, row: streamRow(s) }));
      for (const c of this.clients) {
        const visible = rows.filter((r) => seesNamespace(c.principal, r.namespace)).map((r) => r.row);
        if (visible.length > 0) this.write(c, 'tasks', { tasks: visible });
      }
    } catch {
      // The store is unavailable: clients cannot be told what changed, only that something did.
      this.resync('remote');
    } finally {
      this.loading = false;
    }
    if (this.pending.size > 0) void this.load();
  }

  /** Changes that cannot be named: every client refetches, at most once per RESYNC_EVERY_MS. */
  private resync(reason: string): void {
    const now = Date.now();
    for (const c of this.clients) {
      c.owedResync ??= reason;
      if (now - c.lastResyncAt >= RESYNC_EVERY_MS) this.sendResync(c, now);
    }
  }

  private sendResync(c: Client, now: number): void {
    if (c.owedResync === null || c.congestedSince !== null) return;
    const reason = c.owedResync;
    c.owedResync = null;
    c.lastResyncAt = now;
    this.write(c, 'resync', { reason });
  }

  /**
   * Once a second: a client whose buffer has not been empty once in stallMs is dropped (it takes nothing:
   * a sleeping laptop, a dead connection; a browser reconnects and refetches); a congested one that has
   * drained gets its resync for the frames it missed; owed resyncs go out.
   */
  private tend(): void {
    const now = Date.now();
    for (const c of this.clients) {
      const buffered = c.res.writableLength;
      if (buffered === 0) c.backlogSince = null;
      else c.backlogSince ??= now;
      if (c.backlogSince !== null && now - c.backlogSince > this.stallMs) {
        c.res.destroy();
        continue;
      }
      if (c.congestedSince !== null && buffered <= HIGH_WATER / 4) c.congestedSince = null;
      if (now - c.lastResyncAt >= RESYNC_EVERY_MS) this.sendResync(c, now);
    }
  }

  private ping(): void {
    for (const c of this.clients) if (c.congestedSince === null) this.write(c, null, null);
  }

  /**
   * Never blocks and never buffers without bound: over HIGH_WATER the client is marked congested and
   * frames are dropped (it is owed a resync). The return value of write() is not used: it is false for
   * any frame larger than the socket's 16 KB high-water mark, even to a fast reader.
   */
  private write(c: Client, event: string | null, data: unknown): void {
    if (c.res.writableEnded || c.res.destroyed) return;
    if (c.congestedSince !== null || c.res.writableLength > HIGH_WATER) {
      c.congestedSince ??= Date.now();
      if (event !== null) c.owedResync ??= 'overflow';
      return;
    }
    c.res.write(event === null ? ': ping\n\n' : `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** End every stream (the server is closing); one that cannot take its end in time is destroyed. */
  close(): void {
    clearInterval(this.heartbeat);
    clearInterval(this.housekeeping);
    for (const c of [...this.clients]) {
      if (c.congestedSince !== null) c.res.destroy();
      else {
        c.res.end();
        setTimeout(() => c.res.destroy(), CLOSE_GRACE_MS).unref();
      }
    }
    this.clients.clear();
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }
}

/** A task as the list shows it, with its step progress. */
function streamRow(s: TaskSnapshot): Record<string, unknown> {
  return {
    ...presentTaskSummary(s.task),
    steps_total: s.steps.length,
    steps_done: s.steps.filter((st) => SATISFIED_STEP_STATES.has(st.status)).length,
    steps_failed: s.steps.filter((st) => st.status === 'error').length,
    running_steps: s.steps.filter((st) => st.status === 'in_progress').map((st) => st.name),
  };
}

export function streamRoutes({
  tasker,
  options,
  console: settings,
  correlationHeader,
}: ApiContext): FastifyPluginAsync {
  return async (app) => {
    const hub = new StreamHub(tasker, { maxStreams: settings.maxStreams, ...options.streamTiming });
    // Before the server stops accepting: open streams would otherwise keep close() waiting for ever.
    app.addHook('preClose', async () => hub.close());
    app.get(
      '/stream',
      {
        config: { scope: 'tasks:read' },
        schema: {
          querystring: NO_QUERY,
          summary: 'Live task changes (Server-Sent Events: hello, tasks, resync); read it with fetch',
        },
      },
      async (req, reply) => {
        hub.open(req, reply, correlationHeader);
        return reply;
      },
    );
  };
}
