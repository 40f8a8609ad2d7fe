/**
 * YAML files -> validated templates, with every issue located at file:line:column.
 *
 * Multi-document files (`---` separated) are supported: each non-empty document is one template. Documents
 * with YAML syntax errors are not validated further, since a half-parsed tree only produces noise; their
 * syntax errors are all reported instead.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments } from 'yaml';
import type { Document } from 'yaml';
import type { ValidationIssue } from '../errors.js';
import { didYouMean } from '../core/suggest.js';
import { formatPath, parseTemplate } from '../core/template-parse.js';
import type { PathSegment, TemplateIssue } from '../core/template-parse.js';
import { templateKey } from '../core/template.js';
import type { TaskTemplate } from '../core/template.js';

export interface LoadOptions {
  /** When given, a step whose handler is not in this set is an issue (located at its handler field). */
  handlerNames?: ReadonlySet<string> | undefined;
}

export interface LoadResult {
  templates: TaskTemplate[];
  issues: ValidationIssue[];
  /** Accepted keys worth telling about (Tasker keys this engine ignores), located like issues. */
  warnings: ValidationIssue[];
}

interface Entry {
  template: TaskTemplate;
  at: ValidationIssue;
}

export function loadTemplateSource(text: string, file: string, options: LoadOptions = {}): LoadResult {
  const { entries, issues, warnings } = parseSource(text, file, options);
  return { ...dedupe(entries, issues), warnings };
}

export async function loadTemplatesFrom(
  pathOrDir: string,
  options: LoadOptions = {},
): Promise<LoadResult & { files: string[] }> {
  let isDir: boolean;
  try {
    isDir = (await stat(pathOrDir)).isDirectory();
  } catch (e) {
    return {
      templates: [],
      files: [],
      issues: [{ path: '', file: pathOrDir, message: fsMessage(e) }],
      warnings: [],
    };
  }
  const files = isDir ? await findYamlFiles(pathOrDir) : [pathOrDir];
  const entries: Entry[] = [];
  const issues: ValidationIssue[] = [];
  const warnings: ValidationIssue[] = [];
  if (files.length === 0) {
    issues.push({ path: '', file: pathOrDir, message: 'no *.yaml or *.yml files found in this directory' });
  }
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      issues.push({ path: '', file, message: fsMessage(e) });
      continue;
    }
    const parsed = parseSource(text, file, options);
    entries.push(...parsed.entries);
    issues.push(...parsed.issues);
    warnings.push(...parsed.warnings);
  }
  return { ...dedupe(entries, issues), warnings, files };
}

/** Issues for steps whose handler is not registered; unlocated (file only), for templates built in code. */
export function checkHandlers(
  templates: readonly TaskTemplate[],
  knownHandlerNames: ReadonlySet<string>,
): ValidationIssue[] {
  return templates.flatMap((t) =>
    t.steps.flatMap((s, i): ValidationIssue[] =>
      knownHandlerNames.has(s.handler)
        ? []
        : [
            {
              path: `steps[${i}].handler`,
              file: t.source,
              message: unknownHandler(s.handler, knownHandlerNames),
            },
          ],
    ),
  );
}

function unknownHandler(handler: string, known: ReadonlySet<string>): string {
  const hint = didYouMean(handler, known);
  if (hint) return `unknown handler \`${handler}\`${hint}`;
  if (known.size === 0) return `unknown handler \`${handler}\` (no handlers are registered)`;
  const names = [...known].sort();
  const shown = names.length <= 10 ? names.join(', ') : `${names.slice(0, 10).join(', ')}, …`;
  return `unknown handler \`${handler}\` (registered: ${shown})`;
}

