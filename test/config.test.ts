/**
 * The compiled configuration, tested directly: defaults, bounds, errors naming each value where it was
 * written, precedence of flags > TASKER_* > file, telemetry compiled once on the CLI path, and every
 * setting of the tables present everywhere it must be (options, readers, docs).
 */
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { closeTasker, openTasker, settingsFrom, type CliIo } from '../src/cli/context.js';
import { BEGIN_MARKER, END_MARKER, spliceSettingsTables } from '../src/config/docs.js';
import type { Kind } from '../src/config/kinds.js';
import { compileOptions, type TaskerOptions } from '../src/config/options.js';
import { readConfigFile, readEnv, resolveSettings } from '../src/config/settings.js';
import { ENGINE_SETTINGS, SETTINGS } from '../src/config/settings-table.js';
import type { SettingSpec } from '../src/config/spec.js';
import { compileTelemetry } from '../src/config/telemetry.js';
import type * as TelemetryModule from '../src/config/telemetry.js';
import { PROMETHEUS_SETTINGS, TELEMETRY_SETTINGS } from '../src/config/telemetry-table.js';
import { CONSOLE_SETTINGS } from '../src/config/console.js';
import { TaskerError } from '../src/errors.js';
import { tempDir } from './support/harness.js';

// Counts compiles without changing them: the CLI path must compile telemetry once.
vi.mock('../src/config/telemetry.js', async (importOriginal) => {
  const mod = await importOriginal<typeof TelemetryModule>();
  return { ...mod, compileTelemetry: vi.fn(mod.compileTelemetry) };
});

const ROOT = join(import.meta.dirname, '..');

