/** Runs test/fixtures/remote-worker.mjs: another process creating and running live/remote tasks. */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** live/remote: the template remote-worker.mjs creates and runs. */
export const REMOTE_TEMPLATE = readFileSync(
  join(import.meta.dirname, '..', 'fixtures', 'remote-template.yaml'),
  'utf8',
);

export function runRemote(
  database: string,
  mode: 'create' | 'work' = 'create',
): Promise<{ id: string; createdAt: number; finishedAt: number }> {
  const child = spawn(
    process.execPath,
    [join(import.meta.dirname, '..', 'fixtures', 'remote-worker.mjs'), database, mode],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) =>
    child.on('exit', (code) =>
      code === 0
        ? resolve(
            JSON.parse(out.trim().split('\n').pop() ?? '') as {
              id: string;
              createdAt: number;
              finishedAt: number;
            },
          )
        : reject(new Error(`remote worker exited ${code}`)),
    ),
  );
}
