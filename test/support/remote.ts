/** Runs test/fixtures/remote-worker.mjs: another process creating and running live/remote tasks. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const REMOTE_TEMPLATE = `
namespace: live
name: remote
version: 1.0.0
steps:
  - { name: a, handler: h }
  - { name: b, handler: h, depends_on: [a] }
`;

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
