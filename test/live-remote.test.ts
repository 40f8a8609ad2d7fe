/**
 * Live updates of changes another process commits: a server with no worker of its own streams what a
 * separate worker process does. PostgreSQL names every changed task (LISTEN/NOTIFY); SQLite, whose other
 * connections say nothing, tells the console to resync (data_version watch).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { serve } from '../src/api/server.js';
import { createTasker } from '../src/index.js';
import { storeKind, templatesFromYaml, testDatabase } from './support/harness.js';
import { openSse } from './support/sse.js';
import { REMOTE_TEMPLATE, runRemote } from './support/remote.js';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

describe('live updates from another process', () => {
  it('a server without a worker streams what a worker process does', async () => {
    const database = testDatabase();
    const tasker = await createTasker({
      database,
      templates: templatesFromYaml(REMOTE_TEMPLATE),
      logger: false,
      migrate: true,
    });
    const { app, url } = await serve(tasker, { port: 0, processMetrics: false });
    apps.push(app);
    apps.push({ close: () => tasker.close() } as unknown as FastifyInstance);
    const stream = await openSse(`${url}/stream`);
    await stream.next((f) => f.event === 'hello');
    const remote = await runRemote(database);
    if (storeKind() === 'postgres') {
      // Every state of the task reaches the stream, named, ending with its completion.
      const done = await stream.next(
        (f) =>
          f.event === 'tasks' &&
          f.data.tasks.some((t: any) => t.id === remote.id && t.status === 'completed'),
      );
      // Pushed, not polled for (the latency itself: npm run bench:console).
      expect(done.at - remote.finishedAt).toBeLessThan(3000);
      const first = stream.frames.find(
        (f) => f.event === 'tasks' && f.data.tasks.some((t: any) => t.id === remote.id),
      );
      expect(first!.at - remote.createdAt).toBeLessThan(3000);
      expect(done.data.tasks.find((t: any) => t.id === remote.id)).toMatchObject({
        full_name: 'live.remote@1.0.0',
        steps_done: 2,
      });
    } else {
      const resync = await stream.next((f) => f.event === 'resync');
      expect(resync.data).toEqual({ reason: 'remote' });
      expect(resync.at - remote.createdAt).toBeLessThan(3000);
    }
    stream.close();
  });
});
