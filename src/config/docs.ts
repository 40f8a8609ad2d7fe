/**
 * docs/configuration.md's tables, rendered from the settings tables so the docs cannot fall behind:
 * `npm run docs:config` rewrites the part between the markers, and a test fails when it is stale.
 */
import type { Kind } from './kinds.js';
import { CONSOLE_SETTINGS } from './console.js';
import { SETTINGS } from './settings-table.js';
import type { SettingSpec } from './spec.js';
import { PROMETHEUS_SETTINGS, TELEMETRY_SETTINGS } from './telemetry-table.js';
import { RETENTION_SETTINGS } from './retention.js';

export const BEGIN_MARKER = '<!-- BEGIN GENERATED: settings tables (npm run docs:config) -->';
export const END_MARKER = '<!-- END GENERATED: settings tables -->';

const code = (s: string) => `\`${s}\``;

function kindText(k: Kind): string {
  switch (k.type) {
    case 'int':
      return `integer ${k.min}–${k.max}`;
    case 'number':
      return `number ${k.min}–${k.max}`;
    case 'bool':
      return 'true / false';
    case 'enum':
      return k.values.map(code).join(', ');
    case 'list':
      return 'list of strings';
    case 'paths':
      return 'path or list of paths';
    case 'path':
      return 'path';
    case 'url':
      return 'http(s) URL';
    case 'database':
      return '`sqlite:<path>` or `postgres://…`';
    case 'object':
      return 'object (library only)';
    case 'duration':
      return k.never ? 'duration (`7d`, `12h`, `30m`) or `never`' : 'duration (`7d`, `12h`, `30m`)';
    case 'section':
      return 'section';
    case 'string':
      return k.expected ?? 'string';
  }
}

function defaultText(e: SettingSpec): string {
  if (e.defaultDoc !== undefined) return e.defaultDoc;
  const d = e.default;
  if (d === undefined) return 'none';
  if (Array.isArray(d)) return d.length === 0 ? 'none' : d.map((x) => String(x)).join(', ');
  return code(typeof d === 'string' ? d : JSON.stringify(d));
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** `prefix`: the section's path in the file; `option`: the same in the library's options. */
function table(title: string, prefix: string, option: string, rows: readonly SettingSpec[]): string {
  const lines = [
    `### ${title}`,
    '',
    '| tasker.config.yaml | library option | environment | kind | default | meaning |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const e of rows) {
    const file = e.only === 'library' ? '(library only)' : code(`${prefix}${e.file}`);
    const name = e.only === 'cli' ? '(CLI only)' : code(`${option}${e.key}`);
    const env = (e.env ?? []).map(code).join(', ') || '–';
    lines.push(`| ${[file, name, env, kindText(e.kind), defaultText(e), e.doc].map(cell).join(' | ')} |`);
  }
  return lines.join('\n');
}

export function renderSettingsTables(): string {
  return [
    table('Top-level settings', '', '', SETTINGS),
    table('`telemetry:`', 'telemetry.', 'telemetry.', TELEMETRY_SETTINGS),
    table('`telemetry.prometheus:`', 'telemetry.prometheus.', 'telemetry.', PROMETHEUS_SETTINGS),
    table('`retention:`', 'retention.', 'retention.', RETENTION_SETTINGS),
    table("`console:` (the API server's `console` option)", 'console.', 'console.', CONSOLE_SETTINGS),
  ].join('\n\n');
}

/** `doc` with the part between the markers replaced by the current tables. */
export function spliceSettingsTables(doc: string): string {
  const start = doc.indexOf(BEGIN_MARKER);
  const end = doc.indexOf(END_MARKER);
  if (start < 0 || end < start) throw new Error(`the settings markers are missing: ${BEGIN_MARKER}`);
  return `${doc.slice(0, start + BEGIN_MARKER.length)}\n\n${renderSettingsTables()}\n\n${doc.slice(end)}`;
}
