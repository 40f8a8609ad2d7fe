/** Keyset-pagination cursor for task listings (newest first): opaque base64url of `createdAt:id`. */
import { TaskerError } from '../errors.js';

export function encodeCursor(createdAt: number, id: string): string {
  return Buffer.from(`${createdAt}:${id}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): { createdAt: number; id: string } {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const sep = text.indexOf(':');
  const createdAt = Number(text.slice(0, sep));
  if (sep <= 0 || !Number.isFinite(createdAt)) {
    throw new TaskerError('INVALID_ARGUMENT', `cursor "${cursor}" is not one this server issued`, { cursor });
  }
  return { createdAt, id: text.slice(sep + 1) };
}
