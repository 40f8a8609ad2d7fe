/**
 * Shared test harness. The behavioural suite runs against the store named by TASKER_TEST_STORE
 * (`sqlite`, the default; `postgres` once that adapter exists). Each test gets its own database.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import {
  createTasker,
  loadTemplateSource,
  type HandlerMap,
  type Tasker,
  type TaskerEvent,
  type TaskerOptions,
} from '../../src/index.js';

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

export function tempDir(prefix = 'tasker-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function storeKind(): string {
  return process.env.TASKER_TEST_STORE ?? 'sqlite';
}

/** Parse YAML template text (the real loader), failing the test on any issue. */
export function templatesFromYaml(...docs: string[]) {
  return docs
    .map((text, i) => {
      const { templates, issues } = loadTemplateSource(text, `inline-${i}.yaml`);
      if (issues.length > 0) throw new Error(`test template invalid: ${JSON.stringify(issues)}`);
      return templates;
    })
    .flat();
}

export interface Harness {
  tasker: Tasker;
  events: TaskerEvent[];
  dbPath: string;
}

/** A started engine on a fresh database, closed after the test. Events are recorded in order. */
export async function startEngine(
  yaml: string | string[],
  handlers: HandlerMap,
  options: Partial<TaskerOptions> & { start?: boolean } = {},
): Promise<Harness> {
  if (storeKind() !== 'sqlite') throw new Error(`TASKER_TEST_STORE=${storeKind()} is not available yet`);
  const dbPath = join(tempDir(), 'tasker.db');
  const tasker = await createTasker({
    database: `sqlite:${dbPath}`,
    templates: templatesFromYaml(...(Array.isArray(yaml) ? yaml : [yaml])),
    handlers,
    logger: false,
    pollIntervalMs: 50,
    ...options,
  });
  const events: TaskerEvent[] = [];
  tasker.subscribe('*', (e) => void events.push(e), { name: 'test-recorder' });
  cleanups.push(() => tasker.close());
  if (options.start !== false) tasker.start();
  return { tasker, events, dbPath };
}

/** Fast retries for tests: 10 ms base, no jitter. */
export const FAST_RETRY =
  'retry: { max_attempts: 3, backoff: { base_seconds: 0.01, multiplier: 2, max_seconds: 0.1, jitter: 0 } }';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