function refusal(run: () => unknown): TaskerError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(TaskerError);
    expect((err as TaskerError).code).toBe('CONFIG_INVALID');
    return err as TaskerError;
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('compileOptions', () => {
  it('fills every default', () => {
    const o = compileOptions({});
    expect(o).toMatchObject({
      database: { kind: 'sqlite', path: './.tasker/tasker.db' },
      concurrency: 10,
      perTaskConcurrency: 10,
      leaseMs: 30_000,
      heartbeatMs: 10_000,
      pollMs: 1000,
      recoveryIntervalMs: 15_000,
      sqliteSynchronous: 'full',
      sqliteBusyTimeoutMs: 5000,
      filterMask: '[FILTERED]',
      workerRegistry: true,
    });
    expect(o.filterParameters).toContain('password');
    expect(o.telemetry).toMatchObject({
      structuredLogging: true,
      correlationIdHeader: 'X-Correlation-ID',
      logFormat: 'json',
      logLevel: undefined,
      tracing: false,
      metrics: true,
      metricsEndpoint: '/tasker/metrics',
      metricsFormat: 'prometheus',
      slowStepThresholdMs: 10_000,
      slowQueryThresholdSeconds: 1,
      memoryThresholdBytes: 1024 * 1024 * 1024,
      eventSamplingRate: 1,
      filteredEvents: [],
      metricPrefix: 'tasker',
      push: undefined,
    });
  });

  const derived: Array<[string, TaskerOptions, Record<string, unknown>]> = [
    ['perTaskConcurrency follows concurrency', { concurrency: 4 }, { perTaskConcurrency: 4 }],
    ['a short lease', { leaseSeconds: 0.6 }, { leaseMs: 600, heartbeatMs: 200, recoveryIntervalMs: 300 }],
    ['telemetry redaction wins', { filterMask: 'x', telemetry: { filterMask: 'y' } }, { filterMask: 'y' }],
    ['a plain path is SQLite', { database: 'a.db' }, { database: { kind: 'sqlite', path: 'a.db' } }],
    [
      'a PostgreSQL URL',
      { database: 'postgres://u@h/d' },
      { database: { kind: 'postgres', url: 'postgres://u@h/d' } },
    ],
  ];
  for (const [label, options, expected] of derived)
    it(`derives: ${label}`, () => expect(compileOptions(options)).toMatchObject(expected));

  const refused: Array<[TaskerOptions, RegExp]> = [
    [{ concurrency: 0 }, /^concurrency: expected a positive integer up to 10000, got 0$/],
    [{ concurrency: 2.5 }, /^concurrency: expected a positive integer up to 10000, got 2.5$/],
    [{ leaseSeconds: 0.01 }, /^leaseSeconds: expected a number from 0.5 to 86400, got 0.01$/],
    [{ pollIntervalMs: 2 ** 31 }, /^pollIntervalMs: expected a positive integer up to 3600000/],
    [{ sqliteSynchronous: 'off' as 'full' }, /^sqliteSynchronous: expected one of normal, full, got "off"$/],
    [{ filterParameters: [''] }, /^filterParameters: expected a list of non-empty strings/],
    [{ filterMask: '' }, /^filterMask: expected a non-empty string, got ""$/],
    [{ workerRegistry: 'yes' as unknown as boolean }, /^workerRegistry: expected true or false/],
    [{ database: 'mysql://x' }, /^database: unsupported database URL "mysql:\/\/x"/],
    [{ database: 'sqlite:' }, /^database: "sqlite:" names no file/],
    [
      { telemetry: { eventSamplingRate: 2 } },
      /^telemetry\.event_sampling_rate: expected a number from 0 to 1/,
    ],
    [{ telemetry: { prometheus: { retryAttempts: -1 } } }, /^telemetry\.prometheus\.retry_attempts: /],
  ];
  for (const [options, message] of refused)
    it(`refuses ${JSON.stringify(options)}, naming the option`, () => {
      const err = refusal(() => compileOptions(options));
      expect(err.message).toMatch(message);
    });

  // Every bound in the table holds at its edge, and just past it is refused naming the option.
  const bounded = ENGINE_SETTINGS.filter(
    (e): e is Extract<(typeof ENGINE_SETTINGS)[number], { kind: { min: number } }> => 'min' in e.kind,
  );
  for (const e of bounded) {
    const step = e.kind.type === 'int' ? 1 : 0.01;
    it(`${e.key}: ${e.kind.min} to ${e.kind.max}`, () => {
      expect(compileOptions({ [e.key]: e.kind.min })).toBeDefined();
      expect(compileOptions({ [e.key]: e.kind.max })).toBeDefined();
      for (const bad of [e.kind.min - step, e.kind.max + step])
        expect(refusal(() => compileOptions({ [e.key]: bad })).message).toMatch(new RegExp(`^${e.key}: `));
    });
  }
});

