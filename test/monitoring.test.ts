/**
 * The shipped monitoring, checked offline: alert rules pass `promtool check rules` and the unit tests in
 * monitoring/prometheus/tests (every alert, firing and not firing); every dashboard query parses (written
 * out as recording rules for promtool); every alert names its severity, business impact and a runbook that
 * exists; the replay's time-scaling keeps the rules valid.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  DASHBOARD_FILE,
  RULES_FILE,
  dashboardQueries,
  fillVariables,
  readDashboard,
  scaleRuleDurations,
} from '../incident/rules.js';

const ROOT = join(import.meta.dirname, '..');
const PROMTOOL = '/usr/bin/promtool';
const HAVE = existsSync(PROMTOOL);
const REQUIRED = process.env.TASKER_REQUIRE_PROMTOOL === '1';

function promtool(...args: string[]) {
  expect(HAVE, `${PROMTOOL} missing: apt-get install prometheus`).toBe(true);
  const r = spawnSync(PROMTOOL, args, { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rules = (
  parse(readFileSync(RULES_FILE, 'utf8')) as { groups: Array<{ rules: Rule[] }> }
).groups.flatMap((g) => g.rules);

describe('alert rules', () => {
  it.skipIf(!HAVE && !REQUIRED)('pass promtool check rules', () => {
    const r = promtool('check', 'rules', RULES_FILE);
    expect(r.out).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(r.code).toBe(0);
  });

  it.skipIf(!HAVE && !REQUIRED)('pass their unit tests (each alert firing and not firing)', () => {
    const tests = join(ROOT, 'monitoring', 'prometheus', 'tests', 'tasker-alerts.test.yml');
    const r = promtool('test', 'rules', tests);
    expect(r.out).toContain('SUCCESS');
    expect(r.code).toBe(0);
    // Every alert is exercised: an expectation that it fires and one that it does not.
    const doc = parse(readFileSync(tests, 'utf8')) as {
      tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
    };
    const cases = doc.tests.flatMap((t) => t.alert_rule_test);
    for (const rule of rules.filter((x) => x.alert)) {
      const mine = cases.filter((c) => c.alertname === rule.alert);
      expect(
        mine.some((c) => c.exp_alerts.length > 0),
        `${rule.alert} firing`,
      ).toBe(true);
      expect(
        mine.some((c) => c.exp_alerts.length === 0),
        `${rule.alert} not firing`,
      ).toBe(true);
    }
  });

  it('cover the seed’s alerts and the issue’s list, each with severity, business impact and a runbook', () => {
    expect(rules.map((r) => r.alert).sort()).toEqual([
      'TaskerEngineDown',
      'TaskerPremiumTaskFailed',
      'TaskerStepBottleneck',
      'TaskerStepTimeouts',
      'TaskerStepTimeouts',
      'TaskerSubscriberErrors',
      'TaskerSuccessRateLow',
      'TaskerTaskSlaBreached',
      'TaskerTaskSlaBreached',
      'TaskerTasksStuck',
    ]);
    // An alert said twice is the same alert for a critical workflow: the same text, one selector on
    // critical="true" paging at critical severity, the other on everything else.
    for (const name of ['TaskerStepTimeouts', 'TaskerTaskSlaBreached']) {
      const [a, b] = rules.filter((r) => r.alert === name);
      const [other, critical] = a?.expr?.includes('critical!="true"') ? [a, b] : [b, a];
      expect(other?.expr, name).toContain('critical!="true"');
      expect(critical?.expr?.replaceAll('critical="true"', 'critical!="true"'), name).toBe(other?.expr);
      expect(other?.labels?.severity, name).toBe('warning');
      expect(critical?.labels?.severity, name).toBe('critical');
      expect(critical?.annotations, name).toEqual(other?.annotations);
    }
    for (const r of rules) {
      expect(['critical', 'warning'], r.alert).toContain(r.labels?.severity);
      expect(['high', 'medium', 'low'], r.alert).toContain(r.labels?.business_impact);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
      expect(r.annotations?.description, r.alert).toBeTruthy();
      expect(r.annotations?.runbook_url).toBe(`docs/runbooks/${r.alert}.md`);
      const runbook = readFileSync(join(ROOT, 'docs', 'runbooks', `${r.alert}.md`), 'utf8');
      expect(runbook.startsWith(`# ${r.alert}`)).toBe(true);
      // Runbooks use our own tools: the API or the CLI.
      expect(runbook).toMatch(/tasker (show|retry|tasks|cancel|resolve)|\/tasker\//);
    }
    // Histograms are read with histogram_quantile over _bucket rates, never averaged (the seed's mistake).
    for (const r of rules) expect(r.expr).not.toMatch(/avg\s*\(\s*tasker_\w+_seconds\s*\)/);
  });

  it('keep every window and for: when time-scaled for the replay (same source, no copy)', () => {
    const text = readFileSync(RULES_FILE, 'utf8');
    const scaled = scaleRuleDurations(text, 1 / 15);
    expect(scaled).not.toMatch(/\[\d+m\]/);
    expect(scaled).toContain('[20s]'); // 5m / 15
    expect(scaled).toContain('[60s]'); // 15m / 15
    expect(scaled).toContain('for: 8s'); // 2m / 15
    expect(scaled).toContain('for: 0s');
    // Nothing else changed: the rules are the same text with shorter durations.
    const strip = (s: string) => s.replace(/\[\d+[smh]\]/g, '[D]').replace(/for: \d+[smh]/g, 'for: D');
    expect(strip(scaled)).toBe(strip(text));
    if (!HAVE) return;
    const dir = mkdtempSync(join(tmpdir(), 'tasker-rules-'));
    writeFileSync(join(dir, 'scaled.yml'), scaled);
    const r = promtool('check', 'rules', join(dir, 'scaled.yml'));
    expect(r.code).toBe(0);
  });
});

describe('Grafana dashboard', () => {
  const dash = readDashboard() as Record<string, unknown> & {
    __inputs?: Array<{ name: string; type: string; pluginId: string }>;
    templating?: { list: Array<{ name: string; query: { query: string } }> };
  };
  const queries = dashboardQueries(dash as Parameters<typeof dashboardQueries>[0]);

  it('is importable: a Prometheus datasource input, namespace and name variables, the panels asked for', () => {
    expect(dash.__inputs).toEqual([
      expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' }),
    ]);
    expect(JSON.stringify(dash)).not.toMatch(
      /"uid":\s*"(?!\$\{DS_PROMETHEUS\}|-- Grafana --|tasker-overview)/,
    );
    expect(dash.templating?.list.map((v) => v.name)).toEqual(['namespace', 'name']);
    const titles = queries.map((q) => q.panel).join('\n');
    for (const want of [
      /Success rate/,
      /Throughput/,
      /Task duration p50 \/ p95 \/ p99/,
      /Step duration p95 by step/,
      /Top 10 bottleneck/,
      /Retries by step and error type/,
      /timeouts/i,
      /Tasks in progress/,
      /Ready-step backlog/,
      /Queue wait/,
      /Revenue at risk.*tier/,
      /Subscriber errors/,
    ])
      expect(titles).toMatch(want);
    // Quantiles come from buckets, never from averaging a histogram.
    for (const q of queries) expect(q.expr).not.toMatch(/avg\s*\(\s*tasker_\w+_seconds\s*\)/);
    expect(
      queries.filter((q) => q.expr.includes('histogram_quantile')).every((q) => q.expr.includes('_bucket')),
    ).toBe(true);
  });

  it.skipIf(!HAVE && !REQUIRED)('has only queries promtool parses (written out as recording rules)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tasker-dash-'));
    const file = join(dir, 'dashboard-queries.json');
    // JSON is YAML: one recording rule per panel query, variables filled in as Grafana would.
    const all = [
      ...queries.map((q) => q.expr),
      ...(dash.templating?.list ?? []).map((v) => v.query.query.replace(/^label_values\((.*), \w+\)$/, '$1')),
    ];
    writeFileSync(
      file,
      JSON.stringify({
        groups: [
          {
            name: 'dashboard',
            rules: all.map((expr, i) => ({
              record: `dashboard:query_${i}`,
              expr: fillVariables(expr, { rateInterval: '1m', range: '1h' }),
            })),
          },
        ],
      }),
    );
    const r = promtool('check', 'rules', file);
    expect(r.out).toContain(`SUCCESS: ${all.length} rules found`);
    expect(r.code).toBe(0);
    expect(existsSync(DASHBOARD_FILE)).toBe(true);
  });
});
