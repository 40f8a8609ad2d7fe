/**
 * A real Prometheus (and Alertmanager, when installed) for the incident replay and its test: temporary
 * config and storage, free ports, readiness waits, and an in-process webhook receiver that records the
 * alerts Alertmanager sends. Debian packages: prometheus, prometheus-alertmanager.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** The first of `names` found on PATH (Debian names Alertmanager prometheus-alertmanager; others alertmanager). */
function onPath(names: string[]): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean))
    for (const n of names) if (existsSync(join(dir, n))) return join(dir, n);
  return undefined;
}

export const PROMETHEUS_BIN =
  process.env.TASKER_PROMETHEUS_BIN ?? onPath(['prometheus']) ?? '/usr/bin/prometheus';
export const ALERTMANAGER_BIN =
  process.env.TASKER_ALERTMANAGER_BIN ??
  onPath(['prometheus-alertmanager', 'alertmanager']) ??
  '/usr/bin/prometheus-alertmanager';

export const havePrometheus = () => existsSync(PROMETHEUS_BIN);
export const haveAlertmanager = () => existsSync(ALERTMANAGER_BIN);

/** Children still running when this process exits (a killed test worker) are killed with it. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Proc {
  child: ChildProcess;
  stderr: () => string;
}

function start(bin: string, args: string[]): Proc {
  let stderr = '';
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  child.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString('utf8')).slice(-8000);
  });
  return { child, stderr: () => stderr };
}

async function waitReady(url: string, proc: Proc, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null)
      throw new Error(`${what} exited before it was ready:\n${proc.stderr()}`);
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline)
      throw new Error(`${what} not ready after ${timeoutMs / 1000} s:\n${proc.stderr()}`);
    await sleep(100);
  }
}

async function stop(proc: Proc | undefined): Promise<void> {
  const child = proc?.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(killer);
}

export interface ReceivedAlert {
  name: string;
  status: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  receivedAt: number;
}

export interface Stack {
  prometheusUrl: string;
  alertmanagerUrl: string | null;
  /** Alerts Alertmanager delivered to the webhook, in arrival order. */
  alerts: ReceivedAlert[];
  /** Instant query; the result vector. */
  query(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  /** Alerts Prometheus itself has firing now. */
  firing(): Promise<Array<{ labels: Record<string, string>; state: string }>>;
  close(): Promise<void>;
}

export interface StackOptions {
  /** host:port of the Tasker API to scrape (metrics at /tasker/metrics). */
  target: string;
  /** The rules file text to load (already scaled for the interval). */
  rules: string;
  /** Scrape and rule evaluation interval. @default '1s' */
  interval?: string;
  /** Run Alertmanager too (when installed). @default true */
  alertmanager?: boolean;
}

export async function startStack(o: StackOptions): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'tasker-incident-'));
  const interval = o.interval ?? '1s';
  const alerts: ReceivedAlert[] = [];
  let webhook: Server | undefined;
  let am: Proc | undefined;
  let prom: Proc | undefined;
  let alertmanagerUrl: string | null = null;
  try {
    if (o.alertmanager !== false && haveAlertmanager()) {
      webhook = createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString('utf8')));
        req.on('end', () => {
          const at = Date.now();
          try {
            const doc = JSON.parse(body) as {
              alerts?: Array<{
                status: string;
                labels: Record<string, string>;
                annotations: Record<string, string>;
              }>;
            };
            for (const a of doc.alerts ?? [])
              alerts.push({
                name: a.labels.alertname ?? '?',
                status: a.status,
                labels: a.labels,
                annotations: a.annotations,
                receivedAt: at,
              });
          } catch {
            // not an Alertmanager payload: ignore
          }
          res.writeHead(200).end();
        });
      });
      await new Promise<void>((r) => webhook?.listen(0, '127.0.0.1', r));
      const hookPort = (webhook.address() as AddressInfo).port;
      const amPort = await freePort();
      const amConfig = join(dir, 'alertmanager.yml');
      // Deliver at once and on every change: the replay measures time to the webhook.
      writeFileSync(
        amConfig,
        [
          'route:',
          '  receiver: webhook',
          "  group_by: ['alertname', 'namespace', 'name', 'step']",
          '  group_wait: 1s',
          '  group_interval: 1s',
          '  repeat_interval: 1h',
          'receivers:',
          '  - name: webhook',
          '    webhook_configs:',
          `      - url: http://127.0.0.1:${hookPort}/alerts`,
          '        send_resolved: true',
          '',
        ].join('\n'),
      );
      am = start(ALERTMANAGER_BIN, [
        `--config.file=${amConfig}`,
        `--storage.path=${join(dir, 'am-data')}`,
        `--web.listen-address=127.0.0.1:${amPort}`,
        '--cluster.listen-address=',
      ]);
      alertmanagerUrl = `http://127.0.0.1:${amPort}`;
      await waitReady(`${alertmanagerUrl}/-/ready`, am, 'Alertmanager');
    }
    const promPort = await freePort();
    writeFileSync(join(dir, 'tasker-alerts.yml'), o.rules);
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global:',
        `  scrape_interval: ${interval}`,
        `  evaluation_interval: ${interval}`,
        'rule_files:',
        `  - ${join(dir, 'tasker-alerts.yml')}`,
        ...(alertmanagerUrl
          ? [
              'alerting:',
              '  alertmanagers:',
              '    - static_configs:',
              `        - targets: ['${alertmanagerUrl.slice(7)}']`,
            ]
          : []),
        'scrape_configs:',
        '  - job_name: tasker',
        '    metrics_path: /tasker/metrics',
        '    static_configs:',
        `      - targets: ['${o.target}']`,
        '',
      ].join('\n'),
    );
    prom = start(PROMETHEUS_BIN, [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'prom-data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      // The first alert is otherwise held back when Prometheus fires before it has found Alertmanager.
      '--rules.alert.resend-delay=1s',
    ]);
    const prometheusUrl = `http://127.0.0.1:${promPort}`;
    await waitReady(`${prometheusUrl}/-/ready`, prom, 'Prometheus');
    const api = async <T>(path: string): Promise<T> => {
      const res = await fetch(`${prometheusUrl}${path}`);
      const body = (await res.json()) as { status: string; data: T; error?: string };
      if (body.status !== 'success') throw new Error(`Prometheus ${path}: ${body.error ?? res.status}`);
      return body.data;
    };
    return {
      prometheusUrl,
      alertmanagerUrl,
      alerts,
      query: async (expr) =>
        (
          await api<{ result: Array<{ metric: Record<string, string>; value: [number, string] }> }>(
            `/api/v1/query?query=${encodeURIComponent(expr)}`,
          )
        ).result,
      firing: async () =>
        (await api<{ alerts: Array<{ labels: Record<string, string>; state: string }> }>('/api/v1/alerts'))
          .alerts,
      close: async () => {
        await stop(prom);
        await stop(am);
        await new Promise<void>((r) => (webhook ? webhook.close(() => r()) : r()));
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await stop(prom);
    await stop(am);
    webhook?.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
