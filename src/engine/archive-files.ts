/**
 * Archive files: gzip-compressed JSON Lines, one file per prune batch, written whole and made durable
 * (fsync of the file, then of the folder after the rename) before the batch's delete commits. A crash
 * before the rename leaves only a `.tmp` file, which import ignores; either way the tasks are still in
 * the store, never in neither place.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { createGunzip, gzip } from 'node:zlib';
import { TaskerError } from '../errors.js';

const gzipAsync = promisify(gzip);

export const ARCHIVE_SUFFIX = '.jsonl.gz';

function failed(what: string, path: string, err: unknown): TaskerError {
  const why = err instanceof Error ? err.message : String(err);
  return new TaskerError('ARCHIVE_FAILED', `${what} ${path}: ${why}`, { path });
}

/** Write `lines` as one archive file in `dir` (created if missing); resolves with its path once durable. */
export async function writeArchiveFile(dir: string, lines: readonly string[], at: number): Promise<string> {
  const stamp = new Date(at).toISOString().replace(/[:.]/g, '-');
  const path = join(dir, `tasker-archive-${stamp}-${randomBytes(4).toString('hex')}${ARCHIVE_SUFFIX}`);
  const tmp = `${path}.tmp`;
  try {
    await mkdir(dir, { recursive: true });
    // Compressed off the event loop (zlib's thread pool): a batch is about a megabyte of JSON.
    const body = await gzipAsync(`${lines.join('\n')}\n`);
    const file = await open(tmp, 'wx');
    try {
      await file.writeFile(body);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, path);
    const folder = await open(dir, 'r');
    try {
      await folder.sync();
    } finally {
      await folder.close();
    }
  } catch (err) {
    throw failed('cannot write archive file', path, err);
  }
  return path;
}

/** The lines of an archive file, with their numbers (1-based); a file that is not gzip fails by name. */
export async function* readArchiveFile(path: string): AsyncGenerator<{ n: number; text: string }> {
  const input = createReadStream(path);
  const gunzip = createGunzip();
  const lines = createInterface({ input: input.pipe(gunzip), crlfDelay: Infinity });
  const problem: { err?: unknown } = {};
  input.on('error', (err) => {
    problem.err = err;
    lines.close();
  });
  gunzip.on('error', (err) => {
    problem.err = err;
    lines.close();
  });
  let n = 0;
  try {
    for await (const text of lines) {
      n += 1;
      if (text.trim() !== '') yield { n, text };
    }
  } catch (err) {
    throw err instanceof TaskerError ? err : failed('cannot read archive file', path, err);
  }
  if (problem.err !== undefined) throw failed('cannot read archive file', path, problem.err);
}
