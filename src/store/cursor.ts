/**
 * Keyset pagination for task listings, newest first. Task ids are UUIDv7, so id order is creation order
 * and the cursor is simply the last id seen (opaque to callers: base64url).
 */
import { TaskerError } from '../errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(v: string): boolean {
  return UUID.test(v);
}

export function encodeCursor(lastId: string): string {
  return Buffer.from(lastId, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!isUuid(id)) {
    throw new TaskerError('INVALID_ARGUMENT', `cursor "${cursor}" is not one this server issued`, { cursor });
  }
  return id;
}

/**
 * The smallest UUID a UUIDv7 of this millisecond can be: ids made at or after `ms` compare >= it, both as
 * strings (SQLite) and as uuid values (PostgreSQL).
 */
export function uuidv7Floor(ms: number): string {
  const hex = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-0000-0000-000000000000`;
}
