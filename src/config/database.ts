/** Where tasks live, from the one string people write: a SQLite path or a PostgreSQL URL. */
import { TaskerError } from '../errors.js';

export const DEFAULT_DATABASE = 'sqlite:./.tasker/tasker.db';

export type DatabaseTarget = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

export function parseDatabase(value: string, field = 'database'): DatabaseTarget {
  const v = value.trim();
  if (v === ':memory:' || v === 'sqlite::memory:') return { kind: 'sqlite', path: ':memory:' };
  if (v.startsWith('sqlite://'))
    return { kind: 'sqlite', path: nonEmpty(v.slice('sqlite://'.length), field, value) };
  if (v.startsWith('sqlite:'))
    return { kind: 'sqlite', path: nonEmpty(v.slice('sqlite:'.length), field, value) };
  if (v.startsWith('postgres://') || v.startsWith('postgresql://')) return { kind: 'postgres', url: v };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) {
    throw new TaskerError(
      'CONFIG_INVALID',
      `${field}: unsupported database URL "${value}"; expected sqlite:<path> or postgres://…`,
      {
        field,
        value,
      },
    );
  }
  return { kind: 'sqlite', path: nonEmpty(v, field, value) };
}

function nonEmpty(path: string, field: string, value: string): string {
  if (path.length === 0) {
    throw new TaskerError('CONFIG_INVALID', `${field}: "${value}" names no file; expected sqlite:<path>`, {
      field,
      value,
    });
  }
  return path;
}
