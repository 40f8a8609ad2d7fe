/**
 * The shipped alert rules and dashboard, read from monitoring/ — never copied. The incident replay scrapes
 * every second instead of every 15 s, so it scales every `for:` and every range window of the same rule
 * text by the same factor; the dashboard's queries are extracted from its JSON with Grafana's variables
 * filled in, for promtool and for a real Prometheus.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageInfo } from '../src/package-root.js';

export const RULES_FILE = join(packageInfo().root, 'monitoring', 'prometheus', 'tasker-alerts.yml');
export const DASHBOARD_FILE = join(packageInfo().root, 'monitoring', 'grafana', 'tasker-overview.json');

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400 };

function seconds(amount: string, unit: string): number {
  return Number(amount) * (UNIT_SECONDS[unit] ?? NaN);
}

function duration(s: number): string {
  return Number.isInteger(s) ? `${s}s` : `${Math.round(s * 1000)}ms`;
}

/**
 * Every `for:` and `[range]` of a rules file multiplied by `factor` (range windows no shorter than
 * `minWindowSeconds`, so a rate still has samples to work with).
 */
export function scaleRuleDurations(text: string, factor: number, minWindowSeconds = 5): string {
  const scaled = text.replace(
    /(\bfor:\s*)(\d+(?:\.\d+)?)(ms|s|m|h|d)\b/g,
    (_m, pre: string, n: string, u: string) => {
      const s = seconds(n, u) * factor;
      return `${pre}${duration(Math.round(s))}`;
    },
  );
  return scaled.replace(/\[(\d+(?:\.\d+)?)(ms|s|m|h|d)\]/g, (_m, n: string, u: string) => {
    const s = Math.max(minWindowSeconds, Math.round(seconds(n, u) * factor));
    return `[${duration(s)}]`;
  });
}

export interface PanelQuery {
  panel: string;
  refId: string;
  expr: string;
  instant: boolean;
}

interface Panel {
  title?: string;
  type?: string;
  targets?: Array<{ refId?: string; expr?: string; instant?: boolean }>;
  panels?: Panel[];
}

/** Every query of every panel (rows included), as written in the dashboard. */
export function dashboardQueries(dashboard: { panels?: Panel[] }): PanelQuery[] {
  const out: PanelQuery[] = [];
  const walk = (panels: Panel[] | undefined) => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) {
        if (typeof t.expr === 'string')
          out.push({
            panel: p.title ?? '?',
            refId: t.refId ?? '?',
            expr: t.expr,
            instant: t.instant === true,
          });
      }
      walk(p.panels);
    }
  };
  walk(dashboard.panels);
  return out;
}

/** A query with Grafana's variables filled in: every namespace and task, the given windows. */
export function fillVariables(expr: string, o: { rateInterval: string; range: string }): string {
  return expr
    .replaceAll('$__rate_interval', o.rateInterval)
    .replaceAll('$__range', o.range)
    .replaceAll('$__interval', o.rateInterval)
    .replaceAll('$namespace', '.*')
    .replaceAll('$name', '.*');
}

export function readDashboard(): { panels?: Panel[]; templating?: unknown } {
  return JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as { panels?: Panel[] };
}
