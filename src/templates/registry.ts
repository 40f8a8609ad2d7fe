/**
 * In-memory set of templates keyed by namespace/name@version. Templates built in code bypass the YAML
 * validator, so `register` re-checks what the engine relies on: a comparable version and an acyclic graph
 * with no dangling dependencies.
 */
import { TaskerError } from '../errors.js';
import { findCycle } from '../core/dag.js';
import { compareSemver, parseSemver } from '../core/semver.js';
import { suggest } from '../core/suggest.js';
import { templateKey } from '../core/template.js';
import type { RetryPolicy, TaskTemplate } from '../core/template.js';
import { retentionProblems } from '../core/template-retention.js';

export class TemplateRegistry {
  readonly #byKey = new Map<string, TaskTemplate>();

  /** Registering identical content twice is a no-op (e.g. the same file loaded again); differing content throws. */
  register(t: TaskTemplate): void {
    const key = templateKey(t);
    assertUsable(t, key);
    const existing = this.#byKey.get(key);
    if (existing) {
      if (sameContent(existing, t)) return;
      const from = existing.source ? ` from ${existing.source}` : '';
      throw new TaskerError(
        'TEMPLATE_INVALID',
        `template ${key} is already registered${from} with different content; bump the version to change it`,
        { key, source: t.source, existingSource: existing.source },
      );
    }
    this.#byKey.set(key, t);
  }

  /**
   * Exact version, or the latest when omitted. "Latest" prefers releases: a published 2.0.0-rc.1 does not
   * displace 1.4.0 for callers who did not ask for a version; prereleases are picked only if nothing else exists.
   */
  get(namespace: string, name: string, version?: string): TaskTemplate {
    const found = this.#find(namespace, name, version);
    if (found) return found;
    const versions = this.#versions(namespace, name);
    const wanted = version === undefined ? `${namespace}/${name}` : `${namespace}/${name}@${version}`;
    let hint: string;
    if (versions.length > 0) hint = `available versions: ${versions.join(', ')}`;
    else {
      const names = [...new Set(this.list().map((t) => `${t.namespace}/${t.name}`))];
      const close = suggest(`${namespace}/${name}`, names);
      if (close) hint = `did you mean \`${close}\`?`;
      else
        hint = names.length > 0 ? `registered templates: ${names.join(', ')}` : 'no templates are registered';
    }
    throw new TaskerError('TEMPLATE_NOT_FOUND', `template ${wanted} not found; ${hint}`, {
      namespace,
      name,
      version,
      availableVersions: versions,
    });
  }

  has(namespace: string, name: string, version?: string): boolean {
    return this.#find(namespace, name, version) !== undefined;
  }

  /** Like get(), but undefined instead of an error (a stored task whose template is no longer loaded). */
  find(namespace: string, name: string, version?: string): TaskTemplate | undefined {
    return this.#find(namespace, name, version);
  }

  namespaces(): string[] {
    return [...new Set([...this.#byKey.values()].map((t) => t.namespace))].sort(cmp);
  }

  /** Sorted by namespace, name, then version (semver order). */
  /** The handler names the steps of templates in the matching namespaces use. */
  handlerNames(inNamespace: (namespace: string) => boolean = () => true): Set<string> {
    return new Set(
      this.list()
        .filter((t) => inNamespace(t.namespace))
        .flatMap((t) => t.steps.map((s) => s.handler)),
    );
  }

  list(): TaskTemplate[] {
    return [...this.#byKey.values()].sort(
      (a, b) => cmp(a.namespace, b.namespace) || cmp(a.name, b.name) || compareSemver(a.version, b.version),
    );
  }

  #find(namespace: string, name: string, version?: string): TaskTemplate | undefined {
    if (version !== undefined) return this.#byKey.get(templateKey({ namespace, name, version }));
    const all = this.#versions(namespace, name);
    const latest = all.filter((v) => parseSemver(v)?.prerelease.length === 0).at(-1) ?? all.at(-1);
    return latest === undefined
      ? undefined
      : this.#byKey.get(templateKey({ namespace, name, version: latest }));
  }

  #versions(namespace: string, name: string): string[] {
    return [...this.#byKey.values()]
      .filter((t) => t.namespace === namespace && t.name === name)
      .map((t) => t.version)
      .sort(compareSemver);
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sameContent(a: TaskTemplate, b: TaskTemplate): boolean {
  const strip = ({ source: _source, ...rest }: TaskTemplate) => JSON.stringify(rest);
  return strip(a) === strip(b);
}

function assertUsable(t: TaskTemplate, key: string): void {
  const problems: string[] = [];
  if (!parseSemver(t.version))
    problems.push(`version ${JSON.stringify(t.version)} is not a semantic version`);
  // Read by metrics and the API for every task: a wrong type here would surface far from its cause.
  if (
    t.slaSeconds !== undefined &&
    !(typeof t.slaSeconds === 'number' && t.slaSeconds > 0 && t.slaSeconds < Infinity)
  )
    problems.push(`slaSeconds ${JSON.stringify(t.slaSeconds)} is not a number > 0`);
  if (t.critical !== undefined && typeof t.critical !== 'boolean')
    problems.push(`critical ${JSON.stringify(t.critical)} is not true or false`);
  problems.push(...retentionProblems(t));
  const versionProblems = problems.length;
  if (!Array.isArray(t.steps) || t.steps.length === 0) problems.push('no steps');
  const names = new Set<string>();
  for (const [i, s] of (Array.isArray(t.steps) ? t.steps : []).entries()) {
    if (typeof s.name !== 'string' || s.name === '') problems.push(`steps[${i}]: no name`);
    if (typeof s.handler !== 'string' || s.handler === '') problems.push(`step \`${s.name}\`: no handler`);
    if (!Array.isArray(s.dependsOn)) problems.push(`step \`${s.name}\`: dependsOn is not a list`);
    if (typeof s.handlerConfig !== 'object' || s.handlerConfig === null || Array.isArray(s.handlerConfig))
      problems.push(`step \`${s.name}\`: handlerConfig is not an object`);
    const r = s.retry as Partial<RetryPolicy> | undefined;
    if (!r || !Number.isInteger(r.maxAttempts) || (r.maxAttempts ?? 0) < 1)
      problems.push(`step \`${s.name}\`: retry.maxAttempts is not an integer ≥ 1`);
    if (names.has(s.name)) problems.push(`duplicate step name \`${s.name}\``);
    names.add(s.name);
  }
  // Steps that are not even well-formed cannot be checked as a graph: say what is wrong so far.
  if (problems.length > versionProblems) {
    throw new TaskerError('TEMPLATE_INVALID', `template ${key} is invalid: ${problems.join('; ')}`, {
      key,
      problems,
    });
  }
  for (const s of t.steps) {
    for (const d of s.dependsOn)
      if (!names.has(d)) problems.push(`step \`${s.name}\` depends on unknown \`${d}\``);
  }
  const cycle = findCycle(t.steps);
  if (cycle) problems.push(`dependency cycle: ${cycle.join(' -> ')}`);
  if (problems.length > 0) {
    throw new TaskerError('TEMPLATE_INVALID', `template ${key} is invalid: ${problems.join('; ')}`, {
      key,
      problems,
    });
  }
}
