/** Numbered schema migrations, as both adapters keep them: what a migration is, and where a schema stands. */

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Where a schema at `current` stands against the migrations this build knows. */
export function statusOf(
  current: number,
  migrations: readonly Migration[],
  applied: number[],
): { current: number; latest: number; applied: number[]; pending: Array<{ version: number; name: string }> } {
  return {
    current,
    latest: migrations.reduce((m, x) => Math.max(m, x.version), 0),
    applied,
    pending: migrations.filter((m) => m.version > current).map((m) => ({ version: m.version, name: m.name })),
  };
}