describe('CLI settings: named where written, flags > TASKER_* > file', () => {
  function dirWith(yaml: string): { dir: string; file: string } {
    const dir = tempDir();
    const file = join(dir, 'tasker.config.yaml');
    writeFileSync(file, yaml);
    return { dir, file };
  }

  it('names the file and its key, the variable, or the flag', () => {
    const { dir, file } = dirWith('per_task_concurrency: 0\n');
    expect(refusal(() => resolveSettings({}, {}, dir)).message).toBe(
      `${file}: per_task_concurrency: expected a positive integer up to 1000000, got 0`,
    );
    writeFileSync(file, 'telemetry:\n  prometheus:\n    job_timeout: 5m\n');
    expect(refusal(() => resolveSettings({}, {}, dir)).message).toBe(
      `${file}: telemetry.prometheus.job_timeout: expected a number from 0.1 to 86400, got "5m"`,
    );
    const empty = tempDir();
    const cases: Array<[Record<string, string>, string]> = [
      [
        { TASKER_CONCURRENCY: 'many' },
        'environment variable TASKER_CONCURRENCY: expected a positive integer',
      ],
      [{ TASKER_LOG_FORMAT: 'xml' }, 'environment variable TASKER_LOG_FORMAT: expected one of json, pretty'],
      [
        { TASKER_SQLITE_SYNCHRONOUS: 'off' },
        'environment variable TASKER_SQLITE_SYNCHRONOUS: expected one of',
      ],
      [{ TASKER_DB: 'mysql://x' }, 'environment variable TASKER_DB: unsupported database URL'],
    ];
    for (const [env, message] of cases)
      expect(refusal(() => resolveSettings({}, env, empty)).message).toContain(message);
    const flag = refusal(() =>
      resolveSettings({ database: 'mysql://x', names: { database: '--db' } }, {}, empty),
    );
    expect(flag.message).toMatch(/^--db: unsupported database URL/);
  });

  it('a value written as text in the file is read in its kind', () => {
    const { dir } = dirWith("concurrency: '7'\nfilter_parameters: 'pin, otp'\n");
    const s = resolveSettings({}, {}, dir);
    expect(s.compiled.concurrency).toBe(7);
    expect(s.compiled.filterParameters).toEqual(['pin', 'otp']);
  });

  const precedence: Array<[string, { file?: number; env?: number; flag?: number }, number]> = [
    ['default', {}, 10],
    ['file', { file: 3 }, 3],
    ['env over file', { file: 3, env: 4 }, 4],
    ['flag over env and file', { file: 3, env: 4, flag: 5 }, 5],
    ['flag over file', { file: 3, flag: 5 }, 5],
  ];
  for (const [label, given, expected] of precedence)
    it(`concurrency from the ${label}`, () => {
      const { dir } = dirWith(given.file === undefined ? '' : `concurrency: ${given.file}\n`);
      const env = given.env === undefined ? {} : { TASKER_CONCURRENCY: String(given.env) };
      const s = resolveSettings({ concurrency: given.flag }, env, dir);
      expect(s.compiled.concurrency).toBe(expected);
    });

  it('a variable changes one key of a section, keeping the file’s others', () => {
    const { dir } = dirWith('telemetry:\n  log_format: pretty\n  service_name: shop\n');
    const s = resolveSettings({}, { TASKER_LOG_FORMAT: 'json' }, dir);
    expect(s.compiled.telemetry).toMatchObject({ logFormat: 'json', serviceName: 'shop' });
    expect(resolveSettings({}, {}, dir).compiled.telemetry.logFormat).toBe('pretty');
  });

  it('compiles telemetry once on the way from settings to a running Tasker', async () => {
    const compile = vi.mocked(compileTelemetry);
    compile.mockClear();
    const io: CliIo = {
      out: () => {},
      err: () => {},
      env: { TASKER_LOG_LEVEL: 'silent' },
      cwd: tempDir(),
      exitCode: 0,
    };
    const settings = settingsFrom(io, { db: 'sqlite::memory:' });
    const tasker = await openTasker(io, settings);
    try {
      expect(compile).toHaveBeenCalledTimes(1);
      expect(tasker.telemetry).toEqual(settings.compiled.telemetry);
    } finally {
      await closeTasker(tasker);
    }
  });
});

