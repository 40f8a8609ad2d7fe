/** `tasker db migrate` and `tasker db status`: the schema of the configured database. */
import type { Command } from 'commander';
import type { MigrationStatus, TaskStore } from '../../store/port.js';
import { openStore } from '../../store/open-store.js';
import { settingsFrom, type CliIo, type CommonFlags } from '../context.js';
import { registerPrune } from './prune.js';

type Flags = CommonFlags & { json?: boolean; schema?: string };

function describe(s: MigrationStatus, store: TaskStore): string {
  const lines = [`${store.kind} ${store.location}: schema version ${s.current} of ${s.latest}`];
  if (s.applied.length > 0) lines.push(`applied: ${s.applied.join(', ')}`);
  lines.push(
    s.pending.length === 0
      ? 'up to date'
      : `pending: ${s.pending.map((m) => `${String(m.version).padStart(3, '0')}_${m.name}`).join(', ')} (run: tasker db migrate)`,
  );
  return lines.join('\n');
}

export function registerDb(program: Command, io: CliIo, common: (c: Command) => Command): void {
  const db = program.command('db').description('database schema and history: migrate, status, prune');
  for (const [name, migrate, text] of [
    ['migrate', true, 'apply pending schema migrations (safe when several processes run it at once)'],
    ['status', false, 'show the schema version and pending migrations'],
  ] as const) {
    common(db.command(name).description(text))
      .option('--schema <name>', 'PostgreSQL schema (default tasker, or ?schema= in the URL)')
      .action(async (o: Flags) => {
        const opts = settingsFrom(io, o).compiled;
        const store = await openStore(opts, { migrate: false, checkSchema: false, postgresSchema: o.schema });
        try {
          const status = migrate ? await store.migrate() : await store.schemaStatus();
          io.out(
            o.json
              ? JSON.stringify({ store: store.kind, location: store.location, ...status }, null, 2)
              : describe(status, store),
          );
          if (!migrate && status.pending.length > 0) io.exitCode = 1;
        } finally {
          await store.close();
        }
      });
  }
  registerPrune(db, io, common);
}