function parseSource(
  text: string,
  file: string,
  options: LoadOptions,
): { entries: Entry[]; issues: ValidationIssue[]; warnings: ValidationIssue[] } {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, merge: true });
  const issues: ValidationIssue[] = [];
  const warnings: ValidationIssue[] = [];
  const entries: Entry[] = [];
  const at = (offset: number) => {
    const { line, col } = lines.linePos(offset);
    return { file, line, column: col };
  };
  let nonEmpty = 0;
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      for (const e of doc.errors)
        issues.push({ path: '', message: `YAML syntax error: ${e.message}`, ...at(e.pos[0]) });
      nonEmpty++;
      continue;
    }
    if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) continue;
    nonEmpty++;
    let raw: unknown;
    try {
      raw = doc.toJS({ maxAliasCount: 1000 });
    } catch (e) {
      issues.push({ path: '', message: e instanceof Error ? e.message : String(e), ...at(0) });
      continue;
    }
    const located = (i: TemplateIssue): ValidationIssue => ({
      path: i.path,
      message: i.message,
      ...at(locate(doc, i.segments, i.at)),
    });
    const result = parseTemplate(raw);
    issues.push(...result.issues.map(located));
    warnings.push(...result.warnings.map(located));
    const template = result.template;
    if (!template) continue;
    template.source = file;
    entries.push({ template, at: located({ path: 'name', message: '', segments: ['name'], at: 'value' }) });
    if (options.handlerNames) issues.push(...handlerIssues(template, raw, options.handlerNames).map(located));
  }
  if (nonEmpty === 0)
    issues.push({
      path: '',
      message: 'no template found: the file is empty or only has comments',
      file,
      line: 1,
      column: 1,
    });
  const byPlace = (a: ValidationIssue, b: ValidationIssue) =>
    (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0);
  return { entries, issues: issues.sort(byPlace), warnings: warnings.sort(byPlace) };
}

/** Segments of each unknown handler in the raw tree, using whichever key spelling (ours/Tasker's) the file used. */
function handlerIssues(t: TaskTemplate, raw: unknown, known: ReadonlySet<string>): TemplateIssue[] {
  const rec = raw as Record<string, unknown>;
  const stepsKey = Object.hasOwn(rec, 'steps') ? 'steps' : 'step_templates';
  const rawSteps = rec[stepsKey] as Record<string, unknown>[];
  return t.steps.flatMap((s, i) => {
    if (known.has(s.handler)) return [];
    const key = Object.hasOwn(rawSteps[i] ?? {}, 'handler') ? 'handler' : 'handler_class';
    const segments = [stepsKey, i, key];
    return [
      {
        path: formatPath(segments),
        message: unknownHandler(s.handler, known),
        segments,
        at: 'value' as const,
      },
    ];
  });
}

/** Offset of the node a path points at; falls back to the deepest node that exists (e.g. the parent map). */
function locate(doc: Document.Parsed, segments: readonly PathSegment[], at: 'key' | 'value'): number {
  let node: unknown = doc.contents;
  let key: unknown;
  let complete = true;
  for (const seg of segments) {
    if (isAlias(node)) node = node.resolve(doc);
    const pair = isMap(node)
      ? node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg))
      : undefined;
    const item = isSeq(node) && typeof seg === 'number' ? node.items[seg] : undefined;
    if (pair) [key, node] = [pair.key, pair.value ?? pair.key];
    else if (item !== undefined) [key, node] = [undefined, item];
    else {
      complete = false;
      break;
    }
  }
  // A bare `key:` has an empty null scalar positioned after the line; the key is the useful place to point.
  const empty = isScalar(node) && node.value === null && !node.source;
  const target = key !== undefined && ((at === 'key' && complete) || empty) ? key : node;
  return (target as { range?: [number, number, number] | null }).range?.[0] ?? 0;
}

function dedupe(entries: Entry[], issues: ValidationIssue[]): Omit<LoadResult, 'warnings'> {
  const seen = new Map<string, Entry>();
  const templates: TaskTemplate[] = [];
  for (const e of entries) {
    const key = templateKey(e.template);
    const first = seen.get(key);
    if (!first) {
      seen.set(key, e);
      templates.push(e.template);
      continue;
    }
    const where = `${first.at.file ?? ''}:${first.at.line ?? 1}:${first.at.column ?? 1}`;
    issues.push({ ...e.at, message: `duplicate template \`${key}\` (already defined at ${where})` });
  }
  return { templates, issues };
}

/** Every *.yaml / *.yml below `dir`, sorted by path so load order (and duplicate reports) is stable. */
async function findYamlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  // Hidden directories (.git, .tasker) never hold templates and can be large.
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await findYamlFiles(full)));
    else if (/\.ya?ml$/i.test(entry.name)) out.push(full);
  }
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function fsMessage(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES') return 'permission denied';
  return e instanceof Error ? e.message : String(e);
}
