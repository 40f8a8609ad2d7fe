import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { formatIssue, TaskerError } from '../src/errors.js';
import type { ValidationIssue } from '../src/errors.js';
import { ancestors, descendants, findCycle, topoOrder } from '../src/core/dag.js';
import { compareSemver, parseSemver, SEMVER_PATTERN } from '../src/core/semver.js';
import { suggest } from '../src/core/suggest.js';
import { parseTemplate, TEMPLATE_KEYS } from '../src/core/template-parse.js';
import { DEFAULT_BACKOFF, DEFAULT_MAX_ATTEMPTS } from '../src/core/template.js';
import type { TaskTemplate } from '../src/core/template.js';
import { checkHandlers, loadTemplateSource, loadTemplatesFrom } from '../src/templates/load.js';
import { TemplateRegistry } from '../src/templates/registry.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FIX = path.join(ROOT, 'test/fixtures/templates');
const fx = (rel: string) => path.join(FIX, rel);
/** `line:col path: message` without the file, the way a reader would scan the output. */
const brief = (i: ValidationIssue) => `${i.line}:${i.column} ${i.path}: ${i.message}`;

async function load(rel: string, handlerNames?: Set<string>) {
  return loadTemplatesFrom(fx(rel), { handlerNames });
}

function thrown(fn: () => unknown): TaskerError {
  try {
    fn();
  } catch (e) {
    if (e instanceof TaskerError) return e;
    throw e;
  }
  throw new Error('expected a TaskerError');
}

describe('semver', () => {
  it('parses strict SemVer 2.0 including prerelease and build', () => {
    expect(parseSemver('1.2.3')).toEqual({ major: 1, minor: 2, patch: 3, prerelease: [] });
    expect(parseSemver('1.0.0-alpha.1+build.5')).toEqual({
      major: 1,
      minor: 0,
      patch: 0,
      prerelease: ['alpha', '1'],
    });
    for (const bad of [
      '1.0',
      'v1.0.0',
      '01.0.0',
      '1.0.0-01',
      '1.0.0-',
      '1.0.0+',
      '1.0.0-a..b',
      '',
      ' 1.0.0',
    ]) {
      expect(parseSemver(bad), bad).toBeNull();
    }
  });

  it('orders by SemVer precedence', () => {
    expect(compareSemver('1.10.0', '1.9.0')).toBeGreaterThan(0);
    expect(compareSemver('1.0.0-rc.1', '1.0.0')).toBeLessThan(0);
    expect(compareSemver('1.0.0+a', '1.0.0+b')).toBe(0);
    const spec = [
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-alpha.beta',
      '1.0.0-beta',
      '1.0.0-beta.2',
      '1.0.0-beta.11',
    ];
    const chain = [...spec, '1.0.0-rc.1', '1.0.0', '2.0.0', '2.1.0', '2.1.1'];
    expect([...chain].reverse().sort(compareSemver)).toEqual(chain);
  });

  it('rejects non-versions with INVALID_ARGUMENT', () => {
    expect(thrown(() => compareSemver('1.0', '1.0.0')).code).toBe('INVALID_ARGUMENT');
  });
});

describe('dag', () => {
  const diamond = [
    { name: 'a', dependsOn: [] },
    { name: 'b', dependsOn: ['a'] },
    { name: 'c', dependsOn: ['a'] },
    { name: 'd', dependsOn: ['b', 'c'] },
  ];

  it('finds a cycle as a path with the first name repeated', () => {
    const steps = [
      { name: 'a', dependsOn: ['b'] },
      { name: 'b', dependsOn: ['c'] },
      { name: 'c', dependsOn: ['a'] },
    ];
    expect(findCycle(steps)).toEqual(['a', 'b', 'c', 'a']);
    expect(findCycle([{ name: 'x', dependsOn: ['x'] }])).toEqual(['x', 'x']);
    expect(findCycle(diamond)).toBeNull();
  });

  it('orders topologically, breaking ties by declaration order', () => {
    const steps = [
      { name: 'd', dependsOn: ['a'] },
      { name: 'a', dependsOn: [] },
      { name: 'c', dependsOn: [] },
      { name: 'b', dependsOn: ['a', 'unknown'] },
    ];
    expect(topoOrder(steps)).toEqual(['a', 'd', 'c', 'b']);
    expect(topoOrder(diamond)).toEqual(['a', 'b', 'c', 'd']);
    const e = thrown(() =>
      topoOrder([...diamond, { name: 'e', dependsOn: ['f'] }, { name: 'f', dependsOn: ['e'] }]),
    );
    expect(e.code).toBe('TEMPLATE_INVALID');
    expect(e.message).toBe('dependency cycle: e -> f -> e');
  });

  it('computes transitive descendants and ancestors', () => {
    expect(descendants(diamond, 'a')).toEqual(new Set(['b', 'c', 'd']));
    expect(descendants(diamond, 'd')).toEqual(new Set());
    expect(ancestors(diamond, 'd')).toEqual(new Set(['a', 'b', 'c']));
    expect(ancestors(diamond, 'nope')).toEqual(new Set());
  });
});

