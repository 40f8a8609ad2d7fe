/**
 * The CLI end to end, in-process through main() (and once as a real process through bin/tasker.js):
 * validate output, run/show/tasks, bad input with clear messages and non-zero exits, nothing half-written.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { tempDir } from './support/harness.js';

const ROOT = join(import.meta.dirname, '..');
const FIX = join(ROOT, 'test', 'fixtures', 'templates');
const CHECKOUT = join(ROOT, 'examples', 'checkout', 'templates');
const HANDLERS = join(ROOT, 'dist', 'examples', 'checkout', 'handlers.js');

async function cli(args: string[], env: Record<string, string> = {}, cwd = tempDir()) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['node', 'tasker', ...args], {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    env: { TASKER_LOG_LEVEL: 'silent', ...env },
    cwd,
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const ORDER = JSON.stringify({
  order_id: 'A1',
  customer_id: 'c1',
  customer_tier: 'premium',
  order_value: 50,
  cart_items: [{ sku: 'SKU-MUG', price: 12.5, quantity: 4 }],
});

describe('tasker validate', () => {
  it('accepts the shipped checkout template', async () => {
    const r = await cli(['validate', CHECKOUT, '--handlers', HANDLERS]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('ecommerce/process_order@2.1.3');
  });

  it('reports every problem with file:line:column and exits non-zero', async () => {
    const r = await cli(['validate', join(FIX, 'invalid')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/cycle\.yaml:\d+:\d+: .*a -> b -> c -> a/);
    expect(r.err).toMatch(/unknown-dependency\.yaml:\d+:\d+: steps\[\d\]\.depends_on/);
    expect(r.err).toMatch(/unknown-key\.yaml:\d+:\d+: .*did you mean/);
    expect(r.err).toMatch(/✘ \d+ problem\(s\) in \d+ file\(s\)/);
  });

  it('reports malformed YAML with its position', async () => {
    const r = await cli(['validate', join(FIX, 'invalid', 'malformed.yaml.broken')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/malformed\.yaml\.broken:\d+:\d+: /);
  });

  it('reports unknown handlers when given a handlers module', async () => {
    const r = await cli([
      'validate',
      join(FIX, 'invalid', 'unknown-handler.yaml'),
      '--handlers',
      HANDLERS,
      '--json',
    ]);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.out) as { valid: boolean; issues: Array<{ message: string; line: number }> };
    expect(doc.valid).toBe(false);
    expect(doc.issues.some((i) => /handler/.test(i.message) && i.line > 0)).toBe(true);
  });
});

describe('tasker run / show / tasks', () => {
  it('runs the checkout workflow to completion and shows it', async () => {
    const dir = tempDir();
    const common = ['--db', `sqlite:${join(dir, 't.db')}`, '--templates', CHECKOUT, '--handlers', HANDLERS];
    const r = await cli([
      'run',
      'ecommerce/process_order',
      '--context',
      ORDER,
      '--wait',
      '--json',
      ...common,
    ]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const detail = JSON.parse(r.out) as {
      id: string;
      status: string;
      steps: Array<{ name: string; status: string }>;
    };
    // The seed's words, as the API says them; the stored `complete` still works as a filter.
    expect(detail.status).toBe('completed');
    expect(detail.steps.map((s) => s.name)).toEqual([
      'validate_cart',
      'process_payment',
      'update_inventory',
      'create_order',
      'send_confirmation',
    ]);
    const show = await cli(['show', detail.id, ...common]);
    expect(show.out).toMatch(/COMPLETED/);
    expect(show.out).toMatch(/✔ +validate_cart +completed/);
    for (const word of ['completed', 'complete']) {
      const list = await cli(['tasks', '--status', word, '--json', ...common]);
      const tasks = (JSON.parse(list.out) as { tasks: Array<{ id: string; status: string }> }).tasks;
      expect(tasks.map((t) => [t.id, t.status])).toEqual([[detail.id, 'completed']]);
    }
    const wrong = await cli(['tasks', '--status', 'done', ...common]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.err).toMatch(
      /--status: unknown status "done"; expected one of pending, in_progress, completed, failed, cancelled, resolved_manually/,
    );
  });

  it('exits 1 and shows the blocked steps when the task fails', async () => {
    const dir = tempDir();
    const common = ['--db', `sqlite:${join(dir, 't.db')}`, '--templates', CHECKOUT, '--handlers', HANDLERS];
    const empty = JSON.stringify({ order_id: 'A2', customer_id: 'c1', cart_items: [] });
    const r = await cli(['run', 'ecommerce/process_order', '--context', empty, '--wait', ...common]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/✘ validate_cart +failed .*PermanentError: Cart is empty/);
    expect(r.out).toMatch(/blocked by validate_cart/);
    expect(r.out).toMatch(/Blocked: validate_cart failed \(PermanentError\)/);
  });

  it('reads settings from tasker.config.yaml and TASKER_* env, flags winning', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'tasker.config.yaml'),
      `database: sqlite:./from-file.db\ntemplates: ${CHECKOUT}\n`,
    );
    const created = await cli(['run', 'ecommerce/process_order', '--context', ORDER, '--json'], {}, dir);
    expect(created.code).toBe(0);
    const fromEnv = await cli(
      ['tasks', '--json'],
      { TASKER_DATABASE_URL: `sqlite:${join(dir, 'env.db')}` },
      dir,
    );
    expect((JSON.parse(fromEnv.out) as { tasks: unknown[] }).tasks).toHaveLength(0);
    const fromFile = await cli(['tasks', '--json'], {}, dir);
    expect((JSON.parse(fromFile.out) as { tasks: unknown[] }).tasks).toHaveLength(1);
    const flag = await cli(
      ['tasks', '--json', '--db', `sqlite:${join(dir, 'flag.db')}`],
      { TASKER_DATABASE_URL: 'sqlite:x.db' },
      dir,
    );
    expect((JSON.parse(flag.out) as { tasks: unknown[] }).tasks).toHaveLength(0);
    writeFileSync(join(dir, 'tasker.config.yaml'), 'databse: x\n');
    const bad = await cli(['tasks'], {}, dir);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/unknown setting "databse" \(did you mean "database"\?\)/);
  });
});

describe('bad input', () => {
  const dbArgs = (dir: string) => ['--db', `sqlite:${join(dir, 't.db')}`, '--templates', CHECKOUT];

  function taskCount(dir: string): number {
    const db = new Database(join(dir, 't.db'), { readonly: true });
    try {
      return (db.prepare('SELECT COUNT(*) AS n FROM tasks').get() as { n: number }).n;
    } finally {
      db.close();
    }
  }

  it('invalid JSON in --context: clear message, exit 1, nothing created', async () => {
    const dir = tempDir();
    await cli(['tasks', ...dbArgs(dir)]);
    const r = await cli(['run', 'ecommerce/process_order', '--context', '{"order_id": ', ...dbArgs(dir)]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^tasker: --context is not valid JSON \(.+; 13 characters\)$/);
    expect(r.err).not.toContain('order_id');
    expect(taskCount(dir)).toBe(0);
  });

  it('context failing the schema: every failing path listed, nothing created', async () => {
    const dir = tempDir();
    await cli(['tasks', ...dbArgs(dir)]);
    const ctx = JSON.stringify({ order_id: 7, cart_items: [{ sku: 'x', price: -1, quantity: 0 }] });
    const r = await cli(['run', 'ecommerce/process_order', '--context', ctx, ...dbArgs(dir)]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('context.order_id: must be string');
    expect(r.err).toContain('context.customer_id: must have required property');
    expect(r.err).toContain('context.cart_items[0].price: must be >= 0');
    expect(r.err).toContain('context.cart_items[0].quantity: must be >= 1');
    expect(taskCount(dir)).toBe(0);
  });

  it('unknown handler at task creation fails fast and creates nothing', async () => {
    const dir = tempDir();
    const handlers = join(dir, 'partial.mjs');
    writeFileSync(handlers, 'export const handlers = { validate_cart: () => ({}) };\n');
    await cli(['tasks', ...dbArgs(dir)]);
    const r = await cli([
      'run',
      'ecommerce/process_order',
      '--context',
      ORDER,
      '--wait',
      '--handlers',
      handlers,
      ...dbArgs(dir),
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /process_order\.yaml:44:14: steps\[1\]\.handler: unknown handler `process_payment`/,
    );
    expect(taskCount(dir)).toBe(0);
  });

  it('unknown template: names what exists', async () => {
    const dir = tempDir();
    const r = await cli(['run', 'ecommerce/process_ordr', ...dbArgs(dir)]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/process_ordr/);
    expect(r.err).toMatch(/process_order/);
  });

  it('unwritable database location: clear message naming the path, exit 1', async () => {
    const dir = tempDir();
    const file = join(dir, 'not-a-dir');
    writeFileSync(file, 'x');
    const r = await cli(['tasks', '--db', `sqlite:${join(file, 'tasker.db')}`]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^tasker: cannot open SQLite database .*not-a-dir\/tasker\.db for writing/);
    const proc = await cli(['tasks', '--db', 'sqlite:/proc/tasker-test.db']);
    expect(proc.code).toBe(1);
    expect(proc.err).toMatch(/cannot open SQLite database \/proc\/tasker-test\.db/);
  });

  it('database locked by another process: clear message, exit 1, no crash trace', () => {
    const dir = tempDir();
    const path = join(dir, 'locked.db');
    const holder = new Database(path);
    holder.pragma('journal_mode = WAL');
    holder.exec('CREATE TABLE hold (x)');
    holder.exec('BEGIN EXCLUSIVE; INSERT INTO hold VALUES (1);');
    try {
      const r = spawnSync(
        process.execPath,
        [join(ROOT, 'bin', 'tasker.js'), 'tasks', '--db', `sqlite:${path}`],
        {
          encoding: 'utf8',
          env: { ...process.env, TASKER_SQLITE_BUSY_TIMEOUT_MS: '200' },
        },
      );
      expect(r.status).toBe(1);
      expect(r.stderr.trim()).toMatch(/^tasker: SQLite database .*locked\.db is locked by another process/);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
  });

  it('usage errors exit 2', async () => {
    const r = await cli(['run']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/missing required argument/);
    const ref = await cli(['run', 'no-slash']);
    expect(ref.code).toBe(1);
    expect(ref.err).toMatch(/expected <namespace>\/<name>\[@version\]/);
  });
});

describe('PostgreSQL down at start', () => {
  it.each(['worker', 'db status', 'tasks'])(
    'tasker %s: one line naming host and port, exit 1, no stack trace',
    (cmd) => {
      const r = spawnSync(
        process.execPath,
        [
          join(ROOT, 'bin', 'tasker.js'),
          ...cmd.split(' '),
          '--db',
          'postgres://postgres@127.0.0.1:5499/test',
        ],
        { encoding: 'utf8', timeout: 20_000 },
      );
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^tasker: cannot reach PostgreSQL at 127\.0\.0\.1:5499\/test \(ECONNREFUSED/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    },
  );
});

describe('npm start (tasker serve --demo)', () => {
  it('serves the API with the checkout demo’s traffic, prints the URLs, and stops cleanly on SIGTERM', async () => {
    const { spawn } = await import('node:child_process');
    const dir = tempDir();
    const child = spawn(
      process.execPath,
      [join(ROOT, 'bin', 'tasker.js'), 'serve', '--demo', '--port', '0', '--rate', '50'],
      {
        cwd: dir,
        env: { ...process.env, TASKER_LOG_LEVEL: 'silent' },
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      let url: string | undefined;
      for (let i = 0; i < 200 && !url; i++) {
        url = /Tasker API on (http:\/\/127\.0\.0\.1:\d+\/tasker)/.exec(out)?.[1];
        if (!url) await new Promise((r) => setTimeout(r, 50));
      }
      expect(url).toBeDefined();
      expect(out).toContain(`curl "${url}/tasks?status=failed&namespace=ecommerce"`);
      let completed = 0;
      for (let i = 0; i < 100 && completed === 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const page = (await (await fetch(`${url}/tasks?status=completed&namespace=ecommerce`)).json()) as {
          tasks: unknown[];
        };
        completed = page.tasks.length;
      }
      expect(completed).toBeGreaterThan(0);
      const health = (await (await fetch(`${url}/health`)).json()) as {
        status: string;
        checks: Record<string, any>;
      };
      expect(health.checks.step_handlers).toMatchObject({
        registered_handlers: 5,
        namespaces: ['ecommerce'],
      });
      expect((await fetch(`${url}/metrics`)).headers.get('content-type')).toMatch(/^text\/plain/);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 30_000);
});

describe('tasker demo (the terminal demo)', () => {
  it('runs the checkout demo on a fresh embedded database and prints the summary', () => {
    const dir = tempDir();
    const r = spawnSync(
      process.execPath,
      [join(ROOT, 'bin', 'tasker.js'), 'demo', '--orders', '40', '--rate', '200'],
      {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, TASKER_LOG_LEVEL: 'silent' },
        timeout: 60_000,
      },
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Checkout demo: ecommerce/process_order@2.1.3');
    const last = [
      ...r.stdout.matchAll(/created (\d+) {2}completed (\d+) {2}failed (\d+) {2}in flight (\d+)/g),
    ].pop();
    expect(last?.[1]).toBe('40');
    expect(Number(last?.[2]) + Number(last?.[3])).toBe(40);
    expect(last?.[4]).toBe('0');
    expect(r.stdout).toMatch(/process_payment +\d+ ms/);
    // Zero configuration: it made ./.tasker/tasker.db in the working directory.
    const db = new Database(join(dir, '.tasker', 'tasker.db'), { readonly: true });
    expect((db.prepare('SELECT COUNT(*) AS n FROM tasks').get() as { n: number }).n).toBe(40);
    db.close();
  });
});

describe('tasker worker', () => {
  it('picks up tasks created by another process and stops cleanly on SIGTERM', async () => {
    const dir = tempDir();
    const db = `sqlite:${join(dir, 'w.db')}`;
    const args = ['--db', db, '--templates', CHECKOUT, '--handlers', HANDLERS];
    const { spawn } = await import('node:child_process');
    const worker = spawn(
      process.execPath,
      [join(ROOT, 'bin', 'tasker.js'), 'worker', ...args, '--log-level', 'info'],
      {
        env: { ...process.env, TASKER_POLL_INTERVAL_MS: '100' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let log = '';
    worker.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((resolve) => worker.on('exit', (code) => resolve(code)));
    try {
      const created = await cli(['run', 'ecommerce/process_order', '--context', ORDER, '--json', ...args]);
      const id = (JSON.parse(created.out) as { id: string }).id;
      let status = '';
      for (let i = 0; i < 100 && status !== 'completed'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        status = (JSON.parse((await cli(['show', id, '--json', ...args])).out) as { status: string }).status;
      }
      expect(status).toBe('completed');
    } finally {
      worker.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(log).toMatch(/"msg":"worker running; Ctrl-C to stop"/);
    expect(log).toMatch(/"msg":"stopping: finishing running steps"/);
  });
});

describe('tasker triage, bulk, audit, compare', () => {
  it('groups the failures, previews and runs a bulk retry, and shows the audit log and a comparison', async () => {
    const dir = tempDir();
    const db = `sqlite:${join(dir, 't.db')}`;
    const templates = join(dir, 't.yaml');
    writeFileSync(
      templates,
      `namespace: cli\nname: order\nversion: 1.0.0\nbusiness: { value_field: v }\nsteps:\n  - { name: a, handler: a }\n  - { name: b, handler: b, depends_on: [a] }\n`,
    );
    const handlers = join(dir, 'h.mjs');
    writeFileSync(
      handlers,
      `export const a = () => 1;\nexport const b = ({ task }) => { if (task.context.v > 5 && !process.env.FIXED) { const e = new Error('down for order ' + task.context.v); e.retryable = false; throw e; } return 2; };\n`,
    );
    const common = ['--db', db, '--templates', templates, '--handlers', handlers];
    for (const v of [1, 10, 20])
      await cli(['run', 'cli/order', ...common, '--context', `{"v": ${v}}`, '--wait']);
    const triage = await cli(['triage', ...common]);
    expect(triage.out).toMatch(/2 tasks in 1 groups, \$30 at risk/);
    expect(triage.out).toContain('down for order <n>');
    const json = JSON.parse((await cli(['triage', ...common, '--json'])).out) as {
      groups: Array<{ fingerprint: string }>;
    };
    const fp = json.groups[0]!.fingerprint;
    const dry = await cli(['bulk', 'retry', ...common, '--group', fp, '--reason', 'fixed', '--dry-run']);
    expect(dry.out).toContain('dry run: retry would change 2 of 2 matched tasks');
    expect(dry.out).toContain('rerun: b ×2');
    const missing = await cli(['bulk', 'retry', ...common, '--group', fp]);
    expect(missing.code).not.toBe(0);
    const run = await cli(['bulk', 'retry', ...common, '--group', fp, '--reason', 'fixed'], { FIXED: '1' });
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/retry completed — 2 done, 0 skipped, 0 failed, 0 pending of 2/);
    const audit = await cli(['audit', ...common]);
    expect(audit.out).toMatch(/cli:\S+\s+bulk\.finished\s+ok/);
    expect(audit.out).toMatch(/cli:\S+\s+bulk\.retry\s+ok\s+2\s+fixed/);
    const badOutcome = await cli(['audit', ...common, '--outcome', 'maybe']);
    expect(badOutcome.err).toContain('--outcome: expected ok, refused or failed');
    const last = JSON.parse((await cli(['tasks', ...common, '--json'])).out) as {
      tasks: Array<{ id: string }>;
    };
    const compare = await cli(['compare', last.tasks[0]!.id, ...common]);
    expect(compare.code).toBe(0);
    expect(compare.out).toContain('compared with the most recent completed run of cli/order@1.0.0');
  });
});
