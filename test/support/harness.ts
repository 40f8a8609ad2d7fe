/**
 * Shared test harness. The behavioural suites run against the store named by TASKER_TEST_STORE:
 * `sqlite` (default) or `postgres` (TASKER_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/test).
 * Each test gets its own database: a fresh SQLite file, or a fresh PostgreSQL schema that is dropped when
 * the test passes and kept for inspection when it fails.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach } from 'vitest';
import {
  createTasker,
  loadTemplateSource,
  type HandlerMap,
  type PayloadOf,
  type Tasker,
  type TaskerEvent,
  type TaskerOptions,
} from '../../src/index.js';

const cleanups: Array<(failed: boolean) => Promise<void> | void> = [];

afterEach(async (ctx) => {
  const failed = ctx.task.result?.state === 'fail';
  while (cleanups.length > 0) await cleanups.pop()?.(failed);
});

/** Run `fn` after the current test, before what was registered earlier (last in, first out). */
export function onCleanup(fn: (failed: boolean) => Promise<void> | void): void {
  cleanups.push(fn);
}

export function tempDir(prefix = 'tasker-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function storeKind(): 'sqlite' | 'postgres' {
  const kind = process.env.TASKER_TEST_STORE ?? 'sqlite';
  if (kind !== 'sqlite' && kind !== 'postgres')
    throw new Error(`TASKER_TEST_STORE=${kind}: expected sqlite or postgres`);
  return kind;
}

export const PG_URL = process.env.TASKER_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A fresh database for this test, as a `database` option value (dropped after the test unless it failed). */
export function testDatabase(): string {
  if (storeKind() === 'sqlite') return `sqlite:${join(tempDir(), 'tasker.db')}`;
  const schema = `tasker_t_${randomBytes(5).toString('hex')}`;
  cleanups.push(async (failed) => {
    if (failed) {
      console.error(`kept PostgreSQL schema ${schema} of the failed test for inspection`);
      return;
    }
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    try {
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    } finally {
      await client.end();
    }
  });
  return `${PG_URL}?schema=${schema}`;
}

/** Parse YAML template text (the real loader), failing the test on any issue. */
export function templatesFromYaml(...docs: string[]) {
  return docs.flatMap((text, i) => {
    const { templates, issues } = loadTemplateSource(text, `inline-${i}.yaml`);
    if (issues.length > 0) throw new Error(`test template invalid: ${JSON.stringify(issues)}`);
    return templates;
  });
}

export interface Harness {
  tasker: Tasker;
  events: TaskerEvent[];
  database: string;
}

/** A started engine on a fresh database, closed after the test. Events are recorded in order. */
export async function startEngine(
  yaml: string | string[],
  handlers: HandlerMap,
  options: Partial<TaskerOptions> & { start?: boolean } = {},
): Promise<Harness> {
  const database = options.database ?? testDatabase();
  const tasker = await createTasker({
    database,
    templates: templatesFromYaml(...(Array.isArray(yaml) ? yaml : [yaml])),
    handlers,
    logger: false,
    pollIntervalMs: 50,
    migrate: true,
    ...options,
  });
  const events: TaskerEvent[] = [];
  tasker.subscribe('*', (e) => void events.push(e), { name: 'test-recorder' });
  cleanups.push(() => tasker.close());
  if (options.start !== false) tasker.start();
  return { tasker, events, database };
}

/** Fast retries for tests: 10 ms base, no jitter. */
export const FAST_RETRY =
  'retry: { max_attempts: 3, backoff: { base_seconds: 0.01, multiplier: 2, max_seconds: 0.1, jitter: 0 } }';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The first committed event from now on that matches (subscribe before causing it). Rejects after
 * `timeoutMs` naming what it waited for, so a test that would hang fails with a reason instead.
 */
export function nextEvent<P extends string>(
  tasker: Tasker,
  name: P,
  match: (e: TaskerEvent<PayloadOf<P>>) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<TaskerEvent<PayloadOf<P>>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${name} event matching ${match.toString()} within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = tasker.subscribe(
      name,
      (e) => {
        if (!match(e)) return;
        clearTimeout(timer);
        off();
        resolve(e);
      },
      { name: `test-wait-${name}` },
    );
  });
}

/** A promise and the function that resolves it, for "the handler saw X" conditions. */
export function signal<T = void>(): { promise: Promise<T>; fire: (value: T) => void } {
  let fire!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (fire = resolve));
  return { promise, fire };
}