describe('every setting everywhere', () => {
  const sample = (k: Kind, key: string): string => {
    if (key === 'apiTokens') return '[]';
    if (key === 'console') return 'http://jaeger/trace/{trace_id}';
    switch (k.type) {
      case 'int':
      case 'number':
        return String(k.min);
      case 'bool':
        return 'true';
      case 'enum':
        return k.values[0] ?? '';
      case 'database':
        return 'sqlite:x.db';
      case 'url':
        return 'http://gw:9091';
      default:
        return 'a,b';
    }
  };

  it('every TASKER_* variable in the tables is read', () => {
    for (const e of SETTINGS as readonly SettingSpec[])
      for (const name of e.env ?? [])
        expect(
          (readEnv({ [name]: sample(e.kind, e.key) }) as Record<string, unknown>)[e.key],
          name,
        ).toBeDefined();
    for (const e of TELEMETRY_SETTINGS as readonly SettingSpec[])
      for (const name of e.env ?? [])
        expect(readEnv({ [name]: sample(e.kind, e.key) }).telemetry?.[e.file], name).toBeDefined();
  });

  it('every TASKER_* variable the source reads is a setting in the tables, or said why not', () => {
    const notSettings = new Set(['TASKER_CONFIG', 'TASKER_URL', 'TASKER_TOKEN', 'TASKER_DEBUG']);
    const inTables = new Set(
      [...SETTINGS, ...TELEMETRY_SETTINGS].flatMap((e) => ((e as SettingSpec).env ?? []) as string[]),
    );
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((f) => {
        const p = join(dir, f);
        return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
      });
    const read = new Set(
      files(join(ROOT, 'src')).flatMap((f) =>
        [...readFileSync(f, 'utf8').matchAll(/\benv(?:\[['"]|\.)(TASKER_[A-Z_]+)/g)].map((m) => m[1] ?? ''),
      ),
    );
    expect(read.size).toBeGreaterThan(0);
    for (const name of read) expect(inTables.has(name) || notSettings.has(name), name).toBe(true);
  });

  it('every file key in the tables is read from tasker.config.yaml', () => {
    const dir = tempDir();
    const file = join(dir, 'tasker.config.yaml');
    const lines = (SETTINGS as readonly SettingSpec[])
      .filter((e) => e.only !== 'library')
      .map((e) =>
        e.key === 'apiTokens'
          ? 'auth: {tokens: []}'
          : e.key === 'console' || e.key === 'telemetry' || e.key === 'retention'
            ? `${e.file}: {}`
            : `${e.file}: ${JSON.stringify(e.kind.type === 'paths' ? ['a'] : sample(e.kind, e.key))}`,
      );
    writeFileSync(file, `${lines.join('\n')}\n`);
    const s = readConfigFile(file) as Record<string, unknown>;
    for (const e of SETTINGS as readonly SettingSpec[])
      if (e.only !== 'library') expect(s[e.key], e.file).toBeDefined();
  });

  it('every TaskerOptions key has a table entry (or is an object only a program can pass)', () => {
    const source = readFileSync(join(ROOT, 'src/config/options.ts'), 'utf8');
    const body = /export interface TaskerOptions \{([\s\S]*?)\n\}/.exec(source)?.[1] ?? '';
    const keys = [...body.matchAll(/^ {2}(\w+)\?:/gm)].map((m) => m[1]);
    expect(keys.length).toBeGreaterThan(10);
    const tabled = new Set(
      (SETTINGS as readonly SettingSpec[]).filter((e) => e.only !== 'cli').map((e) => e.key),
    );
    for (const k of keys)
      expect(tabled.has(k ?? '') || ['store', 'logger', 'now', 'random'].includes(k ?? ''), k).toBe(true);
  });

  it('docs/configuration.md holds the current tables, with every setting in them', () => {
    const doc = readFileSync(join(ROOT, 'docs/configuration.md'), 'utf8');
    // Stale: run `npm run docs:config`.
    expect(spliceSettingsTables(doc)).toBe(doc);
    const generated = doc.slice(doc.indexOf(BEGIN_MARKER), doc.indexOf(END_MARKER));
    const rows = (t: readonly SettingSpec[], prefix: string) =>
      t.map((e) =>
        e.only === 'library' ? `\`${prefix ? 'telemetry.' : ''}${e.key}\`` : `\`${prefix}${e.file}\``,
      );
    for (const name of [
      ...rows(SETTINGS, ''),
      ...rows(TELEMETRY_SETTINGS, 'telemetry.'),
      ...rows(PROMETHEUS_SETTINGS, 'telemetry.prometheus.'),
      ...rows(CONSOLE_SETTINGS, 'console.'),
    ])
      expect(generated, name).toContain(name);
  });
});
