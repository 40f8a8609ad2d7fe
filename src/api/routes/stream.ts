/**
 * GET /stream: live task changes as Server-Sent Events, read by the console with fetch (so the bearer
 * token travels in a header, never in a URL). One hub per mounted API: it listens to the engine's change
 * feed while at least one stream is open, reads the changed tasks once per batch (not once per client),
 * and writes each client only the tasks of namespaces it may see.
 *
 * Bounded by construction. At most `maxStreams` are open (503 STREAM_LIMIT beyond). A client whose socket
 * buffer is full is not written to: its changes are dropped and it gets one `resync` when it drains, and
 * one that stays full past STALL_MS is disconnected. Reads are coalesced (one in flight, the next batch
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
import { presentTaskSummary } from '../present.js';

const HEARTBEAT_MS = 15_000;
/** A client that cannot take a frame for this long is gone or stalled: drop it, it reconnects. */
const STALL_MS = 30_000;
/** Bytes buffered for one client beyond which it gets nothing more until it drains. */
const HIGH_WATER = 256 * 1024;
/** Resyncs (for changes that cannot be named) go out at most this often. */
const RESYNC_EVERY_MS = 1000;

interface Client {
  principal: Principal;
  res: ServerResponse;
  /** Set while the socket is full: changes dropped since, owed a resync. */
  congestedSince: number | null;
}

export interface StreamHubOptions {
  maxStreams: number;
  heartbeatMs?: number;
}

export class StreamHub {
  private readonly clients = new Set<Client>();
  private unsubscribe: (() => void) | undefined;
  private pending = new Set<string>();
  private loading = false;
  private resyncTimer: NodeJS.Timeout | undefined;
  private lastResync = 0;
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    private readonly tasker: Tasker,
    private readonly opts: StreamHubOptions,
  ) {
    this.heartbeat = setInterval(() => this.ping(), opts.heartbeatMs ?? HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  get size(): number {
    return this.clients.size;
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
    const client: Client = { principal: req.principal, res, congestedSince: null };
    this.clients.add(client);
    res.on('drain', () => {
      if (client.congestedSince === null) return;
      client.congestedSince = null;
      this.write(client, 'resync', { reason: 'overflow' });
    });
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

  private resync(reason: string): void {
    const wait = this.lastResync + RESYNC_EVERY_MS - Date.now();
    if (wait > 0) {
      this.resyncTimer ??= setTimeout(() => {
        this.resyncTimer = undefined;
        this.resync(reason);
      }, wait);
      return;
    }
    this.lastResync = Date.now();
    for (const c of this.clients) this.write(c, 'resync', { reason });
  }

  private ping(): void {
    const now = Date.now();
    for (const c of this.clients) {
      if (c.congestedSince !== null && now - c.congestedSince > STALL_MS) {
        c.res.destroy();
        continue;
      }
      if (c.congestedSince === null) c.res.write(': ping\n\n');
    }
  }

  /** Never blocks: a full socket marks the client congested and the frame is dropped. */
  private write(c: Client, event: string, data: unknown): void {
    if (c.congestedSince !== null || c.res.writableEnded) return;
    if (c.res.writableLength > HIGH_WATER) {
      c.congestedSince = Date.now();
      return;
    }
    const ok = c.res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    if (!ok) c.congestedSince = Date.now();
  }

  /** End every stream (the server is closing). */
  close(): void {
    clearInterval(this.heartbeat);
    clearTimeout(this.resyncTimer);
    for (const c of [...this.clients]) c.res.end();
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
  console: settings,
  correlationHeader,
}: ApiContext): FastifyPluginAsync {
  return async (app) => {
    const hub = new StreamHub(tasker, { maxStreams: settings.maxStreams });
    // Before the server stops accepting: open streams would otherwise keep close() waiting for ever.
    app.addHook('preClose', async () => hub.close());
    app.get(
      '/stream',
      {
        config: { scope: 'tasks:read' },
        schema: {
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
