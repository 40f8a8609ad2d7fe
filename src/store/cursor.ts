/**
 * Keyset pagination for task listings, newest first. Task ids are UUIDv7, so id order is creation order
 * and the cursor is simply the last id seen (opaque to callers: base64url).
 */
import { TaskerError } from '../errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function encodeCursor(lastId: string): string {
  return Buffer.from(lastId, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!UUID.test(id)) {
    throw new TaskerError('INVALID_ARGUMENT', `cursor "${cursor}" is not one this server issued`, { cursor });
  }
  return id;
}

/** The smallest UUIDv7 string of a millisecond: ids made at or after `ms` compare >= it. */
export function uuidv7Floor(ms: number): string {
  const hex = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-`;
}
