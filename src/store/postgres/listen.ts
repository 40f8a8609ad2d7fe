/**
 * LISTEN/NOTIFY for the PostgreSQL adapter: wake-ups on one channel per schema, and the change feed (which
 * tasks another process changed) on a second one, so workers do not wake for it.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { isUuid } from '../cursor.js';
import type { ChangeNotice } from '../port.js';

/** Task ids in one NOTIFY payload: 37 bytes each, well under the 8000-byte limit. */
const NOTIFY_IDS = 200;

/**
 * A channel name for a schema. PostgreSQL truncates identifiers to 63 bytes (and pg_notify refuses longer
 * names), so a long schema name is replaced by a digest of it.
 */
export function channelName(prefix: string, schema: string): string {
  const name = `${prefix}${schema}`;
  return Buffer.byteLength(name) <= 63
    ? name
    : `${prefix}${createHash('sha256').update(schema).digest('hex').slice(0, 32)}`;
}

/**
 * A change notice as `<origin>|id,id,…` payloads under NOTIFY's 8000-byte limit; `<origin>|*` when the
 * feed could not name the tasks (or there are too many to be worth naming).
 */
export function changePayloads(notice: ChangeNotice, origin: string): string[] {
  const ids = notice.resync !== undefined ? null : notice.taskIds;
  if (ids?.length === 0) return [];
  if (ids === null || ids.length > NOTIFY_IDS * 20) return [`${origin}|*`];
  const payloads: string[] = [];
  for (let i = 0; i < ids.length; i += NOTIFY_IDS)
    payloads.push(`${origin}|${ids.slice(i, i + NOTIFY_IDS).join(',')}`);
  return payloads;
}

export function parseChangePayload(payload: string): { notice: ChangeNotice; origin: string | null } {
  const bar = payload.indexOf('|');
  const body = payload.slice(bar + 1);
  return {
    origin: bar < 0 ? null : payload.slice(0, bar),
    notice: body === '*' || body === '' ? { resync: 'remote' } : { taskIds: body.split(',').filter(isUuid) },
  };
}

/**
 * LISTEN on a dedicated connection that reconnects with backoff when the server drops it, calling
 * `onConnect` after every (re)connect. Returns a function that stops listening.
 */
export async function listenOn(
  config: pg.ClientConfig,
  channel: string,
  onMessage: (payload: string) => void,
  onError: (err: unknown) => void,
  onConnect: () => void,
): Promise<() => Promise<void>> {
  let stopped = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  let failures = 0;
  const connect = async (): Promise<void> => {
    const c = new pg.Client(config);
    c.on('notification', (n) => onMessage(n.payload ?? ''));
    c.on('error', (err) => {
      onError(err);
      void reconnect();
    });
    await c.connect();
    await c.query(`LISTEN "${channel}"`);
    client = c;
    failures = 0;
    onConnect();
  };
  const reconnect = async (): Promise<void> => {
    const old = client;
    client = undefined;
    await old?.end().catch(() => {});
    if (stopped || retry) return;
    const delay = Math.min(10_000, 100 * 2 ** Math.min(failures++, 7));
    retry = setTimeout(() => {
      retry = undefined;
      if (!stopped)
        connect().catch((err: unknown) => {
          onError(err);
          void reconnect();
        });
    }, delay);
  };
  await connect();
  return async () => {
    stopped = true;
    clearTimeout(retry);
    await client?.end().catch(() => {});
  };
}