describe('parseTemplate', () => {
  const minimal = { namespace: 'n', name: 't', version: '1.0.0', steps: [{ name: 'a', handler: 'h' }] };

  it('applies defaults', () => {
    const { template, issues } = parseTemplate(minimal);
    expect(issues).toEqual([]);
    expect(template?.steps[0]).toEqual({
      name: 'a',
      handler: 'h',
      dependsOn: [],
      handlerConfig: {},
      retry: { retryable: true, maxAttempts: DEFAULT_MAX_ATTEMPTS, backoff: { ...DEFAULT_BACKOFF } },
    });
  });

  it('gives issues raw segments and says whether the key or the value is at fault', () => {
    const { template, issues } = parseTemplate({
      ...minimal,
      steps: [{ name: 'a', handler: 'h', retry: { max_attempts: 0, bakoff: {} } }],
    });
    expect(template).toBeUndefined();
    expect(issues).toEqual([
      {
        path: 'steps[0].retry.bakoff',
        segments: ['steps', 0, 'retry', 'bakoff'],
        at: 'key',
        message: 'unknown key `bakoff`; did you mean `backoff`?',
      },
      {
        path: 'steps[0].retry.max_attempts',
        segments: ['steps', 0, 'retry', 'max_attempts'],
        at: 'value',
        message: 'expected an integer ≥ 1, got 0',
      },
    ]);
    expect(parseTemplate([1]).issues[0]?.message).toMatch(/^expected a map with namespace, .* got a list$/);
  });

  it('maps tasker-core retry fields (ms -> s, limit, fixed backoff)', () => {
    const { template, issues } = parseTemplate({
      ...minimal,
      steps: [
        {
          name: 'a',
          handler: 'h',
          retry: { limit: 4, backoff: 'fixed', backoff_base_ms: 500, max_backoff_ms: 2000 },
        },
      ],
    });
    expect(issues).toEqual([]);
    expect(template?.steps[0]?.retry).toEqual({
      retryable: true,
      maxAttempts: 4,
      backoff: { baseSeconds: 0.5, multiplier: 1, maxSeconds: 2, jitter: DEFAULT_BACKOFF.jitter },
    });
  });

  it('merges depends_on, depends_on_step and depends_on_steps', () => {
    const steps = ['a', 'b', 'c', 'd'].map((name) => ({ name, handler: 'h' }));
    const { template } = parseTemplate({
      ...minimal,
      steps: [
        ...steps,
        {
          name: 'e',
          handler: 'h',
          depends_on: ['a'],
          depends_on_step: 'b',
          depends_on_steps: ['c', 'a', 'd'],
        },
      ],
    });
    expect(template?.steps[4]?.dependsOn).toEqual(['a', 'b', 'c', 'd']);
  });

  it('reports an alias that disagrees with its canonical key, accepts one that agrees', () => {
    expect(parseTemplate({ ...minimal, namespace_name: 'n' }).issues).toEqual([]);
    expect(
      parseTemplate({ ...minimal, namespace_name: 'other' }).issues.map((i) => `${i.path}: ${i.message}`),
    ).toEqual(['namespace_name: conflicts with `namespace` ("other" vs "n"); set only one of the two']);
  });

  it('checks that context_schema compiles, pointing into it', () => {
    const bad = (context_schema: unknown) =>
      parseTemplate({ ...minimal, context_schema }).issues.map((i) => `${i.path}: ${i.message}`);
    expect(bad({ type: 'object', properties: { x: { type: 'strin' } } })).toEqual([
      'context_schema.properties.x.type: invalid JSON Schema: must be equal to one of the allowed values (array, boolean, integer, null, number, object, string), got "strin"',
    ]);
    expect(bad({ type: 'object', propertys: {} })).toEqual([
      'context_schema: invalid JSON Schema: strict mode: unknown keyword: "propertys"',
    ]);
    // Tasker schemas use `format: email`; formats are not validated, so they must still compile.
    expect(bad({ properties: { e: { type: 'string', format: 'email' } } })).toEqual([]);
  });

  it('suggests only plausible typos', () => {
    expect(suggest('retyr', ['retry', 'name'])).toBe('retry');
    expect(suggest('base', ['name', 'steps'])).toBeUndefined();
  });
});

describe('loadTemplatesFrom / loadTemplateSource', () => {
  it('loads a directory recursively, sorted, with sources set', async () => {
    const r = await load('valid');
    expect(r.issues).toEqual([]);
    expect(r.files.map((f) => path.relative(FIX, f))).toEqual([
      'valid/checkout.yaml',
      'valid/nested/refund.yml',
      'valid/process_order.yaml',
    ]);
    expect(r.templates.map((t) => `${t.namespace}/${t.name}@${t.version}`)).toEqual([
      'ecommerce/checkout@1.2.0',
      'payments/refund@1.9.0',
      'payments/refund@1.10.0',
      'payments/refund@2.0.0-rc.1',
      'ecommerce/process_order@1.0.0',
    ]);
    expect(r.templates[0]?.source).toBe(fx('valid/checkout.yaml'));
    expect(r.templates[0]?.business).toEqual({
      valueField: 'amount',
      tierField: 'customer.tier',
      customerField: 'customer.email',
    });
    expect(r.templates[0]?.steps[1]).toMatchObject({
      timeoutSeconds: 30,
      handlerConfig: { gateway: 'stripe' },
      retry: {
        retryable: true,
        maxAttempts: 5,
        backoff: { baseSeconds: 2, multiplier: 3, maxSeconds: 60, jitter: 0.2 },
      },
    });
  });

  it('loads Tasker field names to the same model as our field names', async () => {
    const ours = await load('valid/process_order.yaml');
    const tasker = await load('tasker/process_order.yaml');
    expect(tasker.issues).toEqual([]);
    const strip = (t: TaskTemplate | undefined) => ({ ...t, source: undefined });
    expect(strip(tasker.templates[0])).toEqual(strip(ours.templates[0]));
    expect(
      tasker.templates[0]?.steps.map((s) => [s.name, s.dependsOn, s.retry.maxAttempts, s.retry.retryable]),
    ).toEqual([
      ['validate_cart', [], 3, true],
      ['process_payment', ['validate_cart'], 5, true],
      ['update_inventory', ['validate_cart'], 3, false],
      ['create_order', ['process_payment', 'update_inventory'], 3, true],
      ['send_confirmation', ['create_order'], 5, true],
    ]);
  });

  it('reports every YAML syntax error with its line and column', async () => {
    const r = await load('invalid/malformed.yaml.broken');
    expect(r.templates).toEqual([]);
    expect(r.issues.length).toBeGreaterThanOrEqual(2);
    expect(
      r.issues.every(
        (i) => i.message.startsWith('YAML syntax error: ') && i.file === fx('invalid/malformed.yaml.broken'),
      ),
    ).toBe(true);
    expect(brief(r.issues[0] as ValidationIssue)).toBe(
      '8:3 : YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]',
    );
    expect(r.issues.some((i) => i.line === 10)).toBe(false); // the duplicate `handler` key comes after the parser gave up on line 9
  });

  it('reports an unknown dependency at its list entry with a suggestion', async () => {
    const r = await load('invalid/unknown-dependency.yaml');
    expect(r.issues.map(brief)).toEqual([
      '9:18 steps[1].depends_on[0]: unknown dependency `fetch_prodcts`: no step has that name; did you mean `fetch_products`?',
    ]);
    expect(r.issues[0]?.file).toBe(fx('invalid/unknown-dependency.yaml'));
  });

  it('reports a cycle with its path and a self-dependency separately', async () => {
    const r = await load('invalid/cycle.yaml');
    expect(r.issues.map(brief)).toEqual([
      '7:18 steps[0].depends_on[0]: dependency cycle: a -> b -> c -> a (each step depends on the next)',
      '16:18 steps[3].depends_on[0]: step `d` depends on itself',
    ]);
  });

  it('reports duplicate step names at the second one', async () => {
    const r = await load('invalid/duplicate-steps.yaml');
    expect(r.issues.map(brief)).toEqual([
      '7:11 steps[1].name: duplicate step name `fetch` (first defined at steps[0])',
    ]);
  });

  it('points at unknown keys with a suggestion, and at the parent map for a missing field', async () => {
    const r = await load('invalid/unknown-key.yaml');
    expect(r.issues.map(brief)).toEqual([
      '4:1 descripton: unknown key `descripton`; did you mean `description`?',
      '6:5 steps[0].handler: missing required field `handler` (or `handler_class`)',
      '7:5 steps[0].handlr: unknown key `handlr`; did you mean `handler`?',
      '9:7 steps[0].retry.max_atempts: unknown key `max_atempts`; did you mean `max_attempts`?',
    ]);
  });

  it('reports bad versions in every document of a multi-document file', async () => {
    const r = await load('invalid/bad-version.yaml');
    expect(r.issues.map(brief)).toEqual([
      '3:10 version: expected a semantic version string like "1.0.0", got 1.1 (quote it so YAML keeps it a string)',
      '9:10 version: expected a semantic version string like "1.0.0", got "01.2.3"',
    ]);
  });

  it('reports every bad retry number, naming field, value and expectation', async () => {
    const r = await load('invalid/bad-retry.yaml');
    expect(r.issues.map((i) => formatIssue({ ...i, file: undefined }))).toEqual([
      'steps[1].timeout_seconds: expected a number > 0 and at most 2073600 (24 days), got 0',
      'steps[1].retry.retryable: expected true or false, got "yes"',
      'steps[1].retry.max_attempts: expected an integer ≥ 1, got -2',
      'steps[1].retry.backoff.multiplier: expected a number ≥ 1, got 0.5',
      'steps[1].retry.backoff.max_seconds: expected a number ≥ the base delay (10 s), got 5 s',
      'steps[1].retry.backoff.jitter: expected a number from 0 to 1, got 1.5',
    ]);
    expect(formatIssue(r.issues[2] as ValidationIssue)).toBe(
      `${fx('invalid/bad-retry.yaml')}:12:21: steps[1].retry.max_attempts: expected an integer ≥ 1, got -2`,
    );
  });

  it('reports unknown handlers at the handler field when handler names are given', async () => {
    const known = new Set(['shop.fetch', 'shop.charge']);
    expect((await load('invalid/unknown-handler.yaml')).issues).toEqual([]);
    const r = await load('invalid/unknown-handler.yaml', known);
    expect(r.issues.map(brief)).toEqual([
      '8:14 steps[1].handler: unknown handler `shop.chrage`; did you mean `shop.charge`?',
    ]);
    const tasker = await load('tasker/process_order.yaml', new Set(['x']));
    expect(tasker.issues[0]).toMatchObject({ path: 'step_templates[0].handler_class', line: 48, column: 20 });
    expect(checkHandlers(r.templates, known)).toEqual([
      {
        path: 'steps[1].handler',
        file: fx('invalid/unknown-handler.yaml'),
        message: 'unknown handler `shop.chrage`; did you mean `shop.charge`?',
      },
    ]);
  });

  it('reports all problems of a multi-problem file, not just the first', async () => {
    const r = await load('invalid/multi-problem.yaml');
    expect(r.templates).toEqual([]);
    expect(r.issues.map((i) => `${i.line}:${i.column} ${i.path}`)).toEqual([
      '1:12 namespace',
      '2:7 name',
      '3:10 version',
      '4:9 schema',
      '5:1 extra_key',
      '9:18 steps[0].depends_on[0]',
      '10:11 steps[1].name',
      '11:14 steps[1].handler',
      '14:20 steps[2].handler_class',
      '16:26 steps[2].default_retry_limit',
      '19:5 steps[3]',
    ]);
    expect(r.issues[0]?.message).toBe(
      'expected a name of letters, digits, `_`, `.`, `-` starting with a letter or `_`, got "9bad"',
    );
    expect(r.issues[8]?.message).toBe(
      'conflicts with `steps[2].handler` ("h" vs "other"); set only one of the two',
    );
  });

  it('reports a template defined in two files, keeping the first', async () => {
    const r = await load('dup');
    expect(r.templates.map((t) => t.source)).toEqual([fx('dup/a.yaml')]);
    expect(r.issues).toEqual([
      {
        path: 'name',
        file: fx('dup/b.yaml'),
        line: 2,
        column: 7,
        message: `duplicate template \`shop/same@1.0.0\` (already defined at ${fx('dup/a.yaml')}:2:7)`,
      },
    ]);
  });

  it('turns missing paths, empty directories and empty files into issues', async () => {
    const missing = await loadTemplatesFrom(fx('does-not-exist'));
    expect(missing).toEqual({
      templates: [],
      files: [],
      issues: [{ path: '', file: fx('does-not-exist'), message: 'no such file or directory' }],
      warnings: [],
    });
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tasker-templates-'));
    try {
      expect((await loadTemplatesFrom(dir)).issues[0]?.message).toBe(
        'no *.yaml or *.yml files found in this directory',
      );
      await writeFile(path.join(dir, 'empty.yaml'), '# nothing yet\n');
      expect((await loadTemplatesFrom(dir)).issues.map(brief)).toEqual([
        '1:1 : no template found: the file is empty or only has comments',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(loadTemplateSource('- a\n', 'x.yaml').issues.map(brief)).toEqual([
      '1:1 : expected a map with namespace, name, version and steps, got a list',
    ]);
  });
});

describe('TemplateRegistry', () => {
  async function registry() {
    const reg = new TemplateRegistry();
    for (const t of (await load('valid')).templates) reg.register(t);
    return reg;
  }

  it('picks the latest release when no version is given', async () => {
    const reg = await registry();
    expect(reg.get('payments', 'refund').version).toBe('1.10.0');
    expect(reg.get('payments', 'refund', '2.0.0-rc.1').steps[0]?.handler).toBe('payments.refund_v2');
    expect(reg.has('payments', 'refund', '1.9.0')).toBe(true);
    expect(reg.has('payments', 'refund', '3.0.0')).toBe(false);
    expect(reg.list().map((t) => `${t.namespace}/${t.name}@${t.version}`)).toEqual([
      'ecommerce/checkout@1.2.0',
      'ecommerce/process_order@1.0.0',
      'payments/refund@1.9.0',
      'payments/refund@1.10.0',
      'payments/refund@2.0.0-rc.1',
    ]);
    const only = new TemplateRegistry();
    only.register({ ...(await registry()).get('payments', 'refund', '2.0.0-rc.1') });
    expect(only.get('payments', 'refund').version).toBe('2.0.0-rc.1');
  });

  it('throws TEMPLATE_NOT_FOUND listing versions or close names', async () => {
    const reg = await registry();
    const e = thrown(() => reg.get('payments', 'refund', '1.0.0'));
    expect(e.code).toBe('TEMPLATE_NOT_FOUND');
    expect(e.message).toBe(
      'template payments/refund@1.0.0 not found; available versions: 1.9.0, 1.10.0, 2.0.0-rc.1',
    );
    expect(thrown(() => reg.get('payments', 'refnud')).message).toBe(
      'template payments/refnud not found; did you mean `payments/refund`?',
    );
    expect(thrown(() => new TemplateRegistry().get('a', 'b')).message).toBe(
      'template a/b not found; no templates are registered',
    );
  });

  it('accepts re-registering identical content but not different content under the same key', async () => {
    const reg = await registry();
    const t = reg.get('ecommerce', 'checkout');
    reg.register({ ...structuredClone(t), source: 'elsewhere.yaml' });
    const changed = { ...structuredClone(t), description: 'changed' };
    const e = thrown(() => reg.register(changed));
    expect(e.code).toBe('TEMPLATE_INVALID');
    expect(e.message).toContain('ecommerce/checkout@1.2.0 is already registered');
  });

  it('rejects code-built templates the engine could not run', () => {
    const step = (name: string, dependsOn: string[]) => ({
      name,
      handler: 'h',
      dependsOn,
      handlerConfig: {},
      retry: { retryable: true, maxAttempts: 1, backoff: { ...DEFAULT_BACKOFF } },
    });
    const e = thrown(() =>
      new TemplateRegistry().register({
        namespace: 'n',
        name: 't',
        version: '1',
        steps: [step('a', ['b']), step('b', ['a', 'z'])],
      }),
    );
    expect(e.code).toBe('TEMPLATE_INVALID');
    expect(e.message).toBe(
      'template n/t@1 is invalid: version "1" is not a semantic version; step `b` depends on unknown `z`; dependency cycle: a -> b -> a',
    );
    // The task-level monitoring of a template built in code, in JavaScript (no types to stop it).
    const monitoring = thrown(() =>
      new TemplateRegistry().register({
        namespace: 'n',
        name: 'm',
        version: '1.0.0',
        steps: [step('a', [])],
        slaSeconds: '45' as unknown as number,
        critical: 'yes' as unknown as boolean,
      }),
    );
    expect(monitoring.message).toBe(
      'template n/m@1.0.0 is invalid: slaSeconds "45" is not a number > 0; critical "yes" is not true or false',
    );
  });
});

describe('schema/task-template.schema.json', () => {
  async function schemaValidator() {
    const schema = JSON.parse(
      await readFile(path.join(ROOT, 'schema/task-template.schema.json'), 'utf8'),
    ) as Record<string, unknown>;
    return {
      schema,
      validate: new Ajv({
        allErrors: true,
        strictSchema: true,
        strictTypes: true,
        strictTuples: true,
      }).compile(schema),
    };
  }
  async function docs(file: string): Promise<unknown[]> {
    return parseAllDocuments(await readFile(file, 'utf8'), { merge: true }).map((d) => d.toJS() as unknown);
  }

  it('accepts the valid fixtures (ours and Tasker) and rejects an unknown key', async () => {
    const { validate } = await schemaValidator();
    const files = [...(await load('valid')).files, fx('tasker/process_order.yaml')];
    for (const file of files) {
      for (const doc of await docs(file)) expect(validate(doc) ? [] : validate.errors, file).toEqual([]);
    }
    const [bad] = await docs(fx('invalid/unknown-key.yaml'));
    expect(validate(bad)).toBe(false);
    expect(validate.errors?.map((e) => e.params)).toContainEqual({ additionalProperty: 'descripton' });
  });

  it('knows exactly the keys the parser knows', async () => {
    const { schema } = await schemaValidator();
    const defs = schema.definitions as Record<string, { properties: Record<string, unknown> }>;
    const keys = (props: Record<string, unknown>) => Object.keys(props).sort();
    const all = (level: {
      keys: readonly string[];
      aliases: readonly string[];
      ignored?: Readonly<Record<string, string>>;
    }) => [...level.keys, ...level.aliases, ...Object.keys(level.ignored ?? {})].sort();
    expect(keys(schema.properties as Record<string, unknown>)).toEqual(all(TEMPLATE_KEYS.template));
    expect(keys(defs.step?.properties ?? {})).toEqual(all(TEMPLATE_KEYS.step));
    expect(keys(defs.retry?.properties ?? {})).toEqual(all(TEMPLATE_KEYS.retry));
    expect(keys(defs.backoff?.properties ?? {})).toEqual(all(TEMPLATE_KEYS.backoff));
    expect(keys(defs.business?.properties ?? {})).toEqual(all(TEMPLATE_KEYS.business));
    expect((schema.properties as Record<string, { pattern?: string }>).version?.pattern).toBe(SEMVER_PATTERN);
  });

  // Shipped example templates must load cleanly and satisfy the editor schema too.
  const examples = path.join(ROOT, 'examples');
  it.skipIf(!existsSync(examples))('accepts the shipped example templates', async () => {
    const { validate } = await schemaValidator();
    const found = await readdir(examples, { recursive: true });
    const files = found
      .filter((f) => /\/templates\/.*\.ya?ml$/.test(`/${f}`))
      .map((f) => path.join(examples, f));
    for (const file of files) {
      expect((await loadTemplatesFrom(file)).issues, file).toEqual([]);
      for (const doc of await docs(file)) expect(validate(doc) ? [] : validate.errors, file).toEqual([]);
    }
  });
});
